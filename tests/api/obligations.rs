//! Obligations through the API: CRUD, one-off dates and RRULE schedules, preview, and task
//! generation (idempotent, bounded by horizon, contract term and coverage), and how schedule
//! changes, renewal, termination, coverage changes and the scheduler bring the tasks in line.
//!
//! The test clock starts on 2026-06-15; the default contract runs 2026-01-01 to 2026-12-31, so
//! a monthly schedule anchored on its start yields the 1st of July to December.

use crate::common::{start_time, TestApp};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

fn obligations_url(contract: &Value) -> String {
    format!("/api/v1/contracts/{}/obligations", id(contract))
}

fn url(obligation: &Value) -> String {
    format!("/api/v1/obligations/{}", id(obligation))
}

fn at(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).unwrap()
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string()
}

/// (nominal date, due date, status) of each task.
fn dates(tasks: &[Value]) -> Vec<(String, String, String)> {
    tasks.iter().map(|t| (s(&t["nominal_date"]), s(&t["due_date"]), s(&t["status"]))).collect()
}

/// The nominal dates of the tasks in `status`.
fn nominal_in(tasks: &[Value], status: &str) -> Vec<String> {
    tasks.iter().filter(|t| t["status"] == status).map(|t| s(&t["nominal_date"])).collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// The first of each month from `from` to `to` (both "YYYY-MM").
fn firsts(from: (i32, u32), to: (i32, u32)) -> Vec<String> {
    let mut out = Vec::new();
    let (mut y, mut m) = from;
    while (y, m) <= to {
        out.push(format!("{y:04}-{m:02}-01"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

/// One-off obligation fields.
fn one_off(due: &str) -> Value {
    json!({"schedule": null, "due_date": due})
}

async fn generate(t: &TestApp, obligation: &Value) -> Value {
    let res = t.post(&format!("{}/generate", url(obligation)), &t.manager(), json!({})).await;
    assert_eq!(res.status, 200, "generate: {}", res.text);
    res.body
}

async fn patch_ok(t: &TestApp, obligation: &Value, body: Value) -> Value {
    let res = t.patch(&url(obligation), &t.manager(), body).await;
    assert_eq!(res.status, 200, "patch obligation: {}", res.text);
    res.body
}

async fn contract_verb(t: &TestApp, contract: &Value, verb: &str, body: Value) -> Value {
    let res = t.post_once(&format!("/api/v1/contracts/{}/{verb}", id(contract)), &t.manager(), body).await;
    assert_eq!(res.status, 200, "{verb}: {}", res.text);
    res.body
}

/// Completes a task as a planner.
async fn complete(t: &TestApp, task: &Value) -> Value {
    let res = t.post(&format!("/api/v1/tasks/{}/complete", id(task)), &t.token("pia", &["planner"]), json!({})).await;
    assert_eq!(res.status, 200, "complete: {}", res.text);
    res.body
}

async fn history_actions(t: &TestApp, path: &str) -> Vec<(String, String)> {
    let res = t.get(&format!("{path}/history"), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["items"].as_array().unwrap().iter().map(|e| (s(&e["action"]), s(&e["actor"]))).collect()
}

#[actix_web::test]
async fn create_get_list_patch_and_delete_an_obligation() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let other = t.create_contract(json!({"status": "active"})).await;

    let res = t
        .post(
            &obligations_url(&c),
            &t.manager(),
            json!({"title": "Annual inspection", "description": "By the book", "kind": "inspection",
                   "assignee": {"user": "alice"}, "due_date": "2026-09-01"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let o = res.body.clone();
    assert_eq!(res.header("location"), Some(format!("/api/v1/obligations/{}", id(&o))));
    assert_eq!(res.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(o["contract_id"], c["id"]);
    assert_eq!(o["title"], "Annual inspection");
    assert_eq!(o["description"], "By the book");
    assert_eq!(o["kind"], "inspection");
    assert_eq!(o["assignee"], json!({"user": "alice"}));
    assert_eq!(o["due_date"], "2026-09-01");
    assert_eq!(o["schedule"], Value::Null);
    assert_eq!(o["lead_days"], 0);
    assert_eq!(o["scope"], "contract");
    assert_eq!(o["horizon_months"], 12);
    assert_eq!(o["version"], 1);
    assert_eq!(o["generated_on"], "2026-06-15");
    assert_eq!(o["created_at"], "2026-06-15T10:00:00Z");

    // GET answers what POST answered.
    let got = t.get(&url(&o), &t.viewer()).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(got.body, o);

    // Its one task was generated at once.
    let tasks = t.tasks_of(&o).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let task = &tasks[0];
    assert_eq!(task["kind"], "planned");
    assert_eq!(task["status"], "open");
    assert_eq!(task["title"], "Annual inspection");
    assert_eq!(task["description"], "By the book");
    assert_eq!(task["assignee"], json!({"user": "alice"}));
    assert_eq!(task["due_date"], "2026-09-01");
    assert_eq!(task["nominal_date"], "2026-09-01");
    assert_eq!(task["contract_id"], c["id"]);
    assert_eq!(task["obligation_id"], o["id"]);
    assert_eq!(task["installation_id"], Value::Null);
    assert_eq!(task["overdue"], false);

    // The contract lists its obligations, oldest first, page by page.
    let second = t.create_obligation(&c, json!({})).await;
    let res = t.get(&obligations_url(&c), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["items"], json!([o, second]));
    assert_eq!(res.body["next_cursor"], Value::Null);
    let res = t.get(&format!("{}?limit=1", obligations_url(&c)), &t.viewer()).await;
    assert_eq!(res.body["items"], json!([o]));
    let cursor = s(&res.body["next_cursor"]);
    let res = t.get(&format!("{}?limit=1&cursor={cursor}", obligations_url(&c)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["items"], json!([second]));
    assert_eq!(res.body["next_cursor"], Value::Null);
    let res = t.get(&obligations_url(&other), &t.viewer()).await;
    assert_eq!(res.body["items"], json!([]));
    t.get(&obligations_url(&json!({"id": "0190a1b2-0000-7000-8000-000000000000"})), &t.viewer())
        .await
        .assert_problem(404, "not_found");
    t.get(&format!("{}?limit=0", obligations_url(&c)), &t.viewer()).await.assert_problem(400, "invalid_query");

    // PATCH is a merge patch guarded by If-Match; the open task follows the new title.
    let res = t
        .request("PATCH", &url(&o))
        .bearer(&t.manager())
        .header("If-Match", "\"1\"")
        .json(json!({"title": "Yearly inspection", "description": null}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(res.body["version"], 2);
    assert_eq!(res.body["title"], "Yearly inspection");
    assert_eq!(res.body["description"], Value::Null);
    assert_eq!(res.body["due_date"], "2026-09-01");
    assert_eq!(t.get(&url(&o), &t.viewer()).await.body, res.body);
    let tasks = t.tasks_of(&o).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["id"], task["id"]);
    assert_eq!(tasks[0]["title"], "Yearly inspection");
    assert_eq!(tasks[0]["description"], Value::Null);
    // A new description alone reaches the open task too.
    let res = t.patch(&url(&o), &t.manager(), json!({"description": "Check the brakes"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.header("etag").as_deref(), Some("\"3\""));
    assert_eq!(t.tasks_of(&o).await[0]["description"], "Check the brakes");
    let res = t
        .request("PATCH", &url(&o))
        .bearer(&t.manager())
        .header("If-Match", "\"2\"")
        .json(json!({"title": "Stale"}))
        .await;
    res.assert_problem(412, "precondition_failed");
    assert_eq!(t.get(&url(&o), &t.viewer()).await.body["title"], "Yearly inspection");

    assert_eq!(
        history_actions(&t, &url(&o)).await,
        vec![
            ("created".to_string(), "maria".to_string()),
            ("updated".to_string(), "maria".to_string()),
            ("updated".to_string(), "maria".to_string())
        ]
    );

    // DELETE: a stale If-Match is refused; then the obligation and its open task are gone.
    let res = t.request("DELETE", &url(&o)).bearer(&t.manager()).header("If-Match", "\"2\"").send().await;
    res.assert_problem(412, "precondition_failed");
    let res = t.request("DELETE", &url(&o)).bearer(&t.manager()).header("If-Match", "\"3\"").send().await;
    assert_eq!(res.status, 204, "{}", res.text);
    assert_eq!(res.text, "");
    t.get(&url(&o), &t.viewer()).await.assert_problem(404, "not_found");
    t.get(&format!("/api/v1/tasks/{}", id(task)), &t.viewer()).await.assert_problem(404, "not_found");
    assert!(t.tasks_of(&o).await.is_empty());
    t.delete(&url(&o), &t.manager()).await.assert_problem(404, "not_found");
    let res = t.get(&obligations_url(&c), &t.viewer()).await;
    assert_eq!(res.body["items"], json!([second]));
}

#[actix_web::test]
async fn only_contract_managers_and_integrations_change_obligations() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let body = json!({"title": "Check", "kind": "inspection", "assignee": {"role": "crew"}, "due_date": "2026-09-01"});
    let planner = t.token("pia", &["planner"]);

    t.post(&obligations_url(&c), &t.viewer(), body.clone()).await.assert_problem(403, "forbidden");
    t.post(&obligations_url(&c), &planner, body.clone()).await.assert_problem(403, "forbidden");
    t.request("POST", &obligations_url(&c)).json(body.clone()).await.assert_problem(401, "unauthorized");
    let res = t.get(&obligations_url(&c), &t.viewer()).await;
    assert_eq!(res.body["items"], json!([]));
    assert!(t.all_tasks("", &t.viewer()).await.is_empty());

    let res = t.post(&obligations_url(&c), &t.token("erp", &["integration"]), body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let o = res.body;

    t.patch(&url(&o), &t.viewer(), json!({"title": "x"})).await.assert_problem(403, "forbidden");
    t.patch(&url(&o), &planner, json!({"title": "x"})).await.assert_problem(403, "forbidden");
    t.delete(&url(&o), &t.viewer()).await.assert_problem(403, "forbidden");
    t.post(&format!("{}/generate", url(&o)), &t.viewer(), json!({})).await.assert_problem(403, "forbidden");
    t.request("GET", &url(&o)).send().await.assert_problem(401, "unauthorized");
    assert_eq!(t.get(&url(&o), &t.viewer()).await.body["title"], "Check");

    // Planners may generate on demand; anyone may read.
    let res = t.post(&format!("{}/generate", url(&o)), &planner, json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body, json!({"created": 0, "updated": 0, "cancelled": 0}));
    let res = t.get(&format!("{}/preview", url(&o)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
}

#[actix_web::test]
async fn an_obligation_has_a_due_date_or_a_schedule_never_both_nor_neither() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let base = json!({"title": "Service", "kind": "preventive_maintenance", "assignee": {"role": "crew"}});
    let with = |extra: Value| {
        let mut b = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };

    let res = t
        .post(
            &obligations_url(&c),
            &t.manager(),
            with(json!({"due_date": "2026-09-01", "schedule": {"rrule": "FREQ=MONTHLY"}})),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), ["schedule"]);
    let res = t.post(&obligations_url(&c), &t.manager(), base.clone()).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), ["due_date"]);

    // Other field checks.
    for (extra, field) in [
        (json!({"due_date": "2026-09-01", "lead_days": -1}), "lead_days"),
        (json!({"due_date": "2026-09-01", "lead_days": 367}), "lead_days"),
        (json!({"due_date": "2026-09-01", "horizon_months": 0}), "horizon_months"),
        (json!({"due_date": "2026-09-01", "horizon_months": 61}), "horizon_months"),
        (json!({"due_date": "2026-09-01", "assignee": {"user": "  "}}), "assignee"),
        (json!({"due_date": "2026-09-01", "title": ""}), "title"),
        (json!({"due_date": "2026-09-01", "colour": "red"}), "colour"),
    ] {
        let res = t.post(&obligations_url(&c), &t.manager(), with(extra.clone())).await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), [field], "{extra}: {}", res.text);
    }
    for extra in [
        json!({"due_date": "2026-09-01", "assignee": {"team": "crew"}}),
        json!({"due_date": "2026-09-01", "scope": "galaxy"}),
        json!({"due_date": "not a date"}),
        json!({"schedule": {"rrule": "FREQ=DAILY", "exdates": ["2026-13-01"]}}),
    ] {
        let res = t.post(&obligations_url(&c), &t.manager(), with(extra.clone())).await;
        res.assert_problem(422, "validation_failed");
    }
    t.post(
        "/api/v1/contracts/0190a1b2-0000-7000-8000-000000000000/obligations",
        &t.manager(),
        with(one_off("2026-09-01")),
    )
    .await
    .assert_problem(404, "not_found");
    // Nothing was stored.
    assert_eq!(t.get(&obligations_url(&c), &t.viewer()).await.body["items"], json!([]));
    assert!(t.all_tasks("", &t.viewer()).await.is_empty());

    // The same rule holds for a patch; a refused patch changes nothing.
    let o = t.create_obligation(&c, json!({})).await;
    assert_eq!(t.tasks_of(&o).await.len(), 6);
    let res = t.patch(&url(&o), &t.manager(), json!({"due_date": "2026-09-01"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), ["schedule"]);
    let res = t.patch(&url(&o), &t.manager(), json!({"schedule": null})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), ["due_date"]);
    let res = t.patch(&url(&o), &t.manager(), json!({"title": null})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), ["title"]);
    let got = t.get(&url(&o), &t.viewer()).await.body;
    assert_eq!(got, o);

    // Turning the schedule into a one-off keeps the task of that day and cancels the others.
    let tasks_before = t.tasks_of(&o).await;
    let changed = patch_ok(&t, &o, json!({"schedule": null, "due_date": "2026-09-01"})).await;
    assert_eq!(changed["schedule"], Value::Null);
    assert_eq!(changed["due_date"], "2026-09-01");
    let tasks = t.tasks_of(&o).await;
    assert_eq!(nominal_in(&tasks, "open"), ["2026-09-01"]);
    assert_eq!(
        nominal_in(&tasks, "cancelled"),
        strings(&["2026-07-01", "2026-08-01", "2026-10-01", "2026-11-01", "2026-12-01"])
    );
    let kept = tasks.iter().find(|x| x["nominal_date"] == "2026-09-01").unwrap();
    assert!(tasks_before.iter().any(|x| x["id"] == kept["id"]), "the task of that day is kept, not made anew");
    for x in tasks.iter().filter(|x| x["status"] == "cancelled") {
        assert_eq!(x["closed_by"], "system");
        assert_eq!(x["closed_at"], "2026-06-15T10:00:00Z");
    }
}

#[actix_web::test]
async fn an_invalid_rrule_is_422_with_the_parsers_reason() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    for (rule, reason) in [
        ("FREQ=SOMETIMES", "SOMETIMES"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "32"),
        ("FREQ=DAILY;UNTIL=notadate", "notadate"),
        ("FREQ=WEEKLY;BYDAY=XX", "XX"),
        ("every tuesday", "every tuesday"),
        ("FREQ=MONTHLY;BYSETPOS=0;BYDAY=MO", "BYSETPOS"),
        ("FREQ=MONTHLY;INTERVAL=0", "INTERVAL"),
        ("DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY", "anchor"),
    ] {
        let res = t
            .post(
                &obligations_url(&c),
                &t.manager(),
                json!({"title": "Service", "kind": "x", "assignee": {"role": "crew"}, "schedule": {"rrule": rule}}),
            )
            .await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), ["schedule.rrule"], "{rule}: {}", res.text);
        let error = &res.body["errors"][0];
        assert_eq!(error["code"], "invalid_rrule");
        let message = s(&error["message"]);
        assert!(message.contains(reason), "{rule:?}: the reason {message:?} should mention {reason:?}");
        assert!(s(&res.body["detail"]).contains(&message), "{}", res.text);
    }
    assert_eq!(t.get(&obligations_url(&c), &t.viewer()).await.body["items"], json!([]));

    // A patch with a bad rule is refused and changes nothing.
    let o = t.create_obligation(&c, json!({})).await;
    let res = t.patch(&url(&o), &t.manager(), json!({"schedule": {"rrule": "FREQ=MONTHLY;INTERVAL=0"}})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), ["schedule.rrule"]);
    assert!(!s(&res.body["errors"][0]["message"]).is_empty());
    assert_eq!(t.get(&url(&o), &t.viewer()).await.body, o);
    assert_eq!(nominal_in(&t.tasks_of(&o).await, "open"), firsts((2026, 7), (2026, 12)));
}

#[actix_web::test]
async fn until_may_be_a_date_and_planned_work_recurs_at_most_daily() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    // RFC 5545: with a date start, UNTIL is a date; that day is included. The UTC form still works.
    for until in ["20260710", "20260710T000000Z"] {
        let rule = format!("FREQ=WEEKLY;UNTIL={until}");
        let o = t.create_obligation(&c, json!({"schedule": {"rrule": rule, "anchor_date": "2026-06-19"}})).await;
        assert_eq!(o["schedule"]["rrule"], rule.as_str(), "stored as written");
        assert_eq!(nominal_in(&t.tasks_of(&o).await, "open"), ["2026-06-19", "2026-06-26", "2026-07-03", "2026-07-10"]);
    }
    // Refusals speak of the schedule, never of the library's internals.
    for (rule, field_says) in [
        ("FREQ=SECONDLY", "`FREQ=SECONDLY` repeats within a day"),
        ("FREQ=HOURLY;INTERVAL=12", "`FREQ=HOURLY` repeats within a day"),
        ("FREQ=DAILY;BYHOUR=9", "`BYHOUR` sets a time of day"),
        ("FREQ=WEEKLY;BYMINUTE=0", "`BYMINUTE` sets a time of day"),
        ("FREQ=DAILY;UNTIL=20260710T000000", "`UNTIL=20260710T000000` is neither a date"),
        ("FREQ=DAILY;UNTIL=20260601", "`UNTIL` (2026-06-01) lies before the anchor date (2026-06-19)"),
        // A rule that never yields a day would make every generation search for one in vain.
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "the rule yields no day in the ten years from the anchor date"),
        // A counted rule is walked from its anchor: its length is bounded.
        ("FREQ=DAILY;COUNT=20000", "`COUNT=20000`: a count is a whole number up to 10000"),
    ] {
        let res = t
            .post(
                &obligations_url(&c),
                &t.manager(),
                json!({"title": "Service", "kind": "x", "assignee": {"role": "crew"},
                       "schedule": {"rrule": rule, "anchor_date": "2026-06-19"}}),
            )
            .await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), ["schedule.rrule"], "{rule}: {}", res.text);
        let message = s(&res.body["errors"][0]["message"]);
        assert!(message.starts_with(field_says), "{rule}: {message}");
        assert!(!message.contains("DTSTART") && !message.contains("Local"), "{rule}: {message}");
    }
    assert_eq!(t.get(&obligations_url(&c), &t.viewer()).await.body["items"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn preview_lists_the_occurrences_and_stores_nothing() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let o = t
        .create_obligation(
            &c,
            json!({"schedule": {"rrule": "FREQ=MONTHLY", "anchor_date": "2026-01-15", "exdates": ["2026-08-15"]},
                   "lead_days": 5, "horizon_months": 1}),
        )
        .await;
    assert_eq!(o["schedule"], json!({"rrule": "FREQ=MONTHLY", "anchor_date": "2026-01-15", "exdates": ["2026-08-15"]}));
    // A one-month horizon: today's occurrence (already due) and July's have tasks.
    let before = t.all_tasks("", &t.viewer()).await;
    assert_eq!(
        dates(&before),
        [
            ("2026-06-15".into(), "2026-06-10".into(), "open".into()),
            ("2026-07-15".into(), "2026-07-10".into(), "open".into())
        ]
    );

    let res = t.get(&format!("{}/preview?from=2026-07-01&to=2026-10-31", url(&o)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        res.body,
        json!({"from": "2026-07-01", "to": "2026-10-31", "occurrences": [
            {"nominal_date": "2026-07-15", "due_date": "2026-07-10", "installation_id": null},
            {"nominal_date": "2026-09-15", "due_date": "2026-09-10", "installation_id": null},
            {"nominal_date": "2026-10-15", "due_date": "2026-10-10", "installation_id": null},
        ]})
    );
    // Bounded by the contract's period on both sides.
    let res = t.get(&format!("{}/preview?from=2025-10-01&to=2027-03-31", url(&o)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let days: Vec<String> = res.body["occurrences"].as_array().unwrap().iter().map(|x| s(&x["nominal_date"])).collect();
    assert_eq!(
        days,
        strings(&[
            "2026-01-15",
            "2026-02-15",
            "2026-03-15",
            "2026-04-15",
            "2026-05-15",
            "2026-06-15",
            "2026-07-15",
            "2026-09-15",
            "2026-10-15",
            "2026-11-15",
            "2026-12-15"
        ])
    );
    // Default window: from today to the horizon.
    let res = t.get(&format!("{}/preview", url(&o)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["from"], "2026-06-15");
    assert_eq!(res.body["to"], "2026-07-15");
    assert_eq!(res.body["occurrences"].as_array().unwrap().len(), 2, "{}", res.text);

    for bad in
        ["from=2026-13-01", "to=soon", "from=2026-08-01&to=2026-07-01", "from=2026-01-01&to=2037-01-01", "every=1"]
    {
        let res = t.get(&format!("{}/preview?{bad}", url(&o)), &t.viewer()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.text);
    }
    t.get("/api/v1/obligations/0190a1b2-0000-7000-8000-000000000000/preview", &t.viewer())
        .await
        .assert_problem(404, "not_found");

    // Nothing was stored: the worklist and the obligation are as they were.
    assert_eq!(t.all_tasks("", &t.viewer()).await, before);
    assert_eq!(t.get(&url(&o), &t.viewer()).await.body, o);
}

#[actix_web::test]
async fn tasks_are_generated_on_create_and_generating_again_changes_nothing() {
    let t = TestApp::spawn().await;
    // Open-ended: only the 12-month horizon bounds generation.
    let c = t.create_contract(json!({"status": "active", "term_months": null})).await;
    assert_eq!(c["end_date"], Value::Null);
    let o = t.create_obligation(&c, json!({})).await;
    let first = t.tasks_of(&o).await;
    assert_eq!(nominal_in(&first, "open"), firsts((2026, 7), (2027, 6)));
    for task in &first {
        assert_eq!(task["kind"], "planned");
        assert_eq!(task["title"], "Preventive maintenance");
        assert_eq!(task["assignee"], json!({"role": "crew"}));
        assert_eq!(task["due_date"], task["nominal_date"]);
        assert_eq!(task["rescheduled"], false);
        assert_eq!(task["reassigned"], false);
        assert_eq!(task["version"], 1);
    }
    let ids: BTreeSet<String> = first.iter().map(|x| s(&x["id"])).collect();
    assert_eq!(ids.len(), 12);

    // Generating again the same day: nothing to do.
    assert_eq!(generate(&t, &o).await, json!({"created": 0, "updated": 0, "cancelled": 0}));
    assert_eq!(t.tasks_of(&o).await, first);

    // A month later the horizon has moved: one more occurrence; then nothing again.
    t.clock.set(at(2026, 7, 20));
    assert_eq!(generate(&t, &o).await, json!({"created": 1, "updated": 0, "cancelled": 0}));
    assert_eq!(generate(&t, &o).await, json!({"created": 0, "updated": 0, "cancelled": 0}));
    let later = t.tasks_of(&o).await;
    assert_eq!(nominal_in(&later, "open"), firsts((2026, 7), (2027, 7)));
    let later_ids: BTreeSet<String> = later.iter().map(|x| s(&x["id"])).collect();
    assert!(later_ids.is_superset(&ids), "the same tasks, plus the new one");
    // The past occurrence is still there, now overdue.
    assert_eq!(later[0]["nominal_date"], "2026-07-01");
    assert_eq!(later[0]["overdue"], true);
    assert_eq!(t.get(&url(&o), &t.viewer()).await.body["generated_on"], "2026-07-20");
    // Generation of the new task is in its history, by whoever asked.
    let new_task = later.iter().find(|x| x["nominal_date"] == "2027-07-01").unwrap();
    assert_eq!(
        history_actions(&t, &format!("/api/v1/tasks/{}", id(new_task))).await,
        vec![("created".to_string(), "maria".to_string())]
    );
    t.post("/api/v1/obligations/0190a1b2-0000-7000-8000-000000000000/generate", &t.manager(), json!({}))
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn lead_days_make_tasks_due_before_the_occurrence() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let o =
        t.create_obligation(&c, json!({"schedule": {"rrule": "FREQ=MONTHLY;BYMONTHDAY=10"}, "lead_days": 14})).await;
    assert_eq!(o["lead_days"], 14);
    let tasks = t.tasks_of(&o).await;
    assert_eq!(
        dates(&tasks),
        [
            ("2026-07-10", "2026-06-26"),
            ("2026-08-10", "2026-07-27"),
            ("2026-09-10", "2026-08-27"),
            ("2026-10-10", "2026-09-26"),
            ("2026-11-10", "2026-10-27"),
            ("2026-12-10", "2026-11-26"),
        ]
        .map(|(n, d)| (n.to_string(), d.to_string(), "open".to_string()))
    );
    // A one-off with a lead time.
    let once = t.create_obligation(&c, json!({"schedule": null, "due_date": "2026-09-01", "lead_days": 7})).await;
    assert_eq!(dates(&t.tasks_of(&once).await), [("2026-09-01".into(), "2026-08-25".into(), "open".into())]);

    // A new lead time moves the open tasks (the same tasks) and says so.
    patch_ok(&t, &o, json!({"lead_days": 3})).await;
    let moved = t.tasks_of(&o).await;
    let expected: Vec<(String, String, String)> = [
        ("2026-07-10", "2026-07-07"),
        ("2026-08-10", "2026-08-07"),
        ("2026-09-10", "2026-09-07"),
        ("2026-10-10", "2026-10-07"),
        ("2026-11-10", "2026-11-07"),
        ("2026-12-10", "2026-12-07"),
    ]
    .map(|(n, d)| (n.to_string(), d.to_string(), "open".to_string()))
    .to_vec();
    assert_eq!(dates(&moved), expected);
    let ids = |v: &[Value]| v.iter().map(|x| s(&x["id"])).collect::<BTreeSet<_>>();
    assert_eq!(ids(&moved), ids(&tasks));
    assert!(moved.iter().all(|x| x["rescheduled"] == false && x["version"] == 2));
    assert_eq!(generate(&t, &o).await, json!({"created": 0, "updated": 0, "cancelled": 0}));
}

#[actix_web::test]
async fn the_horizon_bounds_generation_and_the_contract_end_is_never_passed() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    assert_eq!(c["end_date"], "2026-12-31");

    let short = t.create_obligation(&c, json!({"horizon_months": 2})).await;
    assert_eq!(nominal_in(&t.tasks_of(&short).await, "open"), strings(&["2026-07-01", "2026-08-01"]));
    let long = t.create_obligation(&c, json!({"horizon_months": 36})).await;
    assert_eq!(nominal_in(&t.tasks_of(&long).await, "open"), firsts((2026, 7), (2026, 12)));
    // A daily schedule stops on the contract's last day.
    let daily = t.create_obligation(&c, json!({"schedule": {"rrule": "FREQ=DAILY"}, "horizon_months": 24})).await;
    let days = t.tasks_of(&daily).await;
    assert_eq!(days.len(), 200, "15 June to 31 December");
    assert_eq!(days.last().unwrap()["nominal_date"], "2026-12-31");
    // A one-off after the contract's end gets no task.
    let late = t.create_obligation(&c, one_off("2027-02-01")).await;
    assert!(t.tasks_of(&late).await.is_empty());

    // A longer horizon generates further.
    patch_ok(&t, &short, json!({"horizon_months": 4})).await;
    assert_eq!(nominal_in(&t.tasks_of(&short).await, "open"), firsts((2026, 7), (2026, 10)));
}

#[actix_web::test]
async fn installation_scope_makes_one_task_per_covered_installation_within_its_coverage() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let a = t.create_installation("LIFT-A", json!({})).await;
    let b = t.create_installation("LIFT-B", json!({})).await;
    let x = t.create_installation("LIFT-X", json!({})).await;
    let res = t
        .cover(
            &c,
            json!([{"installation_id": a["id"]},
                   {"installation_id": b["id"], "valid_from": "2026-09-01"},
                   {"installation_id": x["id"], "valid_to": "2026-08-31"}]),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let serial = |v: &Value| -> String {
        [&a, &b, &x].iter().find(|i| i["id"] == *v).map(|i| s(&i["serial_number"])).unwrap_or_else(|| "-".into())
    };

    let o = t
        .create_obligation(&c, json!({"schedule": {"rrule": "FREQ=MONTHLY;INTERVAL=3"}, "scope": "installations"}))
        .await;
    assert_eq!(o["scope"], "installations");
    let tasks = t.tasks_of(&o).await;
    let got: BTreeSet<(String, String)> =
        tasks.iter().map(|x| (serial(&x["installation_id"]), s(&x["nominal_date"]))).collect();
    let want: BTreeSet<(String, String)> =
        [("LIFT-A", "2026-07-01"), ("LIFT-A", "2026-10-01"), ("LIFT-B", "2026-10-01"), ("LIFT-X", "2026-07-01")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_eq!(got, want);
    assert_eq!(tasks.len(), 4);
    assert!(tasks.iter().all(|x| x["contract_id"] == c["id"] && x["status"] == "open"));

    // The preview says the same, per installation.
    let res = t.get(&format!("{}/preview?from=2026-06-15&to=2026-12-31", url(&o)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let previewed: BTreeSet<(String, String)> = res.body["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (serial(&x["installation_id"]), s(&x["nominal_date"])))
        .collect();
    assert_eq!(previewed, want);

    // The worklist filters by installation.
    let of_a = t.all_tasks(&format!("installation_id={}", id(&a)), &t.viewer()).await;
    assert_eq!(nominal_in(&of_a, "open"), strings(&["2026-07-01", "2026-10-01"]));
    assert_eq!(generate(&t, &o).await, json!({"created": 0, "updated": 0, "cancelled": 0}));
}

#[actix_web::test]
async fn a_newly_covered_installation_gets_its_tasks_and_ending_coverage_cancels_them() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let a = t.create_installation("LIFT-A", json!({})).await;
    let b = t.create_installation("LIFT-B", json!({})).await;
    let d = t.create_installation("LIFT-D", json!({})).await;
    assert_eq!(t.cover(&c, json!([{"installation_id": a["id"]}, {"installation_id": b["id"]}])).await.status, 201);
    let o = t.create_obligation(&c, json!({"scope": "installations"})).await;
    let of = |inst: &Value| format!("installation_id={}&obligation_id={}", id(inst), id(&o));
    assert_eq!(t.tasks_of(&o).await.len(), 12);

    // Covering another installation generates its tasks at once.
    let res = t.cover(&c, json!([{"installation_id": d["id"], "valid_from": "2026-08-15"}])).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let of_d = t.all_tasks(&of(&d), &t.viewer()).await;
    assert_eq!(nominal_in(&of_d, "open"), firsts((2026, 9), (2026, 12)));
    assert!(of_d.iter().all(|x| x["assignee"] == json!({"role": "crew"})));
    let created = history_actions(&t, &format!("/api/v1/tasks/{}", id(&of_d[0]))).await;
    assert_eq!(created, vec![("created".to_string(), "maria".to_string())]);

    // Work done on A's July task stays; removing A's coverage cancels A's open future tasks.
    let a_tasks = t.all_tasks(&of(&a), &t.viewer()).await;
    complete(&t, &a_tasks[0]).await;
    let res = t.delete(&format!("/api/v1/contracts/{}/installations/{}", id(&c), id(&a)), &t.manager()).await;
    assert_eq!(res.status, 204, "{}", res.text);
    let a_tasks = t.all_tasks(&of(&a), &t.viewer()).await;
    assert_eq!(nominal_in(&a_tasks, "done"), ["2026-07-01"]);
    assert_eq!(nominal_in(&a_tasks, "cancelled"), firsts((2026, 8), (2026, 12)));
    assert!(a_tasks.iter().filter(|x| x["status"] == "cancelled").all(|x| x["closed_by"] == "system"));

    // Shortening B's coverage cancels B's tasks after its new end.
    let res = t
        .patch(
            &format!("/api/v1/contracts/{}/installations/{}", id(&c), id(&b)),
            &t.manager(),
            json!({"valid_to": "2026-09-30"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let b_tasks = t.all_tasks(&of(&b), &t.viewer()).await;
    assert_eq!(nominal_in(&b_tasks, "open"), firsts((2026, 7), (2026, 9)));
    assert_eq!(nominal_in(&b_tasks, "cancelled"), firsts((2026, 10), (2026, 12)));
    // D is untouched.
    assert_eq!(nominal_in(&t.all_tasks(&of(&d), &t.viewer()).await, "open"), firsts((2026, 9), (2026, 12)));
    assert_eq!(generate(&t, &o).await, json!({"created": 0, "updated": 0, "cancelled": 0}));

    // Covering A again brings back the occurrences the system had cancelled (the same tasks).
    let res = t.cover(&c, json!([{"installation_id": a["id"], "valid_from": "2026-10-01"}])).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let again = t.all_tasks(&of(&a), &t.viewer()).await;
    assert_eq!(nominal_in(&again, "open"), firsts((2026, 10), (2026, 12)));
    assert_eq!(nominal_in(&again, "cancelled"), firsts((2026, 8), (2026, 9)));
    assert_eq!(again.len(), 6, "reopened, not duplicated");
}

#[actix_web::test]
async fn a_schedule_change_keeps_done_and_hand_edited_tasks() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let o = t.create_obligation(&c, json!({})).await;
    let tasks = t.tasks_of(&o).await;
    assert_eq!(nominal_in(&tasks, "open"), firsts((2026, 7), (2026, 12)));
    let planner = t.token("pia", &["planner"]);
    let by_nominal = |v: &[Value], d: &str| v.iter().find(|x| x["nominal_date"] == d).cloned().unwrap();

    // July is done, August moved by hand, September reassigned by hand, October in progress.
    complete(&t, &by_nominal(&tasks, "2026-07-01")).await;
    let res = t.patch(&format!("/api/v1/tasks/{}", id(&tasks[1])), &planner, json!({"due_date": "2026-08-05"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["rescheduled"], true);
    let res =
        t.patch(&format!("/api/v1/tasks/{}", id(&tasks[2])), &planner, json!({"assignee": {"user": "alice"}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["reassigned"], true);
    let res = t.post(&format!("/api/v1/tasks/{}/start", id(&tasks[3])), &planner, json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text);

    // Now the schedule moves to the 15th.
    t.clock.set(start_time() + chrono::Duration::hours(2));
    let changed = patch_ok(&t, &o, json!({"schedule": {"rrule": "FREQ=MONTHLY;BYMONTHDAY=15"}})).await;
    assert_eq!(changed["schedule"]["rrule"], "FREQ=MONTHLY;BYMONTHDAY=15");
    let after = t.tasks_of(&o).await;
    let july = by_nominal(&after, "2026-07-01");
    assert_eq!((s(&july["status"]), s(&july["closed_by"])), ("done".into(), "pia".into()));
    let august = by_nominal(&after, "2026-08-01");
    assert_eq!((s(&august["status"]), s(&august["due_date"])), ("open".into(), "2026-08-05".into()));
    let september = by_nominal(&after, "2026-09-01");
    assert_eq!(september["status"], "open");
    assert_eq!(september["assignee"], json!({"user": "alice"}));
    assert_eq!(by_nominal(&after, "2026-10-01")["status"], "in_progress");
    // Open, untouched tasks no longer wanted are cancelled by the system.
    assert_eq!(nominal_in(&after, "cancelled"), strings(&["2026-11-01", "2026-12-01"]));
    for x in after.iter().filter(|x| x["status"] == "cancelled") {
        assert_eq!(x["closed_by"], "system");
        assert_eq!(x["closed_at"], "2026-06-15T12:00:00Z");
        let actions = history_actions(&t, &format!("/api/v1/tasks/{}", id(x))).await;
        assert_eq!(actions, vec![("created".to_string(), "maria".into()), ("cancelled".to_string(), "maria".into())]);
    }
    // The new occurrences, today's included.
    assert_eq!(
        nominal_in(&after, "open"),
        strings(&[
            "2026-06-15",
            "2026-07-15",
            "2026-08-01",
            "2026-08-15",
            "2026-09-01",
            "2026-09-15",
            "2026-10-15",
            "2026-11-15",
            "2026-12-15"
        ])
    );
    for x in &tasks {
        assert!(after.iter().any(|y| y["id"] == x["id"]), "no task was deleted");
    }
    assert_eq!(generate(&t, &o).await, json!({"created": 0, "updated": 0, "cancelled": 0}));

    // Back to the 1st: the system-cancelled tasks reopen, the 15ths are cancelled.
    patch_ok(&t, &o, json!({"schedule": {"rrule": "FREQ=MONTHLY"}})).await;
    let back = t.tasks_of(&o).await;
    assert_eq!(by_nominal(&back, "2026-11-01")["id"], by_nominal(&tasks, "2026-11-01")["id"]);
    assert_eq!(by_nominal(&back, "2026-11-01")["status"], "open");
    assert_eq!(by_nominal(&back, "2026-11-01")["closed_by"], Value::Null);
    assert_eq!(
        nominal_in(&back, "cancelled"),
        strings(&["2026-06-15", "2026-07-15", "2026-08-15", "2026-09-15", "2026-10-15", "2026-11-15", "2026-12-15"])
    );
    assert_eq!(nominal_in(&back, "open"), strings(&["2026-08-01", "2026-09-01", "2026-11-01", "2026-12-01"]));

    // A new assignee reaches the untouched open tasks, not the reassigned one.
    patch_ok(&t, &o, json!({"assignee": {"role": "lift-team"}})).await;
    let last = t.tasks_of(&o).await;
    assert_eq!(by_nominal(&last, "2026-11-01")["assignee"], json!({"role": "lift-team"}));
    assert_eq!(by_nominal(&last, "2026-08-01")["assignee"], json!({"role": "crew"}), "rescheduled by hand");
    assert_eq!(by_nominal(&last, "2026-09-01")["assignee"], json!({"user": "alice"}));
    assert_eq!(by_nominal(&last, "2026-10-01")["assignee"], json!({"role": "crew"}), "in progress");

    // Deleting is refused now that a task was completed; nothing is removed.
    t.delete(&url(&o), &t.manager()).await.assert_problem(409, "has_tasks");
    assert_eq!(t.get(&url(&o), &t.viewer()).await.status, 200);
    assert_eq!(t.tasks_of(&o).await.len(), last.len());
}

#[actix_web::test]
async fn deleting_an_obligation_is_refused_once_a_task_was_completed() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let o = t.create_obligation(&c, one_off("2026-07-01")).await;
    let task = t.tasks_of(&o).await.remove(0);
    complete(&t, &task).await;
    let res = t.delete(&url(&o), &t.manager()).await;
    res.assert_problem(409, "has_tasks");
    assert_eq!(t.get(&url(&o), &t.viewer()).await.status, 200);
    let tasks = t.tasks_of(&o).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["status"], "done");

    // Also with the contract: it keeps its obligation, so it cannot be deleted either.
    t.delete(&format!("/api/v1/contracts/{}", id(&c)), &t.admin()).await.assert_problem(409, "has_obligations");
}

#[actix_web::test]
async fn renewal_extends_generation() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let o = t.create_obligation(&c, json!({})).await;
    assert_eq!(nominal_in(&t.tasks_of(&o).await, "open"), firsts((2026, 7), (2026, 12)));

    let renewed = contract_verb(&t, &c, "renew", json!({})).await;
    assert_eq!(renewed["end_date"], "2027-12-31");
    // Up to the 12-month horizon (15 June 2027), which the old end had cut short.
    assert_eq!(nominal_in(&t.tasks_of(&o).await, "open"), firsts((2026, 7), (2027, 6)));
    assert_eq!(generate(&t, &o).await, json!({"created": 0, "updated": 0, "cancelled": 0}));
}

#[actix_web::test]
async fn termination_cancels_the_open_tasks_after_the_effective_date() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let o = t.create_obligation(&c, json!({})).await;
    let tasks = t.tasks_of(&o).await;
    // November's task was moved by hand; it goes too, as it lies after the end.
    let res = t
        .patch(
            &format!("/api/v1/tasks/{}", id(&tasks[4])),
            &t.token("pia", &["planner"]),
            json!({"due_date": "2026-11-03"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);

    let terminated = contract_verb(&t, &c, "terminate", json!({"effective_date": "2026-09-30"})).await;
    assert_eq!(terminated["end_date"], "2026-09-30");
    let after = t.tasks_of(&o).await;
    assert_eq!(nominal_in(&after, "open"), firsts((2026, 7), (2026, 9)));
    assert_eq!(nominal_in(&after, "cancelled"), firsts((2026, 10), (2026, 12)));
    for x in after.iter().filter(|x| x["status"] == "cancelled") {
        assert_eq!(x["closed_by"], "system");
    }
    assert_eq!(generate(&t, &o).await, json!({"created": 0, "updated": 0, "cancelled": 0}));
    // Time passing adds nothing past the end.
    t.clock.set(at(2026, 9, 20));
    let report = t.run_scheduler().await;
    assert_eq!(report.tasks_created, 0, "{report:?}");
    assert_eq!(t.tasks_of(&o).await.len(), 6);
    // The open worklist no longer shows the cancelled ones.
    let open = t.all_tasks(&format!("obligation_id={}&status=open,in_progress", id(&o)), &t.viewer()).await;
    assert_eq!(open.len(), 3);
}

#[actix_web::test]
async fn the_scheduler_extends_a_horizon_when_it_reaches_a_new_occurrence() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active", "term_months": null})).await;
    let o = t.create_obligation(&c, json!({"horizon_months": 3})).await;
    let other = t.create_obligation(&c, json!({"schedule": {"rrule": "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1"}})).await;
    assert_eq!(nominal_in(&t.tasks_of(&o).await, "open"), firsts((2026, 7), (2026, 9)));
    assert_eq!(nominal_in(&t.tasks_of(&other).await, "open"), ["2027-03-01"]);

    // Both were generated today already.
    let report = t.run_scheduler().await;
    assert_eq!((report.obligations_generated, report.tasks_created, report.failures), (0, 0, 0), "{report:?}");

    // A month on, the monthly one's horizon has reached a new first of the month; the yearly
    // one has nothing new within its horizon and is left alone until it has.
    t.clock.set(at(2026, 7, 16));
    let report = t.run_scheduler().await;
    assert_eq!((report.obligations_generated, report.tasks_created, report.failures), (1, 1, 0), "{report:?}");
    let created_on = t.get(&url(&other), &t.viewer()).await.body["generated_on"].clone();
    assert_eq!(created_on, "2026-06-15");
    assert_eq!(nominal_in(&t.tasks_of(&o).await, "open"), firsts((2026, 7), (2026, 10)));
    let new_task = t.tasks_of(&o).await.pop().unwrap();
    assert_eq!(
        history_actions(&t, &format!("/api/v1/tasks/{}", id(&new_task))).await,
        vec![("created".to_string(), "system".to_string())]
    );
    assert_eq!(t.get(&url(&o), &t.viewer()).await.body["generated_on"], "2026-07-16");

    // A second run the same day does nothing.
    t.clock.set(at(2026, 7, 16) + chrono::Duration::hours(8));
    let report = t.run_scheduler().await;
    assert_eq!((report.obligations_generated, report.tasks_created), (0, 0), "{report:?}");

    // Weeks later: everything up to the new horizon.
    t.clock.set(at(2026, 9, 10));
    let report = t.run_scheduler().await;
    assert_eq!((report.obligations_generated, report.tasks_created), (1, 2), "{report:?}");
    assert_eq!(nominal_in(&t.tasks_of(&o).await, "open"), firsts((2026, 7), (2026, 12)));
    assert_eq!(nominal_in(&t.tasks_of(&other).await, "open"), ["2027-03-01"]);

    // The day the yearly one's twelve-month horizon reaches its next occurrence, it gets it.
    t.clock.set(at(2027, 3, 1));
    t.run_scheduler().await;
    assert_eq!(nominal_in(&t.tasks_of(&other).await, "open"), ["2027-03-01", "2028-03-01"]);
    assert_eq!(t.get(&url(&other), &t.viewer()).await.body["generated_on"], "2027-03-01");
}

#[actix_web::test]
async fn a_draft_contract_gets_tasks_when_activated() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({})).await;
    assert_eq!(c["status"], "draft");
    let o = t.create_obligation(&c, json!({})).await;
    assert!(t.tasks_of(&o).await.is_empty());
    let res = t.get(&format!("{}/preview?from=2026-07-01&to=2026-12-31", url(&o)), &t.viewer()).await;
    assert_eq!(res.body["occurrences"], json!([]), "nothing is planned for a contract not in force");

    contract_verb(&t, &c, "activate", json!({})).await;
    assert_eq!(nominal_in(&t.tasks_of(&o).await, "open"), firsts((2026, 7), (2026, 12)));
}

#[actix_web::test]
async fn two_scheduler_passes_at_once_generate_each_obligation_once() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active", "term_months": null})).await;
    let mut all = Vec::new();
    for i in 0..6 {
        all.push(t.create_obligation(&c, json!({"title": format!("Job {i}"), "horizon_months": 1})).await);
    }
    t.clock.set(at(2026, 7, 20));
    let (first, second) = futures_util::future::join(t.run_scheduler(), t.run_scheduler()).await;
    assert_eq!((first.failures, second.failures), (0, 0), "{first:?} {second:?}");
    assert_eq!(first.obligations_generated + second.obligations_generated, 6, "{first:?} {second:?}");
    assert_eq!(first.tasks_created + second.tasks_created, 6, "{first:?} {second:?}");
    for o in &all {
        assert_eq!(nominal_in(&t.tasks_of(o).await, "open"), strings(&["2026-07-01", "2026-08-01"]));
    }
}

/// On PostgreSQL the pass generates on two connections at once; on SQLite on one.
#[actix_rt::test]
async fn one_pass_generates_many_obligations_each_once_and_tries_a_broken_one_once() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active", "term_months": null})).await;
    let mut all = Vec::new();
    // More than two batches, so that both workers claim several.
    for i in 0..120 {
        all.push(t.create_obligation(&c, json!({"title": format!("Job {i}"), "horizon_months": 1})).await);
    }
    let broken = all[60].clone();
    t.set_stored_rrule(&broken, "NOT A RULE").await;

    t.clock.set(at(2026, 7, 20));
    let report = t.run_scheduler().await;
    assert_eq!((report.obligations_generated, report.tasks_created, report.failures), (119, 119, 1), "{report:?}");
    for o in all.iter().filter(|o| o["id"] != broken["id"]) {
        assert_eq!(nominal_in(&t.tasks_of(o).await, "open"), strings(&["2026-07-01", "2026-08-01"]));
    }
    assert_eq!(nominal_in(&t.tasks_of(&broken).await, "open"), strings(&["2026-07-01"]));
    let created = t.get("/api/v1/events?entity_type=task&limit=500", &t.viewer()).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "created" && e["occurred_at"] == "2026-07-20T09:00:00Z")
        .count();
    assert_eq!(created, 119, "one event per new task");

    // Each pass tries the broken one once, and once it is mended, generates it.
    let report = t.run_scheduler().await;
    assert_eq!((report.obligations_generated, report.failures), (0, 1), "{report:?}");
    t.set_stored_rrule(&broken, "FREQ=MONTHLY").await;
    let report = t.run_scheduler().await;
    assert_eq!((report.obligations_generated, report.tasks_created, report.failures), (1, 1, 0), "{report:?}");
    assert_eq!(nominal_in(&t.tasks_of(&broken).await, "open"), strings(&["2026-07-01", "2026-08-01"]));
}

#[actix_web::test]
async fn a_scheduler_outage_longer_than_the_horizon_loses_no_occurrence() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active", "term_months": null})).await;
    let o = t.create_obligation(&c, json!({"horizon_months": 3})).await;
    assert_eq!(nominal_in(&t.tasks_of(&o).await, "open"), firsts((2026, 7), (2026, 9)));

    // Five months without a pass: October and November are in the past by now, yet they come
    // as (overdue) tasks, together with the new horizon.
    t.clock.set(at(2026, 11, 20));
    let report = t.run_scheduler().await;
    assert_eq!((report.obligations_generated, report.failures), (1, 0), "{report:?}");
    assert_eq!(nominal_in(&t.tasks_of(&o).await, "open"), firsts((2026, 7), (2027, 2)));
    let overdue = t.all_tasks(&format!("obligation_id={}&overdue=true", id(&o)), &t.viewer()).await;
    assert_eq!(nominal_in(&overdue, "open"), firsts((2026, 7), (2026, 11)));
}

#[actix_web::test]
async fn a_one_off_obligation_dated_in_the_past_still_gets_its_task() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let o = t.create_obligation(&c, json!({"schedule": null, "due_date": "2026-03-01", "lead_days": 0})).await;
    let tasks = t.tasks_of(&o).await;
    assert_eq!(nominal_in(&tasks, "open"), ["2026-03-01"]);
    assert_eq!(tasks[0]["overdue"], true);
    assert_eq!(generate(&t, &o).await, json!({"created": 0, "updated": 0, "cancelled": 0}));
}

#[actix_web::test]
async fn a_change_to_a_rule_that_never_yields_a_day_is_refused_and_changes_nothing() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let o = t.create_obligation(&c, json!({})).await;
    let res = t
        .request("PATCH", &url(&o))
        .bearer(&t.manager())
        .header("If-Match", "\"1\"")
        .json(json!({"schedule": {"rrule": "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31"}}))
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), ["schedule.rrule"]);
    assert_eq!(t.get(&url(&o), &t.viewer()).await.body, o);
}

#[actix_web::test]
async fn generation_told_to_stop_writes_nothing_and_leaves_the_obligation_due() {
    use pactum::obligations::{generation, store::Due};
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    let o = t.create_obligation(&c, json!({"horizon_months": 1})).await;
    let before = t.tasks_of(&o).await.len();
    // Two months on the horizon has moved: the obligation is due again.
    t.clock.set(Utc.with_ymd_and_hms(2026, 8, 1, 6, 0, 0).unwrap());
    let run = |stop: bool| {
        let (db, now) = (t.state.db.clone(), t.clock.now());
        actix_web::web::block(move || {
            let ctx = pactum::events::Ctx { actor: "system", now };
            let stop = std::sync::atomic::AtomicBool::new(stop);
            generation::run(&db, &ctx, &Due::All, &Default::default(), &stop).map(|g| g.obligations)
        })
    };
    // A caller that has gone (its flag set) stops before expanding or writing anything.
    assert_eq!(run(true).await.unwrap().unwrap(), 0);
    assert_eq!(t.tasks_of(&o).await.len(), before);
    assert_eq!(t.get(&url(&o), &t.viewer()).await.body["generated_on"], o["generated_on"]);
    // What it left is still due: the next run brings it in line.
    assert_eq!(run(false).await.unwrap().unwrap(), 1);
    assert!(t.tasks_of(&o).await.len() > before);
    assert_eq!(t.get(&url(&o), &t.viewer()).await.body["generated_on"], "2026-08-01");
}
