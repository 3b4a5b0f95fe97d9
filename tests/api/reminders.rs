//! Contract owners (own or inherited from the nearest ancestor, filterable) and contract
//! reminders: the scheduler puts a `reminder` task on the owner's worklist and appends
//! `contract.notice_approaching` / `contract.expiring`, once per contract, reminder and deadline.

use crate::common::TestApp;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

fn at(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).unwrap()
}

fn url(c: &Value) -> String {
    format!("/api/v1/contracts/{}", c["id"].as_str().unwrap())
}

async fn get(t: &TestApp, c: &Value) -> Value {
    let res = t.get(&url(c), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body
}

/// The numbers of the contracts a list query finds.
async fn numbers(t: &TestApp, query: &str) -> Vec<String> {
    let res = t.get(&format!("/api/v1/contracts?{query}"), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let mut out: Vec<String> =
        res.body["items"].as_array().unwrap().iter().map(|c| c["number"].as_str().unwrap().to_string()).collect();
    out.sort();
    out
}

/// The reminder tasks of a contract, earliest due first.
async fn reminders_of(t: &TestApp, c: &Value) -> Vec<Value> {
    t.all_tasks(&format!("kind=reminder&contract_id={}", c["id"].as_str().unwrap()), &t.viewer()).await
}

/// The actions of a contract's history with their changes.
async fn history(t: &TestApp, c: &Value) -> Vec<(String, Value)> {
    let res = t.get(&format!("{}/history", url(c)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["changes"].clone()))
        .collect()
}

#[actix_web::test]
async fn owners_are_inherited_from_the_nearest_ancestor_and_filtered_by() {
    let t = TestApp::spawn().await;
    let frame = t.create_contract(json!({"number": "F", "owner": {"role": "contract-desk"}})).await;
    assert_eq!(frame["owner"], json!({"role": "contract-desk"}));
    assert_eq!(frame["effective_owner"], json!({"role": "contract-desk"}));
    assert_eq!(frame["owner_inherited"], false);
    let child = t.create_contract(json!({"number": "C", "parent_id": frame["id"]})).await;
    assert_eq!(child["owner"], Value::Null);
    assert_eq!(child["effective_owner"], json!({"role": "contract-desk"}));
    assert_eq!(child["owner_inherited"], true);
    let own = t.create_contract(json!({"number": "O", "parent_id": child["id"], "owner": {"user": "alice"}})).await;
    assert_eq!(own["owner_inherited"], false);
    let below = t.create_contract(json!({"number": "B", "parent_id": own["id"]})).await;
    assert_eq!(below["effective_owner"], json!({"user": "alice"}));
    let loose = t.create_contract(json!({"number": "L"})).await;
    assert_eq!((loose["effective_owner"].clone(), loose["owner_inherited"].clone()), (Value::Null, json!(false)));

    assert_eq!(numbers(&t, "owner_role=contract-desk").await, ["C", "F"]);
    assert_eq!(numbers(&t, "owner_user=alice").await, ["B", "O"]);
    assert_eq!(numbers(&t, "owner_user=contract-desk").await, Vec::<String>::new());
    assert_eq!(numbers(&t, "owner_role=contract-desk&root=true").await, ["F"]);

    // A new owner at the top reaches every contract that inherits it, not those with their own.
    let res = t.patch(&url(&frame), &t.manager(), json!({"owner": {"user": "bob"}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(get(&t, &child).await["effective_owner"], json!({"user": "bob"}));
    assert_eq!(get(&t, &below).await["effective_owner"], json!({"user": "alice"}));
    assert_eq!(numbers(&t, "owner_user=bob").await, ["C", "F"]);
    assert_eq!(numbers(&t, "owner_role=contract-desk").await, Vec::<String>::new());
    let changes = history(&t, &frame).await.last().unwrap().1.clone();
    assert_eq!(changes["owner.user"], json!({"old": null, "new": "bob"}));
    assert_eq!(changes["owner.role"], json!({"old": "contract-desk", "new": null}));

    // Moved under another parent, a contract without an owner takes that parent's.
    let res = t.patch(&url(&child), &t.manager(), json!({"parent_id": loose["id"]})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!((res.body["effective_owner"].clone(), res.body["owner_inherited"].clone()), (Value::Null, json!(false)));
    let res = t.patch(&url(&loose), &t.manager(), json!({"owner": {"role": "north"}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(get(&t, &child).await["effective_owner"], json!({"role": "north"}));
    // Removing an own owner falls back to the parent's, below too.
    let res = t.patch(&url(&own), &t.manager(), json!({"owner": null})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        (res.body["effective_owner"].clone(), res.body["owner_inherited"].clone()),
        (json!({"role": "north"}), json!(true))
    );
    assert_eq!(get(&t, &below).await["effective_owner"], json!({"role": "north"}));
    assert_eq!(numbers(&t, "owner_role=north").await, ["B", "C", "L", "O"]);
}

#[actix_web::test]
async fn bad_owners_and_reminders_are_refused_and_change_nothing() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"owner": {"user": "alice"}})).await;
    for bad in [
        json!({"owner": {"user": " "}}),
        json!({"owner": {"user": "x".repeat(201)}}),
        json!({"owner": {"user": "a", "role": "b"}}),
        json!({"owner": {"team": "a"}}),
        json!({"owner": "alice"}),
        json!({"reminders": [{"before": "notice_deadline", "days": 0}]}),
        json!({"reminders": [{"before": "notice_deadline", "days": 367}]}),
        json!({"reminders": [{"before": "start_date", "days": 3}]}),
        json!({"reminders": [{"before": "end_date", "days": 3, "at": "09:00"}]}),
        json!({"reminders": [{"before": "end_date", "days": 3}, {"before": "end_date", "days": 3}]}),
        json!({"reminders": (1..=11).map(|d| json!({"before": "end_date", "days": d})).collect::<Vec<_>>()}),
        json!({"reminders": {"before": "end_date", "days": 3}}),
    ] {
        let res = t.patch(&url(&c), &t.manager(), bad.clone()).await;
        assert!(matches!(res.status, 400 | 422), "{bad}: {}", res.text);
        assert_eq!(res.header("content-type").as_deref(), Some("application/problem+json"));
        let mut create = bad.clone();
        create["title"] = json!("x");
        create["contract_type"] = json!("maintenance");
        create["customer_ref"] = json!("CUST-1");
        create["start_date"] = json!("2026-01-01");
        let res = t.post("/api/v1/contracts", &t.manager(), create).await;
        assert!(matches!(res.status, 400 | 422), "{bad}: {}", res.text);
    }
    let res = t.patch(&url(&c), &t.manager(), json!({"reminders": [{"before": "notice_deadline", "days": 0}]})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), ["reminders[0].days"]);
    t.patch(&url(&c), &t.manager(), json!({"owner": {"user": ""}})).await.assert_problem(422, "validation_failed");
    let now = get(&t, &c).await;
    assert_eq!(
        (now["version"].clone(), now["owner"].clone(), now["reminders"].clone()),
        (json!(1), json!({"user": "alice"}), Value::Null)
    );
    let res = t.get("/api/v1/contracts", &t.viewer()).await;
    assert_eq!(res.body["items"].as_array().unwrap().len(), 1);
    // A viewer may not change them.
    t.patch(&url(&c), &t.viewer(), json!({"owner": null})).await.assert_problem(403, "forbidden");
}

#[actix_web::test]
async fn a_notice_reminder_fires_once_for_the_owner_and_moves_with_a_renewal() {
    let t = TestApp::spawn().await;
    let frame = t.create_contract(json!({"owner": {"role": "contract-desk"}, "term_months": 60})).await;
    // Ends 2026-12-31, renews by itself; last day to give notice 2026-09-30.
    let c = t
        .create_contract(json!({"number": "N-1", "status": "active", "parent_id": frame["id"],
            "renewal": {"auto_renew": true, "notice_period": "P3M"}}))
        .await;
    assert_eq!(c["notice_deadline"], "2026-09-30");
    let hook = t
        .post(
            "/api/v1/webhooks",
            &t.admin(),
            json!({"url": "https://crm.example.com/hook",
            "event_types": ["contract.notice_approaching", "contract.expiring"]}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.text);

    assert_eq!(t.run_scheduler().await.reminders_fired, 0);
    t.clock.set(at(2026, 7, 31));
    assert_eq!(t.run_scheduler().await.reminders_fired, 0);
    assert!(reminders_of(&t, &c).await.is_empty());

    // 60 days before the notice deadline: one task for the owner in force (inherited), one event.
    t.clock.set(at(2026, 8, 1));
    assert_eq!(t.run_scheduler().await.reminders_fired, 1);
    assert_eq!(t.run_scheduler().await.reminders_fired, 0);
    let tasks = reminders_of(&t, &c).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["kind"], "reminder");
    assert_eq!(tasks[0]["assignee"], json!({"role": "contract-desk"}));
    assert_eq!(tasks[0]["due_date"], "2026-09-30");
    assert_eq!(tasks[0]["status"], "open");
    assert!(tasks[0]["title"].as_str().unwrap().contains("N-1"), "{}", tasks[0]);
    let events: Vec<(String, Value)> =
        history(&t, &c).await.into_iter().filter(|(a, _)| a == "notice_approaching").collect();
    assert_eq!(events.len(), 1);
    let changes = &events[0].1;
    assert_eq!(changes["reminder.deadline"]["new"], "2026-09-30");
    assert_eq!(changes["reminder.days"]["new"], 60);
    assert_eq!(changes["reminder.before"]["new"], "notice_deadline");
    assert_eq!(changes["reminder.task_id"]["new"], tasks[0]["id"]);
    let feed = t.get("/api/v1/events?entity_type=contract&limit=500", &t.admin()).await;
    let types: Vec<&str> = feed.body["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(types.iter().filter(|a| **a == "notice_approaching").count(), 1);

    // On the owner's worklist and in their calendar feed.
    let desk = t.token("dora", &["contract-desk"]);
    let mine = t.all_tasks("assignee=me&kind=reminder", &desk).await;
    assert_eq!(mine.len(), 1);
    let ics = t.get("/api/v1/tasks.ics?assignee=me", &desk).await;
    assert_eq!(ics.status, 200);
    assert!(ics.text.contains("N-1"), "{}", ics.text);
    assert!(ics.text.contains("20260930"), "{}", ics.text);

    // The database itself refuses a second firing of the same contract, reminder and deadline.
    let (db, id) = (t.state.db.clone(), c["id"].as_str().unwrap().to_string());
    let again = actix_web::web::block(move || {
        db.write_blocking(|conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query(
                "INSERT INTO contract_reminders (contract_id, reminder, deadline, task_id, fired_at) \
                 VALUES ($1, 'notice_deadline-60d', '2026-09-30', 'another', '2026-08-01 10:00:00')",
            )
            .bind::<diesel::sql_types::Text, _>(&id)
            .execute(conn)
            .map_err(pactum::http::ApiError::from)
        })
    })
    .await
    .unwrap();
    assert!(again.is_err(), "a second firing was stored: {again:?}");

    // 14 days before: the second reminder, once, even with two passes at the same moment.
    t.clock.set(at(2026, 9, 16));
    let (a, b) = futures_util::future::join(t.run_scheduler(), t.run_scheduler()).await;
    assert_eq!(a.reminders_fired + b.reminders_fired, 1, "{a:?} {b:?}");
    assert_eq!(reminders_of(&t, &c).await.len(), 2);
    t.clock.set(at(2026, 10, 1));
    assert_eq!(t.run_scheduler().await.reminders_fired, 0);

    // The renewal moves the deadline a year on, and the reminders with it.
    t.clock.set(at(2027, 1, 1));
    let report = t.run_scheduler().await;
    assert_eq!((report.contracts_renewed, report.reminders_fired), (1, 0));
    assert_eq!(get(&t, &c).await["notice_deadline"], "2027-09-30");
    t.clock.set(at(2027, 7, 31));
    assert_eq!(t.run_scheduler().await.reminders_fired, 0);
    t.clock.set(at(2027, 8, 1));
    assert_eq!(t.run_scheduler().await.reminders_fired, 1);
    let tasks = reminders_of(&t, &c).await;
    assert_eq!(tasks.len(), 3);
    assert_eq!(tasks[2]["due_date"], "2027-09-30");
    // The owner changed meanwhile: the new reminder goes to the owner in force now.
    let res = t.patch(&url(&c), &t.manager(), json!({"owner": {"user": "olga"}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    t.clock.set(at(2027, 9, 16));
    assert_eq!(t.run_scheduler().await.reminders_fired, 1);
    let tasks = reminders_of(&t, &c).await;
    assert_eq!(tasks.len(), 4);
    assert_eq!(tasks[3]["assignee"], json!({"user": "olga"}));

    // A longer term (after one renewal) moves the deadline: the open reminders of the old one,
    // still ahead, are cancelled; the one of a deadline that passed stays, overdue.
    let res = t.patch(&url(&c), &t.manager(), json!({"term_months": 36})).await;
    assert_eq!((res.status, res.body["notice_deadline"].clone()), (200, json!("2029-09-30")), "{}", res.text);
    let statuses =
        |tasks: &[Value]| tasks.iter().map(|t| t["status"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(statuses(&reminders_of(&t, &c).await), ["open", "open", "cancelled", "cancelled"]);
    t.clock.set(at(2029, 8, 1));
    assert_eq!(t.run_scheduler().await.reminders_fired, 1);
    // Termination cancels the open reminder of the deadline that went away, and no more come.
    let key = uuid::Uuid::new_v4().to_string();
    let res = t
        .request("POST", &format!("{}/terminate", url(&c)))
        .bearer(&t.manager())
        .header("Idempotency-Key", &key)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(statuses(&reminders_of(&t, &c).await), ["open", "open", "cancelled", "cancelled", "cancelled"]);
    t.clock.set(at(2029, 9, 16));
    assert_eq!(t.run_scheduler().await.reminders_fired, 0);

    // A contract with reminder tasks is their record: it cannot be deleted.
    t.delete(&url(&c), &t.manager()).await.assert_problem(409, "has_tasks");
}

#[actix_web::test]
async fn reminders_after_downtime_term_changes_and_termination() {
    let t = TestApp::spawn().await;
    // Does not renew by itself: a reminder 30 days before its end (2026-12-31), to no owner.
    let ending = t.create_contract(json!({"number": "E", "status": "active"})).await;
    // Terminated before its reminders come.
    let terminated =
        t.create_contract(json!({"number": "T", "status": "active", "renewal": {"notice_period": "P3M"}})).await;
    let key = uuid::Uuid::new_v4().to_string();
    let res = t
        .request("POST", &format!("{}/terminate", url(&terminated)))
        .bearer(&t.manager())
        .header("Idempotency-Key", &key)
        .json(json!({"effective_date": "2026-12-31"}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    // A longer term moves the notice deadline (2026-09-30 → 2027-09-30) and its reminders.
    let longer = t
        .create_contract(json!({"number": "G", "status": "active",
            "renewal": {"auto_renew": true, "notice_period": "P3M"}}))
        .await;
    let res = t.patch(&url(&longer), &t.manager(), json!({"term_months": 24})).await;
    assert_eq!((res.status, res.body["notice_deadline"].clone()), (200, json!("2027-09-30")));
    // Reminders of its own, and one with none at all.
    let own = t
        .create_contract(json!({"number": "W", "status": "active", "owner": {"user": "wim"},
            "reminders": [{"before": "end_date", "days": 45}]}))
        .await;
    assert_eq!(own["reminders"], json!([{"before": "end_date", "days": 45}]));
    let silent = t.create_contract(json!({"number": "S", "status": "active", "reminders": []})).await;
    // Drafts are not in force: no reminders.
    let draft = t.create_contract(json!({"number": "D"})).await;

    // The service was down from before 17 November to 10 December: the reminders whose day
    // passed meanwhile fire on the first pass, as their deadlines have not passed.
    t.clock.set(at(2026, 12, 10));
    let report = t.run_scheduler().await;
    assert_eq!(report.reminders_fired, 2, "{report:?}");
    let got = reminders_of(&t, &ending).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0]["due_date"].clone(), got[0]["assignee"].clone()),
        (json!("2026-12-31"), json!({"role": "contract_manager"}))
    );
    assert_eq!(history(&t, &ending).await.iter().filter(|(a, _)| a == "expiring").count(), 1);
    let got = reminders_of(&t, &own).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["assignee"], json!({"user": "wim"}));
    let wim = t.token("wim", &[]);
    assert_eq!(t.all_tasks("assignee=me", &wim).await.len(), 1);
    for none in [&terminated, &longer, &silent, &draft] {
        assert!(reminders_of(&t, none).await.is_empty(), "{}", none["number"]);
    }
    assert_eq!(t.run_scheduler().await.reminders_fired, 0);
    // A change the same day: a contract written since the last pass is looked at again.
    let res = t.patch(&url(&silent), &t.manager(), json!({"reminders": null})).await;
    assert_eq!((res.status, res.body["reminders"].clone()), (200, Value::Null));
    assert_eq!(t.run_scheduler().await.reminders_fired, 1);
    assert_eq!(reminders_of(&t, &silent).await[0]["due_date"], "2026-12-31");
    assert_eq!(t.run_scheduler().await.reminders_fired, 0);

    // Past the deadline nothing fires any more.
    t.clock.set(at(2027, 1, 1));
    assert_eq!(t.run_scheduler().await.reminders_fired, 0);
    // The moved notice deadline's reminders come in their time.
    t.clock.set(at(2027, 8, 1));
    assert_eq!(t.run_scheduler().await.reminders_fired, 1);
    let got = reminders_of(&t, &longer).await;
    assert_eq!((got.len(), got[0]["due_date"].clone()), (1, json!("2027-09-30")));
    assert!(reminders_of(&t, &terminated).await.is_empty());
}
