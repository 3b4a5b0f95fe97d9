//! The worklist through the API: ordering and cursor pagination, every filter (with `assignee=me`
//! reaching the caller's user and roles), 400 for bad filters, and working on tasks: who may
//! act, the transitions, what completion records, hand edits, and the history.

use crate::common::{start_time, TestApp};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

fn task_url(task: &Value) -> String {
    format!("/api/v1/tasks/{}", id(task))
}

fn at(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).unwrap()
}

fn ids(tasks: &[Value]) -> Vec<String> {
    tasks.iter().map(|t| id(t).to_string()).collect()
}

/// The ids of these tasks, in this order.
fn these(tasks: &[&Value]) -> Vec<String> {
    tasks.iter().map(|t| id(t).to_string()).collect()
}

fn due_dates(tasks: &[Value]) -> Vec<String> {
    tasks.iter().map(|t| t["due_date"].as_str().unwrap().to_string()).collect()
}

/// A contract with two one-off obligations: a report for alice due 1 July, an inspection for
/// the role `crew` due 10 July. Returns (contract, alice's task, crew's task).
async fn two_tasks(t: &TestApp) -> (Value, Value, Value) {
    let c = t.create_contract(json!({"status": "active"})).await;
    let mine = t
        .create_obligation(
            &c,
            json!({"title": "Quarterly report", "kind": "report", "assignee": {"user": "alice"},
                   "schedule": null, "due_date": "2026-07-01"}),
        )
        .await;
    let crew = t
        .create_obligation(
            &c,
            json!({"title": "Safety inspection", "kind": "inspection", "assignee": {"role": "crew"},
                   "schedule": null, "due_date": "2026-07-10"}),
        )
        .await;
    let a = t.tasks_of(&mine).await.remove(0);
    let b = t.tasks_of(&crew).await.remove(0);
    (c, a, b)
}

async fn act(t: &TestApp, task: &Value, verb: &str, token: &str, body: Value) -> crate::common::Res {
    t.post(&format!("{}/{verb}", task_url(task)), token, body).await
}

async fn history(t: &TestApp, task: &Value) -> Vec<Value> {
    let res = t.get(&format!("{}/history", task_url(task)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["items"].as_array().unwrap().clone()
}

#[actix_web::test]
async fn the_worklist_is_ordered_by_due_date_and_paginated_by_cursor() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"status": "active"})).await;
    for serial in ["A", "B", "C"] {
        let i = t.create_installation(serial, json!({})).await;
        assert_eq!(t.cover(&c, json!([{"installation_id": i["id"]}])).await.status, 201);
    }
    // 3 installations × 6 months, and the 20ths from 20 June due 19 days earlier (on the 1st):
    // many tasks share a due date.
    t.create_obligation(&c, json!({"scope": "installations"})).await;
    t.create_obligation(&c, json!({"schedule": {"rrule": "FREQ=MONTHLY;BYMONTHDAY=20"}, "lead_days": 19})).await;
    let all = t.all_tasks("", &t.viewer()).await;
    assert_eq!(all.len(), 18 + 7);
    let mut sorted: Vec<(String, String)> =
        all.iter().map(|x| (x["due_date"].as_str().unwrap().to_string(), id(x).to_string())).collect();
    sorted.sort();
    let listed: Vec<(String, String)> =
        all.iter().map(|x| (x["due_date"].as_str().unwrap().to_string(), id(x).to_string())).collect();
    assert_eq!(listed, sorted, "ordered by due date, then id");
    assert_eq!(all[0]["due_date"], "2026-06-01");
    assert_eq!(due_dates(&all).iter().filter(|d| *d == "2026-07-01").count(), 4);
    assert_eq!(all.last().unwrap()["due_date"], "2026-12-01");

    // Page by page, with small pages that split the ties, gives the same list.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            None => "/api/v1/tasks?limit=5".to_string(),
            Some(c) => format!("/api/v1/tasks?limit=5&cursor={c}"),
        };
        let res = t.get(&url, &t.viewer()).await;
        assert_eq!(res.status, 200, "{}", res.text);
        let items = res.body["items"].as_array().unwrap();
        assert!(items.len() <= 5);
        paged.extend(items.iter().cloned());
        pages += 1;
        match res.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(ids(&paged), ids(&all));
    // The default page size is 50.
    let res = t.get("/api/v1/tasks", &t.viewer()).await;
    assert_eq!(res.body["items"].as_array().unwrap().len(), 25);
    assert_eq!(res.body["next_cursor"], Value::Null);

    for bad in ["limit=0", "limit=501", "limit=ten", "cursor=%%%", "cursor=bm90LWEtcG9zaXRpb24"] {
        let res = t.get(&format!("/api/v1/tasks?{bad}"), &t.viewer()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.text);
        assert_eq!(res.header("content-type").as_deref(), Some("application/problem+json"));
    }
    t.request("GET", "/api/v1/tasks").send().await.assert_problem(401, "unauthorized");
}

