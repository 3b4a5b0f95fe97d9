//! Service calls: entitlement through coverage (direct, through a parent installation, on the
//! edges of the coverage period, on contracts no longer in force), service levels (own,
//! inherited, default, business hours), the lifecycle with its SLA clocks, breach and risk
//! filters on a moving clock, service actions in the worklist, and the lists.

use crate::common::{start_time, TestApp};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A 24/7 service level: critical calls get a response in 2 and a fix in 8 hours.
fn gold() -> Value {
    json!({
        "name": "Gold",
        "low": {"response_hours": 24, "resolution_hours": 72},
        "normal": {"response_hours": 8, "resolution_hours": 40},
        "high": {"response_hours": 4, "resolution_hours": 16},
        "critical": {"response_hours": 2, "resolution_hours": 8}
    })
}

/// Office hours in Amsterdam, Monday to Friday 08:00-17:00.
fn office_hours() -> Value {
    let mut level = gold();
    level["name"] = json!("Office");
    level["business_hours"] = json!({
        "time_zone": "Europe/Amsterdam",
        "windows": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "17:00"}],
        "holidays": ["2026-12-25"]
    });
    level
}

fn agent(t: &TestApp) -> String {
    t.token("sam", &["service_agent"])
}

/// An active contract (from 1 January 2026, a year) covering a new installation; returns both.
async fn covered(t: &TestApp, serial: &str, contract_fields: Value) -> (Value, Value) {
    let mut fields = json!({"status": "active", "service_level": gold()});
    for (k, v) in contract_fields.as_object().unwrap() {
        fields[k] = v.clone();
    }
    let contract = t.create_contract(fields).await;
    let installation = t.create_installation(serial, json!({})).await;
    let res = t.cover(&contract, json!([{"installation_id": installation["id"]}])).await;
    assert_eq!(res.status, 201, "{}", res.text);
    (contract, installation)
}

async fn register(t: &TestApp, body: Value) -> Value {
    let res = t.post("/api/v1/service-calls", &agent(t), body).await;
    assert_eq!(res.status, 201, "register: {}", res.text);
    res.body
}

async fn step(t: &TestApp, call: &Value, verb: &str, body: Option<Value>) -> crate::common::Res {
    let url = format!("/api/v1/service-calls/{}/{verb}", id(call));
    match body {
        Some(b) => t.post(&url, &agent(t), b).await,
        None => t.request("POST", &url).bearer(&agent(t)).send().await,
    }
}

/// The numbers of the calls a list answers.
async fn numbers(t: &TestApp, query: &str) -> Vec<String> {
    let res = t.get(&format!("/api/v1/service-calls?{query}"), &t.viewer()).await;
    assert_eq!(res.status, 200, "{query}: {}", res.text);
    res.body["items"].as_array().unwrap().iter().map(|c| c["number"].as_str().unwrap().to_string()).collect()
}

#[actix_rt::test]
async fn a_covered_installation_gets_the_contracts_service_level_and_deadlines() {
    let t = TestApp::spawn().await;
    let (contract, installation) = covered(&t, "LIFT-1", json!({})).await;
    let res = t
        .post(
            "/api/v1/service-calls",
            &agent(&t),
            json!({
                "serial_number": "LIFT-1",
                "priority": "critical",
                "description": "Lift stuck between floors 3 and 4\nNobody inside.",
                "reporter": {"name": "Jan", "phone": "+31 20 123 4567"},
                "channel": "phone",
                "external_ref": "CRM-77"
            }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let call = &res.body;
    assert_eq!(res.header("location").unwrap(), format!("/api/v1/service-calls/{}", id(call)));
    assert_eq!(res.header("etag").unwrap(), "\"1\"");
    assert_eq!(call["number"], "SC-2026-000001");
    assert_eq!(call["installation_id"], installation["id"]);
    assert_eq!(call["customer_ref"], "CUST-1");
    assert_eq!(call["entitled"], true);
    assert_eq!(call["contract_id"], contract["id"]);
    assert_eq!(call["service_level"]["name"], "Gold");
    assert_eq!(call["service_level_contract_id"], contract["id"]);
    assert_eq!(call["status"], "new");
    assert_eq!(call["title"], "Lift stuck between floors 3 and 4");
    assert_eq!(call["reporter"]["name"], "Jan");
    assert_eq!(call["reported_at"], "2026-06-15T10:00:00Z");
    assert_eq!(call["respond_by"], "2026-06-15T12:00:00Z");
    assert_eq!(call["resolve_by"], "2026-06-15T18:00:00Z");
    assert_eq!((call["response_breached"].as_bool(), call["at_risk"].as_bool()), (Some(false), Some(false)));

    let got = t.get(&format!("/api/v1/service-calls/{}", id(call)), &t.viewer()).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("etag").unwrap(), "\"1\"");
    assert_eq!(got.body, *call);
    let history = t.get(&format!("/api/v1/service-calls/{}/history", id(call)), &t.viewer()).await;
    assert_eq!(history.status, 200);
    assert_eq!(history.body["items"][0]["action"], "created");

    // The installation's service history shows it; the contract's level in force is its own.
    let res = t.get(&format!("/api/v1/installations/{}/service-calls", id(&installation)), &t.viewer()).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["items"][0]["id"], call["id"]);
    let res = t.get(&format!("/api/v1/contracts/{}/service-level", id(&contract)), &t.viewer()).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["inherited"], false);
    assert_eq!(res.body["defined_by"], contract["id"]);
    assert_eq!(res.body["service_level"]["name"], "Gold");
    assert_eq!(res.body["service_level"]["critical"]["response_hours"].as_f64(), Some(2.0));
    assert_eq!(res.body["service_level"]["business_hours"], Value::Null);
}

