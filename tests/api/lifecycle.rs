//! Contract lifecycle: the verbs and their transitions, termination and renewal dates, month
//! arithmetic through the API, the Monday questions (expiring / notice), and the scheduler's
//! auto-renewal and expiry.

use crate::common::{Res, TestApp};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

fn url(c: &Value) -> String {
    format!("/api/v1/contracts/{}", c["id"].as_str().unwrap())
}

/// POSTs a lifecycle verb with no body, as a retry-safe client does (with an Idempotency-Key).
async fn verb(t: &TestApp, c: &Value, name: &str) -> Res {
    let key = uuid::Uuid::new_v4().to_string();
    t.request("POST", &format!("{}/{name}", url(c))).bearer(&t.manager()).header("Idempotency-Key", &key).send().await
}

/// POSTs a lifecycle verb with a JSON body.
async fn verb_json(t: &TestApp, c: &Value, name: &str, body: Value) -> Res {
    t.post_once(&format!("{}/{name}", url(c)), &t.manager(), body).await
}

async fn history_actions(t: &TestApp, c: &Value) -> Vec<(String, String)> {
    let res = t.get(&format!("{}/history", url(c)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["actor"].as_str().unwrap().to_string()))
        .collect()
}

fn at(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).unwrap()
}

#[actix_web::test]
async fn activate_suspend_activate_terminate() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"renewal": {"auto_renew": true, "notice_period": "P3M"}})).await;
    assert_eq!(c["status"], "draft");

    let res = verb(&t, &c, "activate").await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "active");
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));

    let res = verb(&t, &c, "suspend").await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "suspended");

    let res = verb_json(&t, &c, "activate", json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "active");
    assert_eq!(res.body["notice_deadline"], "2026-09-30");

    let res = verb_json(&t, &c, "terminate", json!({"effective_date": "2026-08-31", "reason": "customer moved"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "terminated");
    assert_eq!(res.body["end_date"], "2026-08-31");
    assert_eq!(res.body["terminated_on"], "2026-08-31");
    assert_eq!(res.body["termination_reason"], "customer moved");
    assert_eq!(res.body["notice_deadline"], Value::Null);
    assert_eq!(res.body["renewal"]["auto_renew"], false);
    assert_eq!(res.body["version"], 5);
    assert_eq!(res.header("etag").as_deref(), Some("\"5\""));

    let got = t.get(&url(&c), &t.viewer()).await;
    assert_eq!(got.body, res.body);
    let actions: Vec<String> = history_actions(&t, &c).await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(actions, vec!["created", "activated", "suspended", "activated", "terminated"]);
    assert!(history_actions(&t, &c).await.iter().all(|(_, actor)| actor == "maria" || actor == "admin-user"));
}

#[actix_web::test]
async fn illegal_transitions_are_409_and_change_nothing() {
    let t = TestApp::spawn().await;
    let draft = t.create_contract(json!({})).await;
    verb(&t, &draft, "suspend").await.assert_problem(409, "invalid_transition");
    verb(&t, &draft, "renew").await.assert_problem(409, "invalid_transition");

    let active = t.create_contract(json!({"status": "active"})).await;
    verb(&t, &active, "activate").await.assert_problem(409, "invalid_transition");

    let suspended = t.create_contract(json!({"status": "active"})).await;
    assert_eq!(verb(&t, &suspended, "suspend").await.status, 200);
    verb(&t, &suspended, "suspend").await.assert_problem(409, "invalid_transition");

    let ended = t.create_contract(json!({"status": "active"})).await;
    assert_eq!(verb(&t, &ended, "terminate").await.status, 200);
    for name in ["activate", "suspend", "terminate", "renew"] {
        verb(&t, &ended, name).await.assert_problem(409, "invalid_transition");
    }
    verb_json(&t, &ended, "renew", json!({"term_months": 12})).await.assert_problem(409, "invalid_transition");

    // Versions untouched by the refusals.
    assert_eq!(t.get(&url(&draft), &t.viewer()).await.body["version"], 1);
    assert_eq!(t.get(&url(&active), &t.viewer()).await.body["version"], 1);
    let e = t.get(&url(&ended), &t.viewer()).await;
    assert_eq!(e.body["version"], 2);
    assert_eq!(e.body["status"], "terminated");

    // Unknown contract; a viewer may not act.
    let ghost = json!({"id": "01890000-0000-7000-8000-000000000000"});
    verb(&t, &ghost, "activate").await.assert_problem(404, "not_found");
    let res = t.request("POST", &format!("{}/activate", url(&draft))).bearer(&t.viewer()).send().await;
    res.assert_problem(403, "forbidden");
}

#[actix_web::test]
async fn terminate_defaults_to_today_and_checks_the_date() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active", "start_date": "2026-01-01", "term_months": 12})).await;
    let res = verb_json(&t, &c, "terminate", json!({"effective_date": "2025-12-31"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["effective_date"]);
    let res = verb_json(&t, &c, "terminate", json!({"effective_date": "2027-01-01"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["effective_date"]);
    let res = verb_json(&t, &c, "terminate", json!({"effective_date": "someday"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["effective_date"]);
    let res = verb_json(&t, &c, "terminate", json!({"when": "2026-05-01"})).await;
    res.assert_problem(422, "validation_failed");
    let res = t
        .request("POST", &format!("{}/terminate", url(&c)))
        .bearer(&t.manager())
        .body("application/json", "{not json")
        .await;
    res.assert_problem(400, "malformed_json");
    assert_eq!(t.get(&url(&c), &t.viewer()).await.body["status"], "active");

    // The edges are allowed: the start date and the end date themselves.
    let first = t.create_contract(json!({"status": "active"})).await;
    let res = verb_json(&t, &first, "terminate", json!({"effective_date": "2026-01-01"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["end_date"], "2026-01-01");
    let last = t.create_contract(json!({"status": "active"})).await;
    let res = verb_json(&t, &last, "terminate", json!({"effective_date": "2026-12-31"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["end_date"], "2026-12-31");

    // No body: effective today (the test clock: 2026-06-15).
    let res = verb(&t, &c, "terminate").await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["terminated_on"], "2026-06-15");
    assert_eq!(res.body["end_date"], "2026-06-15");
    assert_eq!(res.body["termination_reason"], Value::Null);

    // An open-ended contract can be terminated and then has an end date.
    let open = t.create_contract(json!({"status": "active", "term_months": null})).await;
    assert_eq!(open["end_date"], Value::Null);
    let res = verb_json(&t, &open, "terminate", json!({"effective_date": "2030-03-31"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["end_date"], "2030-03-31");
}

#[actix_web::test]
async fn renew_extends_the_end_date() {
    let t = TestApp::spawn().await;
    let c = t
        .create_contract(json!({"status": "active", "start_date": "2026-01-01", "term_months": 12,
        "renewal": {"notice_period": "P3M"}}))
        .await;
    assert_eq!(c["end_date"], "2026-12-31");

    // Empty body: by the initial term (no renewal term set).
    let res = verb(&t, &c, "renew").await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["end_date"], "2027-12-31");
    assert_eq!(res.body["notice_deadline"], "2027-09-30");
    assert_eq!(res.body["status"], "active");
    assert_eq!(res.body["term_months"], 12, "the initial term stays");

    // Given months.
    let res = verb_json(&t, &c, "renew", json!({"term_months": 6})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["end_date"], "2028-06-30");

    // The renewal term wins over the initial term.
    let r = t.create_contract(json!({"status": "active", "renewal": {"term_months": 3}})).await;
    let res = verb_json(&t, &r, "renew", json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["end_date"], "2027-03-31");

    for bad in [0, 1201, -12] {
        let res = verb_json(&t, &r, "renew", json!({"term_months": bad})).await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), vec!["term_months"]);
    }
    assert_eq!(t.get(&url(&r), &t.viewer()).await.body["end_date"], "2027-03-31");

    // Open-ended: nothing to renew.
    let open = t.create_contract(json!({"status": "active", "term_months": null})).await;
    verb(&t, &open, "renew").await.assert_problem(409, "not_renewable");
    verb_json(&t, &open, "renew", json!({"term_months": 12})).await.assert_problem(409, "not_renewable");
    assert_eq!(t.get(&url(&open), &t.viewer()).await.body["version"], 1);

    let actions: Vec<String> = history_actions(&t, &c).await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(actions, vec!["created", "renewed", "renewed"]);
}

#[actix_web::test]
async fn verbs_respect_if_match() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({})).await;
    let stale = t
        .request("POST", &format!("{}/activate", url(&c)))
        .bearer(&t.manager())
        .header("If-Match", "\"7\"")
        .send()
        .await;
    stale.assert_problem(412, "precondition_failed");
    assert_eq!(t.get(&url(&c), &t.viewer()).await.body["status"], "draft");

    let res = t
        .request("POST", &format!("{}/activate", url(&c)))
        .bearer(&t.manager())
        .header("If-Match", "\"1\"")
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    // The old ETag is now stale for every verb.
    for (name, body) in
        [("suspend", None), ("terminate", Some(json!({"effective_date": "2026-07-01"}))), ("renew", Some(json!({})))]
    {
        let req = t.request("POST", &format!("{}/{name}", url(&c))).bearer(&t.manager()).header("If-Match", "\"1\"");
        let res = match body {
            Some(b) => req.json(b).await,
            None => req.send().await,
        };
        res.assert_problem(412, "precondition_failed");
    }
    let res = t
        .request("POST", &format!("{}/renew", url(&c)))
        .bearer(&t.manager())
        .header("If-Match", "\"2\"")
        .json(json!({"term_months": 12}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["end_date"], "2027-12-31");
    assert_eq!(res.header("etag").as_deref(), Some("\"3\""));
}

#[actix_web::test]
async fn month_arithmetic_through_the_api() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"start_date": "2026-01-31", "term_months": 1})).await;
    assert_eq!(c["end_date"], "2026-02-28");
    let c = t.create_contract(json!({"start_date": "2028-01-31", "term_months": 1})).await;
    assert_eq!(c["end_date"], "2028-02-29");
    let c = t.create_contract(json!({"start_date": "2024-02-29", "term_months": 12})).await;
    assert_eq!(c["end_date"], "2025-02-28");
    let c = t
        .create_contract(json!({"start_date": "2026-01-01", "term_months": 12, "renewal": {"notice_period": "P3M"}}))
        .await;
    assert_eq!(c["end_date"], "2026-12-31");
    assert_eq!(c["notice_deadline"], "2026-09-30");
    let c = t
        .create_contract(json!({"start_date": "2026-01-01", "term_months": 12, "renewal": {"notice_period": "P30D"}}))
        .await;
    assert_eq!(c["notice_deadline"], "2026-12-01");

    // Renewals count from the original start, so a month-end start does not drift to the 28th:
    // 1 month ends 28 Feb (the whole of February), 2 months end the day before 31 March.
    let m = t.create_contract(json!({"status": "active", "start_date": "2026-01-31", "term_months": 1})).await;
    assert_eq!(m["end_date"], "2026-02-28");
    let res = verb(&t, &m, "renew").await;
    assert_eq!(res.body["end_date"], "2026-03-30");
    let res = verb(&t, &m, "renew").await;
    assert_eq!(res.body["end_date"], "2026-04-30");
}

#[actix_web::test]
async fn expiring_before_and_notice_before_answer_the_monday_questions() {
    let t = TestApp::spawn().await;
    // Ends 2026-12-31, notice by 2026-09-30.
    let a = t
        .create_contract(
            json!({"number": "A", "start_date": "2026-01-01", "term_months": 12, "renewal": {"notice_period": "P3M"}}),
        )
        .await;
    // Ends 2027-06-30, notice by 2027-05-31.
    let b = t
        .create_contract(
            json!({"number": "B", "start_date": "2026-07-01", "term_months": 12, "renewal": {"notice_period": "P1M"}}),
        )
        .await;
    // Open-ended: never expires, no notice deadline.
    t.create_contract(json!({"number": "C", "term_months": null})).await;
    // Ends 2026-12-31 without a notice period.
    t.create_contract(json!({"number": "D", "start_date": "2026-01-01", "term_months": 12})).await;
    assert_eq!(a["notice_deadline"], "2026-09-30");
    assert_eq!(b["end_date"], "2027-06-30");
    assert_eq!(b["notice_deadline"], "2027-05-31");

    let numbers = |q: &'static str| {
        let t = &t;
        async move {
            let res = t.get(&format!("/api/v1/contracts?{q}"), &t.viewer()).await;
            assert_eq!(res.status, 200, "{q}: {}", res.text);
            res.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["number"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    // "Before" is strict: the end date itself does not count.
    assert_eq!(numbers("expiring_before=2026-12-31").await, Vec::<String>::new());
    assert_eq!(numbers("expiring_before=2027-01-01").await, vec!["A", "D"]);
    assert_eq!(numbers("expiring_before=2027-06-30").await, vec!["A", "D"]);
    assert_eq!(numbers("expiring_before=2027-07-01").await, vec!["A", "B", "D"]);
    assert_eq!(numbers("notice_before=2026-09-30").await, Vec::<String>::new());
    assert_eq!(numbers("notice_before=2026-10-01").await, vec!["A"]);
    assert_eq!(numbers("notice_before=2027-05-31").await, vec!["A"]);
    assert_eq!(numbers("notice_before=2027-06-01").await, vec!["A", "B"]);
    assert_eq!(numbers("notice_before=2027-06-01&expiring_before=2027-01-01").await, vec!["A"]);
    assert_eq!(numbers("expiring_before=2027-01-01&status=draft&limit=1").await, vec!["A"]);

    // Terminating moves the end date and removes the notice deadline.
    assert_eq!(verb(&t, &b, "activate").await.status, 200);
    let res = verb_json(&t, &b, "terminate", json!({"effective_date": "2026-08-31"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(numbers("expiring_before=2026-09-01").await, vec!["B"]);
    assert_eq!(numbers("notice_before=2027-06-01").await, vec!["A"]);

    for bad in ["expiring_before=2026-13-01", "notice_before=soon", "expiring_before=31-12-2026"] {
        t.get(&format!("/api/v1/contracts?{bad}"), &t.viewer()).await.assert_problem(400, "invalid_query");
    }
}

#[actix_web::test]
async fn the_scheduler_renews_expires_and_leaves_the_rest_alone() {
    let t = TestApp::spawn().await;
    let renewing = t
        .create_contract(json!({"status": "active", "start_date": "2026-01-01", "term_months": 12,
            "renewal": {"auto_renew": true, "notice_period": "P3M"}}))
        .await;
    let by_term = t
        .create_contract(json!({"status": "active", "start_date": "2026-01-01", "term_months": 12,
            "renewal": {"auto_renew": true, "term_months": 6}}))
        .await;
    let expiring = t.create_contract(json!({"status": "active", "start_date": "2026-01-01", "term_months": 12})).await;
    let suspended = t.create_contract(json!({"status": "active", "start_date": "2026-01-01", "term_months": 12})).await;
    assert_eq!(verb(&t, &suspended, "suspend").await.status, 200);
    let draft = t
        .create_contract(json!({"start_date": "2026-01-01", "term_months": 12, "renewal": {"auto_renew": true}}))
        .await;
    let terminated = t
        .create_contract(json!({"status": "active", "start_date": "2026-01-01", "term_months": 12,
            "renewal": {"auto_renew": true}}))
        .await;
    let res = verb_json(&t, &terminated, "terminate", json!({"effective_date": "2026-12-31"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let open = t.create_contract(json!({"status": "active", "term_months": null})).await;

    // Nothing is due while the end dates are ahead, nor on the last day itself.
    assert_eq!(t.run_scheduler().await, Default::default());
    t.clock.set(at(2026, 12, 31));
    let report = t.run_scheduler().await;
    assert_eq!((report.contracts_renewed, report.contracts_expired), (0, 0));

    t.clock.set(at(2027, 1, 1));
    let report = t.run_scheduler().await;
    assert_eq!(report.contracts_renewed, 2);
    assert_eq!(report.contracts_expired, 2);

    let got = t.get(&url(&renewing), &t.viewer()).await.body;
    assert_eq!(got["status"], "active");
    assert_eq!(got["end_date"], "2027-12-31");
    assert_eq!(got["notice_deadline"], "2027-09-30");
    assert_eq!(got["version"], 2);
    let history = t.get(&format!("{}/history", url(&renewing)), &t.viewer()).await;
    let last = history.body["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "renewed");
    assert_eq!(last["actor"], "system");
    assert_eq!(last["changes"]["end_date"], json!({"old": "2026-12-31", "new": "2027-12-31"}));
    assert_eq!(last["occurred_at"], "2027-01-01T09:00:00Z");

    assert_eq!(t.get(&url(&by_term), &t.viewer()).await.body["end_date"], "2027-06-30");

    let got = t.get(&url(&expiring), &t.viewer()).await.body;
    assert_eq!(got["status"], "expired");
    assert_eq!(got["end_date"], "2026-12-31");
    assert_eq!(history_actions(&t, &expiring).await.last().unwrap(), &("expired".to_string(), "system".to_string()));
    assert_eq!(t.get(&url(&suspended), &t.viewer()).await.body["status"], "expired");

    let got = t.get(&url(&draft), &t.viewer()).await.body;
    assert_eq!(
        (got["status"].as_str(), got["end_date"].as_str(), got["version"].as_i64()),
        (Some("draft"), Some("2026-12-31"), Some(1))
    );
    let got = t.get(&url(&terminated), &t.viewer()).await.body;
    assert_eq!(
        (got["status"].as_str(), got["end_date"].as_str(), got["version"].as_i64()),
        (Some("terminated"), Some("2026-12-31"), Some(2))
    );
    assert_eq!(t.get(&url(&open), &t.viewer()).await.body["version"], 1);

    // A second pass at the same time finds nothing and writes nothing.
    let events_before = t.get("/api/v1/events?limit=500", &t.viewer()).await.body["items"].as_array().unwrap().len();
    assert_eq!(t.run_scheduler().await, Default::default());
    let events_after = t.get("/api/v1/events?limit=500", &t.viewer()).await.body["items"].as_array().unwrap().len();
    assert_eq!(events_before, events_after);
    assert_eq!(history_actions(&t, &renewing).await.len(), 2);

    // An expired contract can be renewed by hand.
    let res = verb(&t, &expiring, "renew").await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "active");
    assert_eq!(res.body["end_date"], "2027-12-31");
}

#[actix_web::test]
async fn a_contract_three_years_behind_catches_up_in_one_pass() {
    let t = TestApp::spawn().await;
    let c = t
        .create_contract(json!({"status": "active", "start_date": "2026-01-01", "term_months": 12,
            "renewal": {"auto_renew": true, "notice_period": "P1M"}}))
        .await;
    t.clock.set(at(2029, 8, 20));
    let report = t.run_scheduler().await;
    assert_eq!((report.contracts_renewed, report.contracts_expired), (1, 0));
    let got = t.get(&url(&c), &t.viewer()).await.body;
    assert_eq!(got["status"], "active");
    assert_eq!(got["end_date"], "2029-12-31");
    assert_eq!(got["notice_deadline"], "2029-11-30");
    assert_eq!(got["version"], 2);
    assert_eq!(
        history_actions(&t, &c).await,
        vec![("created".to_string(), "admin-user".to_string()), ("renewed".to_string(), "system".to_string())]
    );
    assert_eq!(t.run_scheduler().await, Default::default());

    // A month-end monthly contract left behind lands on a month end, not a drifted day.
    let m = t
        .create_contract(json!({"status": "active", "start_date": "2029-01-31", "term_months": 1,
            "renewal": {"auto_renew": true}}))
        .await;
    assert_eq!(m["end_date"], "2029-02-28");
    t.clock.set(at(2029, 9, 1));
    let report = t.run_scheduler().await;
    assert_eq!(report.contracts_renewed, 1);
    assert_eq!(t.get(&url(&m), &t.viewer()).await.body["end_date"], "2029-09-30");
}

#[actix_rt::test]
async fn a_renewal_that_fails_is_rolled_back_alone_and_tried_again_next_pass() {
    let t = TestApp::spawn().await;
    t.clock.set(at(2026, 1, 1));
    let terms = json!({"status": "active", "start_date": "2026-01-01", "term_months": 12,
                       "renewal": {"auto_renew": true}});
    let broken = t.create_contract(terms.clone()).await;
    let fine = t.create_contract(terms).await;
    // The database refuses every change of one contract (a trigger set behind the service's
    // back): its renewal fails.
    refuse_changes_of(&t, &broken, true).await;
    t.clock.set(at(2027, 1, 2));
    let report = t.run_scheduler().await;
    assert_eq!((report.contracts_renewed, report.failures), (1, 1), "{report:?}");
    assert_eq!(report.term_batches_retried, 1, "the batch of both failed and was done again one by one");
    assert_eq!(t.get(&url(&fine), &t.viewer()).await.body["end_date"], "2027-12-31");
    let kept = t.get(&url(&broken), &t.viewer()).await.body;
    assert_eq!((kept["end_date"].clone(), kept["version"].clone()), (json!("2026-12-31"), json!(1)), "{kept}");
    assert_eq!(history_actions(&t, &broken).await.len(), 1, "no renewal event of the rolled-back renewal");

    refuse_changes_of(&t, &broken, false).await;
    let report = t.run_scheduler().await;
    assert_eq!((report.contracts_renewed, report.failures, report.term_batches_retried), (1, 0, 0), "{report:?}");
    assert_eq!(t.get(&url(&broken), &t.viewer()).await.body["end_date"], "2027-12-31");
}

/// Makes the database refuse (or, `refuse` false, accept again) every update of a contract's
/// row, with a trigger on either backend.
async fn refuse_changes_of(t: &TestApp, contract: &Value, refuse: bool) {
    let id = contract["id"].as_str().unwrap().to_string();
    let postgres = t.is_postgres();
    t.write_behind_the_api(move |c| {
        use diesel::connection::SimpleConnection;
        let sql = match (postgres, refuse) {
            (true, true) => format!(
                "CREATE FUNCTION refuse_contract() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$; \
                 CREATE TRIGGER refuse_contract BEFORE UPDATE ON contracts FOR EACH ROW \
                 WHEN (OLD.id = '{id}') EXECUTE FUNCTION refuse_contract();"
            ),
            (true, false) => "DROP TRIGGER refuse_contract ON contracts; DROP FUNCTION refuse_contract();".into(),
            (false, true) => format!(
                "CREATE TRIGGER refuse_contract BEFORE UPDATE ON contracts WHEN OLD.id = '{id}' \
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
            ),
            (false, false) => "DROP TRIGGER refuse_contract;".into(),
        };
        c.batch_execute(&sql).map(|_| 0)
    })
    .await;
}

#[actix_web::test]
async fn renew_needs_an_etag_or_an_idempotency_key_so_a_retry_cannot_renew_twice() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active", "start_date": "2026-01-01", "term_months": 12})).await;
    let renew = || t.request("POST", &format!("{}/renew", url(&c))).bearer(&t.manager());
    renew().send().await.assert_problem(428, "precondition_required");
    renew().header("If-Match", "*").send().await.assert_problem(428, "precondition_required");
    renew().header("If-Match", "0").send().await.assert_problem(412, "precondition_failed");
    assert_eq!(t.get(&url(&c), &t.viewer()).await.body["end_date"], "2026-12-31", "nothing renewed");

    // Twenty concurrent renewals on one ETag: one renews, the others find it stale.
    let sent = (0..20).map(|_| renew().header("If-Match", "\"1\"").json(json!({})));
    let answers = futures_util::future::join_all(sent).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 412), "{statuses:?}");
    assert_eq!(t.get(&url(&c), &t.viewer()).await.body["end_date"], "2027-12-31");

    // Twenty concurrent sends of one Idempotency-Key: one renewal, the same answer for all.
    let sent = (0..20).map(|_| renew().header("Idempotency-Key", "renew-2027").json(json!({})));
    let answers = futures_util::future::join_all(sent).await;
    let renewed: Vec<&Res> = answers.iter().filter(|r| r.status == 200).collect();
    assert!(!renewed.is_empty());
    assert!(renewed.iter().all(|r| r.body["end_date"] == "2028-12-31"));
    assert!(answers.iter().all(|r| r.status == 200 || r.status == 409), "in flight answers are 409s");
    assert_eq!(t.get(&url(&c), &t.viewer()).await.body["end_date"], "2028-12-31");
}