#[actix_web::test]
async fn assignee_me_shows_my_tasks_and_my_roles_tasks() {
    let t = TestApp::spawn().await;
    let (_, mine, crews) = two_tasks(&t).await;

    let alice_in_crew = t.token("alice", &["crew"]);
    assert_eq!(ids(&t.all_tasks("assignee=me", &alice_in_crew).await), these(&[&mine, &crews]));
    let alice = t.token("alice", &[]);
    assert_eq!(ids(&t.all_tasks("assignee=me", &alice).await), these(&[&mine]));
    let carol = t.token("carol", &["crew", "viewer"]);
    assert_eq!(ids(&t.all_tasks("assignee=me", &carol).await), these(&[&crews]));
    let bob = t.token("bob", &["viewer"]);
    assert!(t.all_tasks("assignee=me", &bob).await.is_empty());
    // Someone called like the role is not the role.
    assert!(t.all_tasks("assignee=me", &t.token("crew", &[])).await.is_empty());
    // Without the filter, everyone may read the whole worklist.
    assert_eq!(t.all_tasks("", &bob).await.len(), 2);

    // Explicit assignee filters.
    assert_eq!(ids(&t.all_tasks("assignee_user=alice", &bob).await), these(&[&mine]));
    assert_eq!(ids(&t.all_tasks("assignee_role=crew", &bob).await), these(&[&crews]));
    assert!(t.all_tasks("assignee_user=crew", &bob).await.is_empty());
    assert!(t.all_tasks("assignee_role=alice", &bob).await.is_empty());
    assert_eq!(ids(&t.all_tasks("assignee=me&assignee_role=crew", &alice_in_crew).await), these(&[&crews]));

    let res = t.get("/api/v1/tasks?assignee=alice", &bob).await;
    res.assert_problem(400, "invalid_query");
    assert!(res.body["detail"].as_str().unwrap().contains("assignee_user"), "{}", res.text);
}