#[actix_rt::test]
async fn an_uncovered_installation_is_billable_without_deadlines() {
    let t = TestApp::spawn().await;
    let installation = t.create_installation("BOILER-1", json!({})).await;
    let call = register(&t, json!({"installation_id": installation["id"], "description": "Leaking"})).await;
    assert_eq!(call["entitled"], false);
    assert_eq!(call["contract_id"], Value::Null);
    assert_eq!(call["service_level"], Value::Null);
    assert_eq!(call["priority"], "normal");
    assert_eq!(call["channel"], "other");
    assert_eq!((call["respond_by"].clone(), call["resolve_by"].clone()), (Value::Null, Value::Null));
    // No deadline is never breached, however late.
    t.clock.set(start_time() + Duration::days(400));
    let got = t.get(&format!("/api/v1/service-calls/{}", id(&call)), &t.viewer()).await;
    assert_eq!(
        (got.body["response_breached"].clone(), got.body["resolution_breached"].clone()),
        (json!(false), json!(false))
    );
    assert_eq!(numbers(&t, "breached=true").await, Vec::<String>::new());
    assert_eq!(numbers(&t, "entitled=false").await, vec!["SC-2026-000001"]);
}

#[actix_rt::test]
async fn a_configured_default_level_gives_uncovered_calls_deadlines() {
    let t = TestApp::spawn_with(|s| {
        s.default_service_level = Some(serde_json::from_value(gold()).unwrap());
    })
    .await;
    let installation = t.create_installation("BOILER-1", json!({})).await;
    let call =
        register(&t, json!({"installation_id": installation["id"], "description": "Leaking", "priority": "high"}))
            .await;
    assert_eq!(call["entitled"], false);
    assert_eq!(call["service_level"]["name"], "Gold");
    assert_eq!(call["service_level_contract_id"], Value::Null);
    assert_eq!(call["respond_by"], "2026-06-15T14:00:00Z");
    // A covered installation whose contract has no level of its own gets the default too.
    let (contract, _) = covered(&t, "LIFT-1", json!({"service_level": null})).await;
    let call = register(&t, json!({"serial_number": "LIFT-1", "description": "Noise", "priority": "high"})).await;
    assert_eq!((call["entitled"].clone(), call["contract_id"].clone()), (json!(true), contract["id"].clone()));
    assert_eq!(call["service_level"]["name"], "Gold");
    assert_eq!(call["service_level_contract_id"], Value::Null);
}

#[actix_rt::test]
async fn a_component_is_entitled_through_its_parent_installation() {
    let t = TestApp::spawn().await;
    let (contract, machine) = covered(&t, "PRESS-1", json!({})).await;
    let motor = t.create_installation("MOTOR-1", json!({"parent_id": machine["id"]})).await;
    let call = register(&t, json!({"installation_id": motor["id"], "description": "Motor overheats"})).await;
    assert_eq!(call["entitled"], true);
    assert_eq!(call["contract_id"], contract["id"]);
    assert_eq!(call["installation_id"], motor["id"]);
    assert_eq!(call["respond_by"], "2026-06-15T18:00:00Z");
}

