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

#[actix_web::test]
async fn numbers_are_generated_from_the_pattern_or_taken_as_given_and_unique() {
    let t = TestApp::spawn_with(|s| s.contract_number_pattern = "MC/{YYYY}/{SEQ:4}".into()).await;
    let a = t.create_contract(json!({})).await;
    let b = t.create_contract(json!({})).await;
    assert_eq!(a["number"], "MC/2026/0001");
    assert_eq!(b["number"], "MC/2026/0002");
    let given = t.create_contract(json!({"number": "K-77", "external_ref": "crm-77"})).await;
    assert_eq!(given["number"], "K-77");
    // A number the pattern would give next, already taken by hand, is skipped.
    let by_hand = t.create_contract(json!({"number": "MC/2026/0003"})).await;
    assert_eq!(by_hand["number"], "MC/2026/0003");
    assert_eq!(t.create_contract(json!({})).await["number"], "MC/2026/0004");

    // Numbers are unique, compared exactly (the same on both backends); so are external
    // references.
    let dup = t
        .post(
            "/api/v1/contracts",
            &t.admin(),
            json!({"number": "K-77", "title": "x", "contract_type": "t",
        "customer_ref": "c", "start_date": "2026-01-01"}),
        )
        .await;
    dup.assert_problem(409, "duplicate_number");
    let dup = t
        .post(
            "/api/v1/contracts",
            &t.admin(),
            json!({"external_ref": "crm-77", "title": "x", "contract_type": "t",
        "customer_ref": "c", "start_date": "2026-01-01"}),
        )
        .await;
    dup.assert_problem(409, "duplicate_external_ref");

    // Human keys are findable.
    let found = t.get("/api/v1/contracts?number=K-77", &t.viewer()).await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
    let found = t.get("/api/v1/contracts?external_ref=crm-77", &t.viewer()).await;
    assert_eq!(found.body["items"][0]["id"], given["id"]);
}

