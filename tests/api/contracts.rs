//! Contracts: create, read, list, patch, delete; numbers; term and notice dates.

use crate::common::TestApp;
use serde_json::json;

#[actix_web::test]
async fn create_returns_201_with_location_etag_and_derived_dates() {
    let t = TestApp::spawn().await;
    let res = t
        .post(
            "/api/v1/contracts",
            &t.manager(),
            json!({"title": "Lifts", "contract_type": "maintenance", "customer_ref": "CUST-1",
                   "start_date": "2026-01-01", "term_months": 12,
                   "renewal": {"auto_renew": true, "notice_period": "P3M"}}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let id = res.body["id"].as_str().unwrap();
    assert_eq!(res.header("location").unwrap(), format!("/api/v1/contracts/{id}"));
    assert_eq!(res.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(res.body["number"], "C-2026-000001");
    assert_eq!(res.body["status"], "draft");
    assert_eq!(res.body["end_date"], "2026-12-31");
    assert_eq!(res.body["notice_deadline"], "2026-09-30");
    assert_eq!(res.body["renewal"], json!({"auto_renew": true, "term_months": null, "notice_period": "P3M"}));

    let got = t.get(&format!("/api/v1/contracts/{id}"), &t.viewer()).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(got.body, res.body);
}