#[actix_rt::test]
async fn contracts_not_in_force_do_not_entitle() {
    let t = TestApp::spawn().await;
    // Ended on 31 December 2025.
    covered(&t, "OLD-1", json!({"start_date": "2025-01-01"})).await;
    let call = register(&t, json!({"serial_number": "OLD-1", "description": "Broken"})).await;
    assert_eq!((call["entitled"].clone(), call["service_level"].clone()), (json!(false), Value::Null));
    // Suspended.
    let (contract, _) = covered(&t, "SUS-1", json!({})).await;
    let res = t.post(&format!("/api/v1/contracts/{}/suspend", id(&contract)), &t.admin(), json!({})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let call = register(&t, json!({"serial_number": "SUS-1", "description": "Broken"})).await;
    assert_eq!(call["entitled"], false);
    // A draft was never in force.
    covered(&t, "DRAFT-1", json!({"status": "draft"})).await;
    let call = register(&t, json!({"serial_number": "DRAFT-1", "description": "Broken"})).await;
    assert_eq!(call["entitled"], false);
}

#[actix_rt::test]
async fn coverage_counts_from_its_first_to_its_last_day() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({"status": "active", "service_level": gold()})).await;
    let installation = t.create_installation("LIFT-1", json!({})).await;
    let res = t
        .cover(
            &contract,
            json!([{"installation_id": installation["id"], "valid_from": "2026-03-01", "valid_to": "2026-03-31"}]),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    for (reported_at, entitled) in [
        ("2026-02-28T23:59:59Z", false),
        ("2026-03-01T00:00:00Z", true),
        ("2026-03-31T23:59:59Z", true),
        ("2026-04-01T00:00:00Z", false),
    ] {
        let call =
            register(&t, json!({"serial_number": "LIFT-1", "description": "Check", "reported_at": reported_at})).await;
        assert_eq!(call["entitled"], entitled, "reported at {reported_at}");
        assert_eq!(call["reported_at"], reported_at);
        if entitled {
            // The clocks start when the call was reported, not when it was registered.
            let respond_by = utc(reported_at) + Duration::hours(8);
            assert_eq!(call["respond_by"], json!(respond_by.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
        }
    }
}

#[actix_rt::test]
async fn a_child_contract_without_a_level_uses_its_parents() {
    let t = TestApp::spawn().await;
    let parent =
        t.create_contract(json!({"status": "active", "contract_type": "framework", "service_level": gold()})).await;
    let (child, _) = covered(&t, "LIFT-1", json!({"parent_id": parent["id"], "service_level": null})).await;
    assert_eq!(child["service_level"], Value::Null);
    let res = t.get(&format!("/api/v1/contracts/{}/service-level", id(&child)), &t.viewer()).await;
    assert_eq!(res.status, 200);
    assert_eq!((res.body["inherited"].clone(), res.body["defined_by"].clone()), (json!(true), parent["id"].clone()));
    let call = register(&t, json!({"serial_number": "LIFT-1", "description": "Noise", "priority": "critical"})).await;
    assert_eq!(call["contract_id"], child["id"]);
    assert_eq!(call["service_level_contract_id"], parent["id"]);
    assert_eq!(call["respond_by"], "2026-06-15T12:00:00Z");

    // Its own level wins once it has one; clearing it falls back to the parent again.
    let mut own = gold();
    own["name"] = json!("Silver");
    own["critical"] = json!({"response_hours": 6, "resolution_hours": 24});
    let url = format!("/api/v1/contracts/{}", id(&child));
    let res = t.patch(&url, &t.admin(), json!({"service_level": own})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["service_level"]["name"], "Silver");
    let call = register(&t, json!({"serial_number": "LIFT-1", "description": "Noise", "priority": "critical"})).await;
    assert_eq!(
        (call["service_level"]["name"].clone(), call["respond_by"].clone()),
        (json!("Silver"), json!("2026-06-15T16:00:00Z"))
    );
    let res = t.patch(&url, &t.admin(), json!({"service_level": null})).await;
    assert_eq!(res.body["service_level"], Value::Null);
    let res = t.get(&format!("/api/v1/contracts/{}/service-level", id(&child)), &t.viewer()).await;
    assert_eq!(res.body["defined_by"], parent["id"]);

    // Far down a chain of contracts without levels, the level of the one at its top applies;
    // a level on one in the middle is nearer and wins.
    let mut above = parent.clone();
    let mut chain = Vec::new();
    for _ in 0..6 {
        above = t
            .create_contract(json!({"status": "active", "contract_type": "framework", "parent_id": above["id"]}))
            .await;
        chain.push(above.clone());
    }
    let (deep, _) = covered(&t, "LIFT-2", json!({"parent_id": above["id"], "service_level": null})).await;
    let call = register(&t, json!({"serial_number": "LIFT-2", "description": "Noise", "priority": "critical"})).await;
    assert_eq!(
        (call["contract_id"].clone(), call["service_level_contract_id"].clone()),
        (deep["id"].clone(), parent["id"].clone())
    );
    for middle in [&chain[1], &chain[4]] {
        let res =
            t.patch(&format!("/api/v1/contracts/{}", id(middle)), &t.admin(), json!({"service_level": own})).await;
        assert_eq!(res.status, 200, "{}", res.text);
        let call =
            register(&t, json!({"serial_number": "LIFT-2", "description": "Noise", "priority": "critical"})).await;
        assert_eq!(
            (call["service_level_contract_id"].clone(), call["service_level"]["name"].clone()),
            (middle["id"].clone(), json!("Silver"))
        );
    }
}

#[actix_rt::test]
async fn business_hours_count_in_the_levels_time_zone() {
    let t = TestApp::spawn().await;
    covered(&t, "LIFT-1", json!({"service_level": office_hours()})).await;
    // Friday 12 June 16:00 in Amsterdam (14:00 UTC): one office hour left that week.
    t.clock.set(utc("2026-06-12T14:00:00Z"));
    let call = register(&t, json!({"serial_number": "LIFT-1", "description": "Door fault", "priority": "high"})).await;
    // 4 business hours: 1 on Friday, 3 on Monday from 08:00 local → 11:00 local.
    assert_eq!(call["respond_by"], "2026-06-15T09:00:00Z");
    // 16 business hours: 1 + 9 (Monday) + 6 (Tuesday) → Tuesday 14:00 local.
    assert_eq!(call["resolve_by"], "2026-06-16T12:00:00Z");
    // Over the weekend nothing runs out: still not at risk on Sunday evening.
    t.clock.set(utc("2026-06-14T20:00:00Z"));
    assert_eq!(numbers(&t, "at_risk=true").await, Vec::<String>::new());
    // Monday 10:30 local: less than a quarter of the response time left.
    t.clock.set(utc("2026-06-15T08:30:00Z"));
    assert_eq!(numbers(&t, "at_risk=true").await, vec![call["number"].as_str().unwrap()]);
}

#[actix_rt::test]
async fn the_lifecycle_allows_only_its_steps_and_pauses_the_clock_on_hold() {
    let t = TestApp::spawn().await;
    covered(&t, "LIFT-1", json!({})).await;
    let call = register(&t, json!({"serial_number": "LIFT-1", "description": "Noise", "priority": "critical"})).await;
    step(&t, &call, "start", None).await.assert_problem(409, "invalid_transition");
    step(&t, &call, "resolve", None).await.assert_problem(409, "invalid_transition");
    step(&t, &call, "close", None).await.assert_problem(409, "invalid_transition");
    let res = t.post(&format!("/api/v1/service-calls/{}/acknowledge", id(&call)), &t.viewer(), json!({})).await;
    res.assert_problem(403, "forbidden");
    let res = t
        .request("POST", &format!("/api/v1/service-calls/{}/acknowledge", id(&call)))
        .bearer(&agent(&t))
        .header("If-Match", "\"7\"")
        .send()
        .await;
    assert_eq!(res.status, 412);

    t.clock.set(start_time() + Duration::minutes(30));
    let res = step(&t, &call, "acknowledge", None).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        (res.body["status"].clone(), res.body["acknowledged_at"].clone()),
        (json!("acknowledged"), json!("2026-06-15T10:30:00Z"))
    );
    assert_eq!(res.header("etag").unwrap(), "\"2\"");
    step(&t, &call, "acknowledge", None).await.assert_problem(409, "invalid_transition");
    assert_eq!(step(&t, &call, "start", None).await.body["status"], "in_progress");

    // On hold from 12:00 to 15:00: resolve_by (18:00) moves by three hours.
    t.clock.set(start_time() + Duration::hours(2));
    let res = step(&t, &call, "hold", Some(json!({"note": "waiting for parts"}))).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        (res.body["status"].clone(), res.body["hold_reason"].clone()),
        (json!("on_hold"), json!("waiting for parts"))
    );
    assert_eq!(res.body["on_hold_since"], "2026-06-15T12:00:00Z");
    step(&t, &call, "hold", None).await.assert_problem(409, "invalid_transition");
    // The resolution deadline passes while on hold: frozen, not breached.
    t.clock.set(start_time() + Duration::hours(9));
    let got = t.get(&format!("/api/v1/service-calls/{}", id(&call)), &t.viewer()).await;
    assert_eq!(got.body["resolution_breached"], false);
    t.clock.set(start_time() + Duration::hours(5));
    let res = step(&t, &call, "resume", None).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "in_progress");
    assert_eq!(res.body["on_hold_since"], Value::Null);
    assert_eq!(res.body["paused_seconds"], 3 * 3600);
    assert_eq!(res.body["resolve_by"], "2026-06-15T21:00:00Z");
    assert_eq!(res.body["respond_by"], "2026-06-15T12:00:00Z");

    let res = step(&t, &call, "resolve", Some(json!({"note": "replaced the door sensor"}))).await;
    assert_eq!(
        (res.body["status"].clone(), res.body["resolution"].clone()),
        (json!("resolved"), json!("replaced the door sensor"))
    );
    step(&t, &call, "cancel", None).await.assert_problem(409, "invalid_transition");
    let res = step(&t, &call, "close", None).await;
    assert_eq!(
        (res.body["status"].clone(), res.body["closed_at"].clone()),
        (json!("closed"), json!("2026-06-15T15:00:00Z"))
    );
    for verb in ["acknowledge", "start", "hold", "resume", "resolve", "close", "cancel"] {
        step(&t, &call, verb, None).await.assert_problem(409, "invalid_transition");
    }
    let history = t.get(&format!("/api/v1/service-calls/{}/history", id(&call)), &t.viewer()).await;
    let actions: Vec<&str> =
        history.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "acknowledged", "started", "held", "resumed", "resolved", "closed"]);

    // Cancel from any open status, with a reason.
    let other = register(&t, json!({"serial_number": "LIFT-1", "description": "Again"})).await;
    let res = step(&t, &other, "cancel", Some(json!({"note": "duplicate"}))).await;
    assert_eq!(
        (res.body["status"].clone(), res.body["cancel_reason"].clone()),
        (json!("cancelled"), json!("duplicate"))
    );
    step(&t, &other, "resolve", None).await.assert_problem(409, "invalid_transition");

    // Resolving straight from hold ends the pause first: an hour on hold, then fixed.
    let third = register(&t, json!({"serial_number": "LIFT-1", "description": "Third", "priority": "critical"})).await;
    step(&t, &third, "acknowledge", None).await;
    step(&t, &third, "start", None).await;
    step(&t, &third, "hold", None).await;
    t.clock.set(start_time() + Duration::hours(6));
    let res = step(&t, &third, "resolve", Some(json!({"note": "customer fixed it"}))).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!((res.body["status"].clone(), res.body["on_hold_since"].clone()), (json!("resolved"), Value::Null));
    assert_eq!(res.body["paused_seconds"], 3600);
}