#[actix_web::test]
async fn invalid_fields_are_422_with_their_paths_and_change_nothing() {
    let t = TestApp::spawn().await;
    let res = t
        .post(
            "/api/v1/contracts",
            &t.manager(),
            json!({"title": "", "contract_type": "m", "customer_ref": "c", "start_date": "2026-01-01",
                   "term_months": 0, "renewal": {"notice_period": "3 months", "auto_renew": false}}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["title", "term_months", "renewal.notice_period"]);
    let res = t
        .post(
            "/api/v1/contracts",
            &t.manager(),
            json!({"title": "x", "contract_type": "m", "customer_ref": "c",
            "start_date": "2026-02-30"}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["start_date"]);
    let res = t
        .post(
            "/api/v1/contracts",
            &t.manager(),
            json!({"title": "x", "contract_type": "m", "customer_ref": "c",
            "start_date": "2026-01-01", "renewal": {"auto_renew": true}}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["renewal.auto_renew"]);
    let list = t.get("/api/v1/contracts", &t.viewer()).await;
    assert_eq!(list.body["items"], json!([]));
}

#[actix_web::test]
async fn integral_numbers_count_as_integers_as_json_schema_says() {
    let t = TestApp::spawn().await;
    // JSON Schema counts 12.0 as the integer 12, and so does the service; 12.5 is no integer.
    let res = t
        .post(
            "/api/v1/contracts",
            &t.manager(),
            json!({"title": "x", "contract_type": "m", "customer_ref": "c", "start_date": "2026-01-01",
                   "term_months": 12.0, "renewal": {"auto_renew": true, "term_months": 6.0}}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!((res.body["term_months"].clone(), res.body["end_date"].clone()), (json!(12), json!("2026-12-31")));
    assert_eq!(res.body["renewal"]["term_months"], 6);
    let url = format!("/api/v1/contracts/{}", res.body["id"].as_str().unwrap());
    let res = t.patch(&url, &t.manager(), json!({"term_months": 24.0})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["end_date"], "2027-12-31");
    let res = t
        .post(
            "/api/v1/contracts",
            &t.manager(),
            json!({"title": "x", "contract_type": "m", "customer_ref": "c", "start_date": "2026-01-01",
                   "term_months": 12.5}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["term_months"]);
    assert_eq!(t.get(&url, &t.viewer()).await.body["term_months"], 24);
}

#[actix_web::test]
async fn patch_is_a_merge_patch() {
    let t = TestApp::spawn().await;
    let c = t
        .create_contract(
            json!({"customer_name": "ACME", "renewal": {"auto_renew": true, "term_months": 6, "notice_period": "P1M"}}),
        )
        .await;
    let url = format!("/api/v1/contracts/{}", c["id"].as_str().unwrap());

    // Absent fields stay, null clears, nested renewal merges.
    let res = t
        .patch(
            &url,
            &t.manager(),
            json!({"title": "Renamed", "customer_name": null, "renewal": {"notice_period": "P2M"}}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(res.body["title"], "Renamed");
    assert_eq!(res.body["customer_name"], serde_json::Value::Null);
    assert_eq!(res.body["customer_ref"], "CUST-1");
    assert_eq!(res.body["renewal"], json!({"auto_renew": true, "term_months": 6, "notice_period": "P2M"}));
    assert_eq!(res.body["notice_deadline"], "2026-10-31");

    // Changing the term recomputes the end date; clearing it makes the contract open-ended.
    let res = t.patch(&url, &t.manager(), json!({"term_months": 24, "start_date": "2026-03-01"})).await;
    assert_eq!(res.body["end_date"], "2028-02-29");
    let res = t.patch(&url, &t.manager(), json!({"term_months": null, "renewal": {"auto_renew": false}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["end_date"], serde_json::Value::Null);
    assert_eq!(res.body["notice_deadline"], serde_json::Value::Null);

    // An empty patch changes nothing and keeps the version.
    let res = t.patch(&url, &t.manager(), json!({})).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["version"], 4);

    // The status only changes through the lifecycle verbs; required fields cannot be cleared.
    let res = t.patch(&url, &t.manager(), json!({"status": "active"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["status"]);
    let res = t.patch(&url, &t.manager(), json!({"title": null})).await;
    res.assert_problem(422, "validation_failed");
}

#[actix_web::test]
async fn delete_removes_the_contract() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({})).await;
    let url = format!("/api/v1/contracts/{}", c["id"].as_str().unwrap());
    t.delete(&url, &t.viewer()).await.assert_problem(403, "forbidden");
    let res = t.request("DELETE", &url).bearer(&t.manager()).header("If-Match", "\"9\"").send().await;
    res.assert_problem(412, "precondition_failed");
    let res = t.delete(&url, &t.manager()).await;
    assert_eq!(res.status, 204);
    assert_eq!(res.text, "");
    t.get(&url, &t.viewer()).await.assert_problem(404, "not_found");
    t.delete(&url, &t.manager()).await.assert_problem(404, "not_found");
}

#[actix_web::test]
async fn list_filters_combine() {
    let t = TestApp::spawn().await;
    t.create_contract(json!({"title": "Boiler service North", "customer_ref": "A", "contract_type": "maintenance"}))
        .await;
    t.create_contract(json!({"title": "Lease of cars", "customer_ref": "A", "contract_type": "lease"})).await;
    t.create_contract(
        json!({"title": "BOILER rental", "customer_ref": "B", "contract_type": "lease", "status": "active"}),
    )
    .await;
    let count = |q: &'static str| {
        let t = &t;
        async move {
            let res = t.get(&format!("/api/v1/contracts?{q}"), &t.viewer()).await;
            assert_eq!(res.status, 200, "{q}: {}", res.text);
            res.body["items"].as_array().unwrap().len()
        }
    };
    assert_eq!(count("customer_ref=A").await, 2);
    assert_eq!(count("contract_type=lease").await, 2);
    assert_eq!(count("contract_type=lease&customer_ref=A").await, 1);
    assert_eq!(count("status=active").await, 1);
    assert_eq!(count("q=boiler").await, 2);
    assert_eq!(count("q=BoIlEr&status=draft").await, 1);
    assert_eq!(count("q=C-2026-00000").await, 3);
    assert_eq!(count("q=%25").await, 0);
    assert_eq!(count("q=nothing").await, 0);
}

#[actix_web::test]
async fn concurrent_patches_with_if_match_lose_no_update() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({})).await;
    let url = format!("/api/v1/contracts/{}", c["id"].as_str().unwrap());
    let token = t.manager();
    let attempts = (0..20).map(|i| {
        let (t, url, token) = (&t, url.clone(), token.clone());
        async move {
            t.request("PATCH", &url)
                .bearer(&token)
                .header("If-Match", "\"1\"")
                .json(json!({"title": format!("writer {i}")}))
                .await
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    let winners: Vec<_> = results.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "exactly one writer based on version 1 wins");
    for r in results.iter().filter(|r| r.status != 200) {
        assert!(r.status == 412 || r.status == 409, "loser got {}", r.text);
    }
    let now = t.get(&url, &t.viewer()).await;
    assert_eq!(now.body["version"], 2);
    assert_eq!(now.body["title"], winners[0].body["title"]);
}

#[actix_web::test]
async fn search_folds_case_beyond_ascii_on_both_backends() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"title": "Onderhoud ÉCOLE Straße"})).await;
    for q in ["école", "ÉCOLE", "STRASSE", "straße", "onderhoud é"] {
        let res = t.get(&format!("/api/v1/contracts?q={}", urlencode(q)), &t.viewer()).await;
        let hits = res.body["items"].as_array().unwrap().len();
        let expected = usize::from(q != "STRASSE");
        assert_eq!(hits, expected, "q={q}: {}", res.text);
    }
    let res = t
        .patch(&format!("/api/v1/contracts/{}", c["id"].as_str().unwrap()), &t.manager(), json!({"title": "Other"}))
        .await;
    assert_eq!(res.status, 200);
    let res = t.get("/api/v1/contracts?q=%C3%A9cole", &t.viewer()).await;
    assert_eq!(res.body["items"], json!([]));
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[actix_web::test]
async fn nul_characters_are_client_errors_on_every_backend() {
    let t = TestApp::spawn().await;
    let res = t
        .post(
            "/api/v1/contracts",
            &t.manager(),
            json!({"title": "a\u{0}b", "contract_type": "m", "customer_ref": "c", "start_date": "2026-01-01"}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["title"]);
    t.get("/api/v1/contracts?customer_ref=%00", &t.viewer()).await.assert_problem(400, "invalid_character");
    t.get("/api/v1/contracts/abc%00def", &t.viewer()).await.assert_problem(400, "invalid_character");
    t.get("/api/v1/contracts?expiring_before=99999-01-01", &t.viewer()).await.assert_problem(400, "invalid_query");
    let res = t
        .post(
            "/api/v1/contracts",
            &t.manager(),
            json!({"title": "x", "contract_type": "m", "customer_ref": "c",
            "start_date": "2026-01-01", "signed_at": "9999-01-01T00:00:00Z"}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(t.get("/api/v1/contracts", &t.viewer()).await.body["items"], json!([]));
}

#[actix_web::test]
async fn a_contract_cannot_start_after_it_ends_nor_run_past_2999() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let url = format!("/api/v1/contracts/{}", c["id"].as_str().unwrap());
    let res = t.post(&format!("{url}/terminate"), &t.manager(), json!({"effective_date": "2026-03-31"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = t.patch(&url, &t.manager(), json!({"start_date": "2026-05-01"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["start_date"]);

    let open = t.create_contract(json!({"term_months": null, "status": "active"})).await;
    let res = t
        .post(
            &format!("/api/v1/contracts/{}/terminate", open["id"].as_str().unwrap()),
            &t.manager(),
            json!({"effective_date": "9999-12-31"}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["effective_date"]);

    let long = t.create_contract(json!({"start_date": "2990-01-01", "term_months": 1200, "status": "active"})).await;
    let res = t
        .request("POST", &format!("/api/v1/contracts/{}/renew", long["id"].as_str().unwrap()))
        .bearer(&t.manager())
        .header("If-Match", "\"1\"")
        .json(json!({}))
        .await;
    res.assert_problem(409, "not_renewable");
}

/// Thirty creates at once, each taking a generated number: all succeed, no number twice.
#[actix_web::test]
async fn concurrent_creates_take_distinct_numbers() {
    let t = TestApp::spawn().await;
    let created =
        futures_util::future::join_all((0..30).map(|i| t.create_contract(json!({"title": format!("n{i}")})))).await;
    let numbers: std::collections::BTreeSet<String> =
        created.iter().map(|c| c["number"].as_str().unwrap().to_string()).collect();
    assert_eq!(numbers.len(), 30, "{numbers:?}");
    let listed = t.get("/api/v1/contracts?limit=100", &t.viewer()).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 30);
}