#[actix_web::test]
async fn the_worklist_filters_by_status_kind_dates_and_links() {
    let t = TestApp::spawn().await;
    let (c, mine, crews) = two_tasks(&t).await;
    let other = t.create_contract(json!({"status": "active"})).await;
    let lift = t.create_installation("LIFT-9", json!({})).await;
    assert_eq!(t.cover(&other, json!([{"installation_id": lift["id"]}])).await.status, 201);
    let o = t
        .create_obligation(
            &other,
            json!({"scope": "installations", "schedule": null, "due_date": "2026-07-05", "assignee": {"user": "dave"}}),
        )
        .await;
    let lift_task = t.tasks_of(&o).await.remove(0);
    let v = t.viewer();
    let planner = t.token("pia", &["planner"]);

    // Status: one or a comma list.
    assert_eq!(act(&t, &crews, "start", &planner, json!({})).await.status, 200);
    assert_eq!(act(&t, &lift_task, "skip", &planner, json!({"note": "lift replaced"})).await.status, 200);
    assert_eq!(ids(&t.all_tasks("status=open", &v).await), these(&[&mine]));
    assert_eq!(ids(&t.all_tasks("status=in_progress", &v).await), these(&[&crews]));
    assert_eq!(ids(&t.all_tasks("status=open,in_progress", &v).await), these(&[&mine, &crews]));
    assert_eq!(ids(&t.all_tasks("status=skipped,done", &v).await), these(&[&lift_task]));
    assert!(t.all_tasks("status=cancelled", &v).await.is_empty());

    // Kind.
    assert_eq!(t.all_tasks("kind=planned", &v).await.len(), 3);
    assert!(t.all_tasks("kind=service_action", &v).await.is_empty());
    assert!(t.all_tasks("kind=workflow_step", &v).await.is_empty());

    // Due dates: before and after are strict.
    assert_eq!(ids(&t.all_tasks("due_before=2026-07-05", &v).await), these(&[&mine]));
    assert_eq!(ids(&t.all_tasks("due_after=2026-07-05", &v).await), these(&[&crews]));
    assert_eq!(ids(&t.all_tasks("due_after=2026-07-01&due_before=2026-07-10", &v).await), these(&[&lift_task]));
    assert_eq!(t.all_tasks("due_after=2026-06-30&due_before=2026-07-11", &v).await.len(), 3);

    // Links.
    assert_eq!(ids(&t.all_tasks(&format!("contract_id={}", id(&c)), &v).await), these(&[&mine, &crews]));
    assert_eq!(ids(&t.all_tasks(&format!("contract_id={}", id(&other)), &v).await), these(&[&lift_task]));
    assert_eq!(ids(&t.all_tasks(&format!("installation_id={}", id(&lift)), &v).await), these(&[&lift_task]));
    assert_eq!(
        ids(&t.all_tasks(&format!("obligation_id={}", mine["obligation_id"].as_str().unwrap()), &v).await),
        these(&[&mine])
    );
    assert!(t.all_tasks("contract_id=0190a1b2-0000-7000-8000-000000000000", &v).await.is_empty());
    // Filters combine.
    assert_eq!(
        ids(&t.all_tasks(&format!("contract_id={}&status=in_progress&kind=planned", id(&c)), &v).await),
        these(&[&crews])
    );

    for bad in [
        "status=finished",
        "status=open,,done",
        "kind=chore",
        "due_before=2026-13-01",
        "due_after=tomorrow",
        "overdue=maybe",
        "assignee=everyone",
        "colour=red",
        "status=open&status=done",
    ] {
        let res = t.get(&format!("/api/v1/tasks?{bad}"), &v).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.text);
        assert_eq!(res.header("content-type").as_deref(), Some("application/problem+json"), "{bad}");
    }
    t.get("/api/v1/tasks?colour=red", &v).await.assert_problem(400, "unknown_parameter");
    t.get("/api/v1/tasks?kind=chore", &v).await.assert_problem(400, "invalid_query");
}

#[actix_web::test]
async fn overdue_follows_the_clock() {
    let t = TestApp::spawn().await;
    let (_, mine, crews) = two_tasks(&t).await;
    let v = t.viewer();
    assert!(t.all_tasks("overdue=true", &v).await.is_empty());
    assert_eq!(t.all_tasks("overdue=false", &v).await.len(), 2);

    t.clock.set(at(2026, 7, 5));
    let late = t.all_tasks("overdue=true", &v).await;
    assert_eq!(ids(&late), these(&[&mine]));
    assert_eq!(late[0]["overdue"], true);
    assert_eq!(ids(&t.all_tasks("overdue=false", &v).await), these(&[&crews]));
    let res = t.get(&task_url(&mine), &v).await;
    assert_eq!(res.body["overdue"], true);
    // Due today is not overdue yet.
    t.clock.set(at(2026, 7, 10));
    let res = t.get(&task_url(&crews), &v).await;
    assert_eq!(res.body["overdue"], false);
    assert_eq!(ids(&t.all_tasks("overdue=true", &v).await), these(&[&mine]));

    // In progress still counts; done does not.
    t.clock.set(at(2026, 7, 11));
    let crew_member = t.token("carol", &["crew"]);
    assert_eq!(act(&t, &crews, "start", &crew_member, json!({})).await.status, 200);
    assert_eq!(ids(&t.all_tasks("overdue=true", &v).await), these(&[&mine, &crews]));
    let res = act(&t, &mine, "complete", &t.token("alice", &[]), json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["overdue"], false);
    assert_eq!(ids(&t.all_tasks("overdue=true", &v).await), these(&[&crews]));
    assert_eq!(ids(&t.all_tasks("overdue=false", &v).await), these(&[&mine]));
    assert_eq!(ids(&t.all_tasks("overdue=true&assignee=me", &crew_member).await), these(&[&crews]));
}