#[actix_rt::test]
async fn service_actions_land_in_the_worklist_and_gate_resolution() {
    let t = TestApp::spawn().await;
    covered(&t, "LIFT-1", json!({})).await;
    let call = register(&t, json!({"serial_number": "LIFT-1", "description": "Door fault", "priority": "high"})).await;
    let url = format!("/api/v1/service-calls/{}/actions", id(&call));
    let res = t
        .post(
            &url,
            &agent(&t),
            json!({"actions": [
                {"assignee": {"user": "alice"}, "planned_date": "2026-06-16", "description": "Diagnose"},
                {"title": "Replace sensor", "assignee": {"role": "crew"}, "planned_date": "2026-06-17"}
            ]}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let actions = res.body["items"].as_array().unwrap().clone();
    assert_eq!(actions.len(), 2);
    for a in &actions {
        assert_eq!(a["kind"], "service_action");
        assert_eq!(a["status"], "open");
        assert_eq!(a["service_call_id"], call["id"]);
        assert_eq!(a["installation_id"], call["installation_id"]);
        assert_eq!(a["contract_id"], call["contract_id"]);
    }
    assert_eq!(actions[0]["title"], "SC-2026-000001: Door fault");
    assert_eq!(actions[0]["due_date"], "2026-06-16");
    let alice = t.token("alice", &["technician"]);
    let crew = t.token("carl", &["crew"]);
    let mine = t.all_tasks("assignee=me&kind=service_action", &alice).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], actions[0]["id"]);
    let listed = t.get(&url, &t.viewer()).await;
    assert_eq!(listed.status, 200);
    let ids: Vec<&Value> = listed.body["items"].as_array().unwrap().iter().map(|a| &a["id"]).collect();
    assert_eq!(ids, [&actions[0]["id"], &actions[1]["id"]]);
    assert_eq!(numbers(&t, "assignee_role=crew").await, vec!["SC-2026-000001"]);
    assert_eq!(numbers(&t, "assignee_role=planners").await, Vec::<String>::new());
    let res = t.get("/api/v1/service-calls?assignee=me", &alice).await;
    assert_eq!(res.body["items"].as_array().unwrap().len(), 1);

    step(&t, &call, "acknowledge", None).await;
    step(&t, &call, "resolve", None).await.assert_problem(409, "open_actions");
    let done =
        t.post(&format!("/api/v1/tasks/{}/complete", id(&actions[0])), &alice, json!({"note": "sensor broken"})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    step(&t, &call, "resolve", None).await.assert_problem(409, "open_actions");
    let done = t.post(&format!("/api/v1/tasks/{}/complete", id(&actions[1])), &crew, json!({})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(step(&t, &call, "resolve", None).await.body["status"], "resolved");
    assert_eq!(step(&t, &call, "close", None).await.body["status"], "closed");
    // A closed call takes no new actions.
    let res = t
        .post(&url, &agent(&t), json!({"actions": [{"assignee": {"user": "alice"}, "planned_date": "2026-06-18"}]}))
        .await;
    res.assert_problem(409, "service_call_closed");

    // Cancelling a call cancels its open actions.
    let other = register(&t, json!({"serial_number": "LIFT-1", "description": "Noise"})).await;
    let other_url = format!("/api/v1/service-calls/{}/actions", id(&other));
    let res = t
        .post(
            &other_url,
            &agent(&t),
            json!({"actions": [{"assignee": {"user": "alice"}, "planned_date": "2026-06-18"}]}),
        )
        .await;
    let task_id = res.body["items"][0]["id"].as_str().unwrap().to_string();
    step(&t, &other, "cancel", Some(json!({"note": "customer fixed it"}))).await;
    let task = t.get(&format!("/api/v1/tasks/{task_id}"), &alice).await;
    assert_eq!(
        (task.body["status"].clone(), task.body["result_note"].clone()),
        (json!("cancelled"), json!("the service call was cancelled"))
    );
}

#[actix_rt::test]
async fn a_resolved_call_takes_follow_up_actions_and_cannot_close_while_one_is_open() {
    let t = TestApp::spawn().await;
    covered(&t, "LIFT-1", json!({})).await;
    let call = register(&t, json!({"serial_number": "LIFT-1", "description": "Noise"})).await;
    step(&t, &call, "acknowledge", None).await;
    // Fixed by phone; a follow-up visit is planned after resolving.
    assert_eq!(step(&t, &call, "resolve", Some(json!({"note": "reset remotely"}))).await.status, 200);
    let url = format!("/api/v1/service-calls/{}/actions", id(&call));
    let res = t
        .post(&url, &agent(&t), json!({"actions": [{"assignee": {"user": "alice"}, "planned_date": "2026-06-18"}]}))
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    step(&t, &call, "close", None).await.assert_problem(409, "open_actions");
    let task_id = res.body["items"][0]["id"].as_str().unwrap();
    let res =
        t.post(&format!("/api/v1/tasks/{task_id}/skip"), &t.token("alice", &[]), json!({"note": "not needed"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(step(&t, &call, "close", None).await.body["status"], "closed");
    let res = t
        .post(&url, &agent(&t), json!({"actions": [{"assignee": {"user": "alice"}, "planned_date": "2026-06-19"}]}))
        .await;
    res.assert_problem(409, "service_call_closed");
}

#[actix_rt::test]
async fn breach_and_risk_filters_follow_the_clock() {
    let t = TestApp::spawn().await;
    covered(&t, "LIFT-1", json!({})).await;
    // Both critical: respond by 12:00 (at risk from 11:30), resolve by 18:00 (from 16:00).
    let quick = register(&t, json!({"serial_number": "LIFT-1", "description": "A", "priority": "critical"})).await;
    let slow = register(&t, json!({"serial_number": "LIFT-1", "description": "B", "priority": "critical"})).await;
    let (a, b) = (quick["number"].as_str().unwrap(), slow["number"].as_str().unwrap());
    t.clock.set(utc("2026-06-15T10:15:00Z"));
    step(&t, &quick, "acknowledge", None).await;
    step(&t, &quick, "start", None).await;

    t.clock.set(utc("2026-06-15T11:40:00Z"));
    assert_eq!(numbers(&t, "at_risk=true").await, vec![b]);
    assert_eq!(numbers(&t, "at_risk=false").await, vec![a]);
    assert_eq!(numbers(&t, "breached=true").await, Vec::<&str>::new());

    t.clock.set(utc("2026-06-15T12:00:01Z"));
    assert_eq!(numbers(&t, "response_breached=true").await, vec![b]);
    assert_eq!(numbers(&t, "breached=true").await, vec![b]);
    assert_eq!(numbers(&t, "breached=false").await, vec![a]);
    let got = t.get(&format!("/api/v1/service-calls/{}", id(&slow)), &t.viewer()).await;
    assert_eq!((got.body["response_breached"].clone(), got.body["at_risk"].clone()), (json!(true), json!(false)));
    // Acknowledging late does not undo the breach.
    step(&t, &slow, "acknowledge", None).await;
    assert_eq!(numbers(&t, "response_breached=true").await, vec![b]);

    // The quick one goes on hold at 17:00; at 18:01 only the other one is late.
    t.clock.set(utc("2026-06-15T16:30:00Z"));
    assert_eq!(numbers(&t, "at_risk=true").await, vec![b, a]);
    t.clock.set(utc("2026-06-15T17:00:00Z"));
    step(&t, &quick, "hold", None).await;
    assert_eq!(numbers(&t, "at_risk=true").await, vec![b]);
    t.clock.set(utc("2026-06-15T18:01:00Z"));
    assert_eq!(numbers(&t, "resolution_breached=true").await, vec![b]);
    assert_eq!(numbers(&t, "resolution_breached=false").await, vec![a]);
    assert_eq!(numbers(&t, "breached=true&priority=critical&status=acknowledged").await, vec![b]);
}

#[actix_rt::test]
async fn lists_filter_and_page_newest_first() {
    let t = TestApp::spawn().await;
    let (contract, lift) = covered(&t, "LIFT-1", json!({})).await;
    let other = t.create_installation("BOILER-1", json!({"customer_ref": "CUST-2"})).await;
    let first = register(&t, json!({"serial_number": "LIFT-1", "description": "one", "priority": "low"})).await;
    t.clock.set(start_time() + Duration::minutes(1));
    let second = register(&t, json!({"serial_number": "BOILER-1", "description": "two", "external_ref": "X-2"})).await;
    t.clock.set(start_time() + Duration::minutes(2));
    let third = register(&t, json!({"serial_number": "LIFT-1", "description": "three", "priority": "high"})).await;
    step(&t, &third, "acknowledge", None).await;
    let n = |v: &Value| v["number"].as_str().unwrap().to_string();
    assert_eq!(numbers(&t, "").await, vec![n(&third), n(&second), n(&first)]);
    assert_eq!(numbers(&t, "status=new").await, vec![n(&second), n(&first)]);
    assert_eq!(numbers(&t, "status=acknowledged,closed").await, vec![n(&third)]);
    assert_eq!(numbers(&t, "priority=low").await, vec![n(&first)]);
    assert_eq!(numbers(&t, &format!("installation_id={}", id(&lift))).await, vec![n(&third), n(&first)]);
    assert_eq!(numbers(&t, &format!("contract_id={}", id(&contract))).await, vec![n(&third), n(&first)]);
    assert_eq!(numbers(&t, "customer_ref=CUST-2").await, vec![n(&second)]);
    assert_eq!(numbers(&t, "entitled=true").await, vec![n(&third), n(&first)]);
    assert_eq!(numbers(&t, "external_ref=X-2").await, vec![n(&second)]);

    // Pages follow the cursor without gaps or repeats.
    let url = format!("/api/v1/installations/{}/service-calls?limit=1", id(&lift));
    let page1 = t.get(&url, &t.viewer()).await;
    assert_eq!(page1.status, 200);
    assert_eq!(page1.body["items"][0]["id"], third["id"]);
    let cursor = page1.body["next_cursor"].as_str().unwrap();
    let page2 = t.get(&format!("{url}&cursor={cursor}"), &t.viewer()).await;
    assert_eq!(page2.body["items"][0]["id"], first["id"]);
    assert_eq!(page2.body["next_cursor"], Value::Null);
    let _ = other;

    t.get("/api/v1/service-calls?status=open", &t.viewer()).await.assert_problem(400, "invalid_query");
    t.get("/api/v1/service-calls?priority=urgent", &t.viewer()).await.assert_problem(400, "invalid_query");
    t.get("/api/v1/service-calls?breached=maybe", &t.viewer()).await.assert_problem(400, "invalid_query");
    t.get("/api/v1/service-calls?assignee=bob", &t.viewer()).await.assert_problem(400, "invalid_query");
    t.get("/api/v1/service-calls?cursor=bm9wZQ", &t.viewer()).await.assert_problem(400, "invalid_cursor");
    t.get("/api/v1/service-calls?colour=red", &t.viewer()).await.assert_problem(400, "unknown_parameter");
    t.get("/api/v1/installations/nope/service-calls", &t.viewer()).await.assert_problem(404, "not_found");
    t.get("/api/v1/service-calls/nope", &t.viewer()).await.assert_problem(404, "not_found");
    t.get("/api/v1/service-calls/nope/actions", &t.viewer()).await.assert_problem(404, "not_found");
    t.get("/api/v1/service-calls/nope/history", &t.viewer()).await.assert_problem(404, "not_found");
    t.get("/api/v1/contracts/nope/service-level", &t.viewer()).await.assert_problem(404, "not_found");
}

#[actix_rt::test]
async fn bad_registrations_are_refused_and_change_nothing() {
    let t = TestApp::spawn().await;
    let (_, lift) = covered(&t, "LIFT-1", json!({})).await;
    let post = |body: Value| async { t.post("/api/v1/service-calls", &agent(&t), body).await };
    let res = post(json!({"description": "x"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), ["installation_id"]);
    let res = post(json!({"installation_id": lift["id"], "serial_number": "LIFT-1", "description": "x"})).await;
    assert_eq!(res.error_fields(), ["installation_id"]);
    let res = post(json!({"serial_number": "NOPE", "description": "x"})).await;
    assert_eq!((res.status, res.error_fields()), (422, vec!["serial_number".to_string()]));
    let res = post(json!({"installation_id": "nope", "description": "x"})).await;
    assert_eq!((res.status, res.error_fields()), (422, vec!["installation_id".to_string()]));
    let res = post(json!({"serial_number": "LIFT-1", "description": "x", "reported_at": "2026-06-16T10:00:00Z"})).await;
    assert_eq!((res.status, res.error_fields()), (422, vec!["reported_at".to_string()]));
    let res = post(json!({"serial_number": "LIFT-1", "description": " "})).await;
    assert_eq!((res.status, res.error_fields()), (422, vec!["description".to_string()]));
    let res = post(json!({"serial_number": "LIFT-1"})).await;
    assert_eq!(res.status, 422, "{}", res.text);
    let res = post(json!({"serial_number": "LIFT-1", "description": "x", "priority": "urgent"})).await;
    assert_eq!(res.status, 422, "{}", res.text);
    let res = post(json!({"serial_number": "LIFT-1", "description": "x", "colour": "red"})).await;
    assert_eq!(res.status, 422, "{}", res.text);
    let res = t
        .post(
            "/api/v1/service-calls",
            &t.token("pat", &["planner"]),
            json!({"serial_number": "LIFT-1", "description": "x"}),
        )
        .await;
    res.assert_problem(403, "forbidden");
    assert_eq!(numbers(&t, "").await, Vec::<String>::new());

    // An integration may register; external_ref is unique.
    let res = t
        .post(
            "/api/v1/service-calls",
            &t.token("crm", &["integration"]),
            json!({"serial_number": "LIFT-1", "description": "x", "external_ref": "CRM-1"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    post(json!({"serial_number": "LIFT-1", "description": "y", "external_ref": "CRM-1"}))
        .await
        .assert_problem(409, "duplicate_external_ref");

    // Actions: at least one, each with an assignee and a planned date.
    let url = format!("/api/v1/service-calls/{}/actions", id(&res.body));
    let res = t.post(&url, &agent(&t), json!({"actions": []})).await;
    assert_eq!((res.status, res.error_fields()), (422, vec!["actions".to_string()]));
    let res =
        t.post(&url, &agent(&t), json!({"actions": [{"assignee": {"user": " "}, "planned_date": "2026-06-18"}]})).await;
    assert_eq!((res.status, res.error_fields()), (422, vec!["actions[0].assignee".to_string()]));
    let res = t.post(&url, &agent(&t), json!({"actions": [{"planned_date": "2026-06-18"}]})).await;
    assert_eq!(res.status, 422, "{}", res.text);
    let res = t
        .post(&url, &t.viewer(), json!({"actions": [{"assignee": {"user": "a"}, "planned_date": "2026-06-18"}]}))
        .await;
    res.assert_problem(403, "forbidden");
    assert_eq!(t.get(&url, &t.viewer()).await.body["items"], json!([]));
}

#[actix_rt::test]
async fn contract_service_levels_are_validated() {
    let t = TestApp::spawn().await;
    let mut level = office_hours();
    level["business_hours"]["time_zone"] = json!("Mars/Olympus");
    level["critical"]["response_hours"] = json!(0);
    let body = json!({"title": "T", "contract_type": "maintenance", "customer_ref": "C", "start_date": "2026-01-01", "service_level": level});
    let res = t.post("/api/v1/contracts", &t.admin(), body).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), ["service_level.critical.response_hours", "service_level.business_hours.time_zone"]);
    let mut level = office_hours();
    level["business_hours"]["windows"][0]["to"] = json!("07:00");
    let contract = t.create_contract(json!({})).await;
    let url = format!("/api/v1/contracts/{}", id(&contract));
    let res = t.patch(&url, &t.admin(), json!({"service_level": level})).await;
    assert_eq!((res.status, res.error_fields()), (422, vec!["service_level.business_hours.windows[0]".to_string()]));
    let res = t.patch(&url, &t.admin(), json!({"service_level": {"name": "x"}})).await;
    assert_eq!(res.status, 422, "{}", res.text);
    assert_eq!(t.get(&url, &t.viewer()).await.body["version"], 1);
}

/// Records a call through the service inside a write that runs beside others, as the API's
/// registration does, and keeps that write open until `release` says so; `recorded` gets the
/// call's id once it is written (not yet committed).
fn hold_registration(
    t: &TestApp,
    body: Value,
    recorded: std::sync::mpsc::Sender<String>,
    release: std::sync::mpsc::Receiver<()>,
) -> actix_web::rt::task::JoinHandle<Result<String, pactum::http::ApiError>> {
    use pactum::service_calls::{input::ServiceCallIn, service};
    let (db, now) = (t.state.db.clone(), t.clock.now());
    // The write may run again (a transaction the database gave up on): its closure is cloned.
    let release = std::sync::Arc::new(std::sync::Mutex::new(release));
    actix_web::rt::spawn(async move {
        db.write(move |c| {
            let ctx = pactum::events::Ctx { actor: "held", now };
            let sla = service::SlaSettings { default_level: None, risk_share: 0.25 };
            let input: ServiceCallIn = serde_json::from_value(body).unwrap();
            let assessed = service::assess(c, &ctx, input, &sla)?;
            let row = service::record(c, &ctx, assessed)?;
            recorded.send(row.id.clone()).unwrap();
            release.lock().unwrap().recv().unwrap();
            Ok(row.id)
        })
        .await
    })
}

/// Waits (up to 10 s) until `done` says so.
async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("gave up waiting");
}

#[actix_web::test]
async fn registrations_run_beside_each_other_and_the_feed_lists_each_once_as_it_commits() {
    let t = TestApp::spawn().await;
    covered(&t, "PUMP-1", json!({})).await;
    let feed = |after: &str| format!("/api/v1/events?entity_type=service_call&after={after}");
    let start = t.get("/api/v1/events?entity_type=service_call", &t.viewer()).await;
    let start = start.body["next_cursor"].as_str().unwrap().to_string();
    let postgres = t.state.db.backend() == pactum::db::Backend::Postgres;

    let (recorded_tx, recorded) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel();
    let held = hold_registration(
        &t,
        json!({"serial_number": "PUMP-1", "description": "held open", "external_ref": "CRM-9"}),
        recorded_tx,
        release_rx,
    );
    let mut held_id = None;
    until(|| {
        held_id = recorded.try_recv().ok();
        held_id.is_some()
    })
    .await;
    let held_id = held_id.unwrap();

    // Another registration, and one with the held call's external reference, while it is open.
    let body = json!({"serial_number": "PUMP-1", "description": "beside it"});
    let beside = actix_web::rt::spawn(t.request("POST", "/api/v1/service-calls").bearer(&agent(&t)).json(body));
    let body = json!({"serial_number": "PUMP-1", "description": "same ref", "external_ref": "CRM-9"});
    let same_ref = actix_web::rt::spawn(t.request("POST", "/api/v1/service-calls").bearer(&agent(&t)).json(body));
    let reading;
    if postgres {
        // PostgreSQL: the registration commits while the held one is still open, the one with
        // the same reference waits on the unique index, and a feed read answers at once with
        // what has committed: the newer call only. The held call has the smaller id, yet it
        // is not skipped: it gets its feed position when it commits, after the newer one's.
        until(|| beside.is_finished()).await;
        reading = actix_web::rt::spawn(t.request("GET", &feed(&start)).bearer(&t.viewer()).send());
        until(|| reading.is_finished()).await;
    } else {
        // SQLite has one writer at a time: both registrations wait, and the feed reads at once
        // what has committed.
        reading = actix_web::rt::spawn(t.request("GET", &feed(&start)).bearer(&t.viewer()).send());
        until(|| reading.is_finished()).await;
        assert!(!beside.is_finished(), "a second SQLite writer ran beside the held one");
    }
    assert!(!same_ref.is_finished(), "the duplicate reference was decided before the held call committed");
    release.send(()).unwrap();
    assert_eq!(held.await.unwrap().unwrap(), held_id);

    let beside = beside.await.unwrap();
    assert_eq!(beside.status, 201, "{}", beside.text);
    same_ref.await.unwrap().assert_problem(409, "duplicate_external_ref");
    let beside_id = id(&beside.body).to_string();
    let read = reading.await.unwrap();
    assert_eq!(read.status, 200, "{}", read.text);
    let ids = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|e| e["entity_id"].as_str().unwrap().to_string()).collect()
    };
    // Read on from where that read left off: every call's event exactly once, in the order
    // they committed.
    let after = read.body["next_cursor"].as_str().unwrap();
    let rest = t.get(&feed(after), &t.viewer()).await;
    let mut seen = ids(&read.body);
    seen.extend(ids(&rest.body));
    if postgres {
        assert_eq!(ids(&read.body), vec![beside_id.clone()]);
        assert_eq!(seen, vec![beside_id, held_id]);
    } else {
        assert_eq!(ids(&read.body), Vec::<String>::new());
        assert_eq!(seen, vec![held_id, beside_id]);
    }
    let all = t.get(&feed(&start), &t.viewer()).await;
    let sequences: Vec<i64> =
        all.body["items"].as_array().unwrap().iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
}

#[actix_rt::test]
async fn a_reporters_phone_and_email_are_read_only_by_service_roles_admins_and_auditors() {
    let t = TestApp::spawn().await;
    let (_, installation) = covered(&t, "LIFT-9", json!({})).await;
    let call = register(
        &t,
        json!({"serial_number": "LIFT-9", "description": "Door sensor broken",
               "reporter": {"name": "Jan", "phone": "+31 20 123 4567", "email": "jan@example.com"}}),
    )
    .await;
    assert_eq!(call["reporter"]["phone"], "+31 20 123 4567", "the registering agent reads what it sent");
    assert_eq!(step(&t, &call, "acknowledge", None).await.status, 200);

    let reads = [
        format!("/api/v1/service-calls/{}", id(&call)),
        "/api/v1/service-calls".to_string(),
        format!("/api/v1/installations/{}/service-calls", id(&installation)),
        format!("/api/v1/service-calls/{}/history", id(&call)),
        "/api/v1/events?entity_type=service_call".to_string(),
    ];
    for token in [t.admin(), t.viewer(), agent(&t), t.token("crm", &["integration"])] {
        let got = t.get(&reads[0], &token).await;
        assert_eq!(
            got.body["reporter"],
            json!({"name": "Jan", "phone": "+31 20 123 4567", "email": "jan@example.com"})
        );
        for url in &reads {
            let res = t.get(url, &token).await;
            assert_eq!(res.status, 200, "{url}: {}", res.text);
            assert!(res.text.contains("jan@example.com"), "{url}: {}", res.text);
        }
    }

    // A field crew, a planner or a case worker sees the call and the reporter's name only:
    // in the call, the lists, its history and the change feed.
    for token in [
        t.token("piet", &["maintenance-crew"]),
        t.token("paula", &["planner", "contract_manager"]),
        t.token("carla", &["case_worker"]),
    ] {
        let got = t.get(&reads[0], &token).await;
        assert_eq!(got.status, 200, "{}", got.text);
        assert_eq!(got.body["reporter"], json!({"name": "Jan", "phone": null, "email": null}));
        assert_eq!(got.body["description"], "Door sensor broken");
        for url in &reads {
            let res = t.get(url, &token).await;
            assert_eq!(res.status, 200, "{url}: {}", res.text);
            assert!(res.text.contains("Jan"), "{url}: {}", res.text);
            for secret in ["jan@example.com", "123 4567"] {
                assert!(!res.text.contains(secret), "{url} shows {secret}: {}", res.text);
            }
        }
        let history = t.get(&reads[3], &token).await;
        let created = &history.body["items"][0]["changes"];
        assert_eq!(created["reporter.name"]["new"], "Jan");
        assert!(created.get("reporter.phone").is_none() && created.get("reporter.email").is_none(), "{created}");
    }
}