#[actix_web::test]
async fn only_the_assignee_a_role_holder_a_planner_or_an_admin_may_act() {
    let t = TestApp::spawn().await;
    let (_, mine, crews) = two_tasks(&t).await;
    let outsiders = [
        t.token("bob", &[]),
        t.viewer(),
        t.manager(),
        t.token("erp", &["integration"]),
        t.token("carol", &["crew"]), // crew, but alice's task is alice's
    ];
    for token in &outsiders {
        for verb in ["start", "complete", "skip", "cancel"] {
            act(&t, &mine, verb, token, json!({})).await.assert_problem(403, "forbidden");
        }
        t.patch(&task_url(&mine), token, json!({"notes": "x"})).await.assert_problem(403, "forbidden");
    }
    for verb in ["start", "complete"] {
        act(&t, &crews, verb, &t.token("alice", &[]), json!({})).await.assert_problem(403, "forbidden");
    }
    t.request("POST", &format!("{}/start", task_url(&mine))).send().await.assert_problem(401, "unauthorized");
    // Nothing changed.
    let res = t.get(&task_url(&mine), &t.viewer()).await;
    assert_eq!((res.body["status"].clone(), res.body["version"].clone()), (json!("open"), json!(1)));

    // The assignee.
    let res = act(&t, &mine, "start", &t.token("alice", &[]), json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "in_progress");
    // A holder of the role.
    let res = act(&t, &crews, "start", &t.token("carol", &["crew"]), json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    // A planner and an admin may act on anyone's task.
    let res = t.patch(&task_url(&mine), &t.token("pia", &["planner"]), json!({"notes": "call first"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = act(&t, &crews, "complete", &t.admin(), json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["closed_by"], "admin-user");
    let res = act(&t, &mine, "complete", &t.token("pia", &["planner"]), json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["closed_by"], "pia");

    t.get("/api/v1/tasks/0190a1b2-0000-7000-8000-000000000000", &t.viewer()).await.assert_problem(404, "not_found");
    act(&t, &json!({"id": "0190a1b2-0000-7000-8000-000000000000"}), "start", &t.admin(), json!({}))
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn completing_records_who_when_and_the_result_and_closed_tasks_do_not_change() {
    let t = TestApp::spawn().await;
    let (_, mine, _) = two_tasks(&t).await;
    let alice = t.token("alice", &[]);

    let got = t.get(&task_url(&mine), &t.viewer()).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(got.body, mine);
    assert_eq!(mine["started_at"], Value::Null);
    assert_eq!(mine["closed_at"], Value::Null);

    t.clock.set(start_time() + chrono::Duration::hours(1));
    // No body at all is fine for a verb.
    let res = t.request("POST", &format!("{}/start", task_url(&mine))).bearer(&alice).send().await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "in_progress");
    assert_eq!(res.body["started_at"], "2026-06-15T11:00:00Z");
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));

    // A stale If-Match is refused.
    let res = t
        .request("POST", &format!("{}/complete", task_url(&mine)))
        .bearer(&alice)
        .header("If-Match", "\"1\"")
        .json(json!({"note": "x"}))
        .await;
    res.assert_problem(412, "precondition_failed");
    // A note that is not a string is a 422.
    let res = act(&t, &mine, "complete", &alice, json!({"note": 5})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), ["note"]);
    let res = act(&t, &mine, "complete", &alice, json!({"outcome": "ok"})).await;
    res.assert_problem(422, "validation_failed");

    t.clock.set(Utc.with_ymd_and_hms(2026, 6, 16, 9, 30, 0).unwrap());
    let res = t
        .request("POST", &format!("{}/complete", task_url(&mine)))
        .bearer(&alice)
        .header("If-Match", "\"2\"")
        .json(json!({"note": "Report sent to the customer"}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let done = res.body.clone();
    assert_eq!(res.header("etag").as_deref(), Some("\"3\""));
    assert_eq!(done["status"], "done");
    assert_eq!(done["closed_by"], "alice");
    assert_eq!(done["closed_at"], "2026-06-16T09:30:00Z");
    assert_eq!(done["result_note"], "Report sent to the customer");
    assert_eq!(done["started_at"], "2026-06-15T11:00:00Z");
    assert_eq!(done["updated_at"], "2026-06-16T09:30:00Z");
    assert_eq!(done["version"], 3);
    assert_eq!(t.get(&task_url(&mine), &t.viewer()).await.body, done);

    // A closed task stays closed, even for an admin.
    for verb in ["start", "complete", "skip", "cancel"] {
        act(&t, &mine, verb, &alice, json!({})).await.assert_problem(409, "invalid_transition");
        act(&t, &mine, verb, &t.admin(), json!({})).await.assert_problem(409, "invalid_transition");
    }
    for patch in
        [json!({"notes": "late remark"}), json!({"due_date": "2026-08-01"}), json!({"assignee": {"user": "bob"}})]
    {
        t.patch(&task_url(&mine), &alice, patch).await.assert_problem(409, "task_closed");
    }
    assert_eq!(t.get(&task_url(&mine), &t.viewer()).await.body, done);

    // The history: generated with the obligation, started and completed by alice.
    let events = history(&t, &mine).await;
    let summary: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["actor"].as_str().unwrap().to_string(),
                e["occurred_at"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("created".to_string(), "maria".to_string(), "2026-06-15T10:00:00Z".to_string()),
            ("started".to_string(), "alice".to_string(), "2026-06-15T11:00:00Z".to_string()),
            ("completed".to_string(), "alice".to_string(), "2026-06-16T09:30:00Z".to_string()),
        ]
    );
    assert!(events.iter().all(|e| e["entity_type"] == "task" && e["entity_id"] == mine["id"]));
    let completed = &events[2]["changes"];
    assert_eq!(completed["status"]["old"], "in_progress", "{completed}");
    assert_eq!(completed["status"]["new"], "done");
    assert_eq!(completed["result_note"]["new"], "Report sent to the customer");
    assert_eq!(completed["closed_by"]["new"], "alice");
    t.get("/api/v1/tasks/0190a1b2-0000-7000-8000-000000000000/history", &t.viewer())
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn skipping_and_cancelling_record_the_reason() {
    let t = TestApp::spawn().await;
    let (_, mine, crews) = two_tasks(&t).await;
    let res = act(&t, &mine, "skip", &t.token("alice", &[]), json!({"note": "customer on holiday"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "skipped");
    assert_eq!(res.body["result_note"], "customer on holiday");
    assert_eq!(res.body["closed_by"], "alice");
    assert_eq!(res.body["closed_at"], "2026-06-15T10:00:00Z");
    let res = act(&t, &crews, "cancel", &t.token("carol", &["crew"]), json!({"note": "duplicate"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "cancelled");
    assert_eq!(res.body["result_note"], "duplicate");
    assert_eq!(res.body["closed_by"], "carol");
    act(&t, &crews, "skip", &t.admin(), json!({})).await.assert_problem(409, "invalid_transition");
    let actions: Vec<String> =
        history(&t, &crews).await.iter().map(|e| e["action"].as_str().unwrap().to_string()).collect();
    assert_eq!(actions, ["created", "cancelled"]);
    // An overlong note is refused.
    let (_, other, _) = two_tasks(&t).await;
    let res = act(&t, &other, "skip", &t.admin(), json!({"note": "x".repeat(10_001)})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), ["note"]);
}

#[actix_web::test]
async fn reassigning_rescheduling_and_notes_by_hand() {
    let t = TestApp::spawn().await;
    let (_, mine, _) = two_tasks(&t).await;
    let alice = t.token("alice", &[]);

    // Notes do not make a task hand-edited for generation.
    let res = t.patch(&task_url(&mine), &alice, json!({"notes": "Ask for the Q2 figures"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["notes"], "Ask for the Q2 figures");
    assert_eq!((res.body["rescheduled"].clone(), res.body["reassigned"].clone()), (json!(false), json!(false)));
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));

    // Reschedule.
    let res = t
        .request("PATCH", &task_url(&mine))
        .bearer(&alice)
        .header("If-Match", "\"2\"")
        .json(json!({"due_date": "2026-07-03"}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["due_date"], "2026-07-03");
    assert_eq!(res.body["nominal_date"], "2026-07-01");
    assert_eq!(res.body["rescheduled"], true);
    assert_eq!(res.body["reassigned"], false);
    assert_eq!(res.body["notes"], "Ask for the Q2 figures");
    let res = t
        .request("PATCH", &task_url(&mine))
        .bearer(&alice)
        .header("If-Match", "\"2\"")
        .json(json!({"notes": "stale"}))
        .await;
    res.assert_problem(412, "precondition_failed");

    // Bad values change nothing.
    for (patch, field) in [
        (json!({"due_date": "2026-02-30"}), "due_date"),
        (json!({"due_date": null}), "due_date"),
        (json!({"assignee": {"user": ""}}), "assignee"),
        (json!({"assignee": null}), "assignee"),
        (json!({"notes": "x".repeat(10_001)}), "notes"),
        (json!({"status": "done"}), "status"),
    ] {
        let res = t.patch(&task_url(&mine), &alice, patch.clone()).await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), [field], "{patch}: {}", res.text);
    }
    assert_eq!(t.get(&task_url(&mine), &t.viewer()).await.body["version"], 3);

    // Reassign to bob: now bob may act and alice may not.
    let res = t.patch(&task_url(&mine), &alice, json!({"assignee": {"user": "bob"}, "notes": null})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["assignee"], json!({"user": "bob"}));
    assert_eq!(res.body["reassigned"], true);
    assert_eq!(res.body["rescheduled"], true);
    assert_eq!(res.body["notes"], Value::Null);
    act(&t, &res.body, "start", &alice, json!({})).await.assert_problem(403, "forbidden");
    assert!(t.all_tasks("assignee=me", &alice).await.is_empty());
    assert_eq!(ids(&t.all_tasks("assignee=me", &t.token("bob", &[])).await), these(&[&mine]));
    let res = act(&t, &mine, "start", &t.token("bob", &[]), json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    // In progress may still be edited; the change to a role is a reassignment too.
    let res = t.patch(&task_url(&mine), &t.token("bob", &[]), json!({"assignee": {"role": "back-office"}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["assignee"], json!({"role": "back-office"}));
    assert_eq!(res.body["status"], "in_progress");

    let actions: Vec<(String, String)> = history(&t, &mine)
        .await
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["actor"].as_str().unwrap().to_string()))
        .collect();
    let pairs = |v: &[(&str, &str)]| v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
    assert_eq!(
        actions,
        pairs(&[
            ("created", "maria"),
            ("updated", "alice"),
            ("updated", "alice"),
            ("updated", "alice"),
            ("started", "bob"),
            ("updated", "bob")
        ])
    );

    // Hand edits survive a change of the obligation.
    let res = t
        .patch(
            &format!("/api/v1/obligations/{}", mine["obligation_id"].as_str().unwrap()),
            &t.manager(),
            json!({"due_date": "2026-07-02"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let now = t.get(&task_url(&mine), &t.viewer()).await.body;
    assert_eq!(now["status"], "in_progress");
    assert_eq!(now["due_date"], "2026-07-03");
    assert_eq!(now["assignee"], json!({"role": "back-office"}));
}
