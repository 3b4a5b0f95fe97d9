//! Dossiers through the API: the two stories end to end (a mortgage customer moves, a pension
//! customer reaches retirement age), rule conditions, type versioning, exactly-once date rules
//! under concurrent and late scheduler passes, `as_of`, posted events, filters, and the 4xx
//! answers of dossier types and dossiers.

use crate::common::{Res, TestApp};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

pub fn case_worker(t: &TestApp) -> String {
    t.token("carla", &["case_worker"])
}

pub fn at(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).unwrap()
}

/// Defines a workflow as admin; asserts 201.
pub async fn define_workflow(t: &TestApp, body: Value) -> Value {
    let res = t.post("/api/v1/workflows", &t.admin(), body).await;
    assert_eq!(res.status, 201, "define workflow: {}", res.text);
    res.body
}

/// Defines a dossier type as admin; asserts 201.
pub async fn define_type(t: &TestApp, body: Value) -> Value {
    let res = t.post("/api/v1/dossier-types", &t.admin(), body).await;
    assert_eq!(res.status, 201, "define dossier type: {}", res.text);
    res.body
}

/// Opens a dossier as a case worker; asserts 201.
pub async fn open_dossier(t: &TestApp, body: Value) -> Value {
    let res = t.post("/api/v1/dossiers", &case_worker(t), body).await;
    assert_eq!(res.status, 201, "open dossier: {}", res.text);
    res.body
}

pub async fn patch_dossier(t: &TestApp, dossier: &Value, body: Value) -> Res {
    t.patch(&format!("/api/v1/dossiers/{}", id(dossier)), &case_worker(t), body).await
}

pub async fn list(t: &TestApp, url: &str) -> Vec<Value> {
    let res = t.get(url, &t.viewer()).await;
    assert_eq!(res.status, 200, "GET {url}: {}", res.text);
    res.body["items"].as_array().unwrap().clone()
}

pub async fn firings(t: &TestApp, dossier: &Value) -> Vec<Value> {
    list(t, &format!("/api/v1/dossiers/{}/rule-firings", id(dossier))).await
}

pub async fn instances_of(t: &TestApp, dossier: &Value) -> Vec<Value> {
    list(t, &format!("/api/v1/workflow-instances?dossier_id={}", id(dossier))).await
}

pub async fn instance(t: &TestApp, instance_id: &str) -> Value {
    let res = t.get(&format!("/api/v1/workflow-instances/{instance_id}"), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body
}

/// The open tasks on the worklist of someone with these roles (`assignee=me`).
pub async fn my_open_tasks(t: &TestApp, token: &str) -> Vec<Value> {
    t.all_tasks("assignee=me&status=open,in_progress", token).await
}

/// The mortgage model: a three-step relocation workflow and a `mortgage` type whose address
/// changes start it for the mortgage desk.
async fn mortgage_model(t: &TestApp) {
    define_workflow(
        t,
        json!({
            "key": "relocation", "name": "Relocation",
            "steps": [
                {"key": "contact", "name": "Contact the customer", "due_in": "P5D",
                 "outcomes": [{"key": "reached", "next": "check_collateral"}, {"key": "unreachable", "next": "send_letter"}]},
                {"key": "send_letter", "name": "Send a letter", "assignee": "owner", "due_in": "P2D", "next": "check_collateral"},
                {"key": "check_collateral", "name": "Check the new collateral", "due_in": "P1M",
                 "outcomes": [{"key": "approved", "next": "end"}, {"key": "needs_valuation"}]},
                {"key": "valuation", "name": "Order a valuation", "assignee": {"user": "valerie"}},
            ]
        }),
    )
    .await;
    define_type(
        t,
        json!({
            "key": "mortgage", "name": "Mortgage",
            "default_owner": {"user": "olga"},
            "attributes": [
                {"key": "address", "label": "Address", "data_type": "text", "required": true},
                {"key": "loan_amount", "label": "Loan", "data_type": "decimal"},
            ],
            "rules": [{
                "key": "relocation_on_move", "description": "The customer moves",
                "trigger": {"kind": "attribute_changed", "attribute": "address"},
                "workflow": "relocation", "responsible": {"role": "mortgage-desk"}
            }]
        }),
    )
    .await;
}

async fn complete(t: &TestApp, task: &Value, token: &str, body: Value) -> Res {
    t.post(&format!("/api/v1/tasks/{}/complete", id(task)), token, body).await
}

#[actix_web::test]
async fn a_mortgage_customer_moves_and_the_relocation_workflow_runs_to_its_end() {
    let t = TestApp::spawn().await;
    mortgage_model(&t).await;
    let contract = t.create_contract(json!({"contract_type": "mortgage", "customer_ref": "CUST-9"})).await;
    let d = open_dossier(
        &t,
        json!({"type": "mortgage", "customer_ref": "CUST-9", "contract_id": contract["id"],
               "attributes": {"address": "Kerkstraat 1, Delft", "loan_amount": 250000}}),
    )
    .await;
    assert_eq!(d["owner"], json!({"user": "olga"}), "the type's default owner");
    assert_eq!(d["type_version"], 1);
    assert_eq!(d["status"], "open");
    assert!(firings(&t, &d).await.is_empty(), "setting the address at creation is not a change");

    // Another attribute changes: nothing fires.
    let res = patch_dossier(&t, &d, json!({"attributes": {"loan_amount": 240000}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(firings(&t, &d).await.is_empty());

    // The customer moves.
    let res = patch_dossier(&t, &d, json!({"attributes": {"address": "Oudegracht 5, Utrecht"}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let fired = firings(&t, &d).await;
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0]["rule"], "relocation_on_move");
    assert_eq!(fired[0]["trigger"], "attribute_changed");
    assert_eq!(fired[0]["details"]["old"], "Kerkstraat 1, Delft");
    assert_eq!(fired[0]["details"]["new"], "Oudegracht 5, Utrecht");
    assert_eq!(fired[0]["fired_by"], "carla");
    let instance_id = fired[0]["workflow_instance_id"].as_str().unwrap().to_string();
    let inst = instance(&t, &instance_id).await;
    assert_eq!(inst["status"], "running");
    assert_eq!(inst["workflow"], "relocation");
    assert_eq!(inst["workflow_version"], 1);
    assert_eq!(inst["rule"], "relocation_on_move");
    assert_eq!(inst["responsible"], json!({"role": "mortgage-desk"}));
    assert_eq!(inst["current_step"], "contact");

    // The first step is on the mortgage desk's worklist.
    let desk = t.token("dora", &["mortgage-desk"]);
    let tasks = my_open_tasks(&t, &desk).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let task = &tasks[0];
    assert_eq!(task["kind"], "workflow_step");
    assert_eq!(task["title"], "Relocation: Contact the customer");
    assert_eq!(task["assignee"], json!({"role": "mortgage-desk"}));
    assert_eq!(task["due_date"], "2026-06-20", "due 5 days after the step started");
    assert_eq!(task["workflow_instance_id"], instance_id.as_str());
    assert_eq!(task["dossier_id"], d["id"]);
    assert_eq!(task["contract_id"], contract["id"]);

    // A decision step needs an outcome that it lists.
    complete(&t, task, &desk, json!({})).await.assert_problem(422, "validation_failed");
    let res = complete(&t, task, &desk, json!({"outcome": "maybe"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["outcome"]);
    assert_eq!(t.get(&format!("/api/v1/tasks/{}", id(task)), &desk).await.body["status"], "open", "nothing changed");

    // Unreachable: a letter from the dossier's owner, then the collateral check.
    let res = complete(&t, task, &desk, json!({"outcome": "unreachable", "note": "no answer"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "done");
    assert!(my_open_tasks(&t, &desk).await.is_empty());
    let olga = t.token("olga", &[]);
    let letter = my_open_tasks(&t, &olga).await;
    assert_eq!(letter.len(), 1);
    assert_eq!(letter[0]["title"], "Relocation: Send a letter");
    assert_eq!(letter[0]["due_date"], "2026-06-17");
    // A step without outcomes takes none.
    complete(&t, &letter[0], &olga, json!({"outcome": "sent"})).await.assert_problem(422, "validation_failed");
    t.clock.set(at(2026, 6, 18));
    assert_eq!(complete(&t, &letter[0], &olga, json!({})).await.status, 200);

    let check = my_open_tasks(&t, &desk).await;
    assert_eq!(check.len(), 1);
    assert_eq!(check[0]["title"], "Relocation: Check the new collateral");
    assert_eq!(check[0]["due_date"], "2026-07-18", "P1M from 18 June");
    // needs_valuation goes on to the following step, assigned to a named user.
    assert_eq!(complete(&t, &check[0], &desk, json!({"outcome": "needs_valuation"})).await.status, 200);
    let valerie = t.token("valerie", &[]);
    let valuation = my_open_tasks(&t, &valerie).await;
    assert_eq!(valuation.len(), 1);
    // The last step ends the instance.
    assert_eq!(complete(&t, &valuation[0], &valerie, json!({"note": "valued"})).await.status, 200);

    let inst = instance(&t, &instance_id).await;
    assert_eq!(inst["status"], "completed");
    assert_eq!(inst["current_step"], Value::Null);
    assert!(inst["ended_at"].is_string());
    let steps = inst["steps"].as_array().unwrap();
    let summary: Vec<(String, String, Value)> = steps
        .iter()
        .map(|s| (s["key"].as_str().unwrap().into(), s["status"].as_str().unwrap().into(), s["outcome"].clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("contact".into(), "done".into(), json!("unreachable")),
            ("send_letter".into(), "done".into(), Value::Null),
            ("check_collateral".into(), "done".into(), json!("needs_valuation")),
            ("valuation".into(), "done".into(), Value::Null),
        ]
    );
    assert_eq!(steps[0]["ended_by"], "dora");
    assert_eq!(steps[1]["assignee"], json!({"user": "olga"}));
    // A finished step's task cannot be completed again.
    complete(&t, task, &desk, json!({})).await.assert_problem(409, "invalid_transition");
    // The instance's history records every move.
    let res = t.get(&format!("/api/v1/workflow-instances/{instance_id}/history"), &t.viewer()).await;
    let actions: Vec<&str> =
        res.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["started", "advanced", "advanced", "advanced", "completed"]);

    // The dossier's history has every change with old and new values.
    let res = t.get(&format!("/api/v1/dossiers/{}/history", id(&d)), &t.viewer()).await;
    assert_eq!(res.status, 200);
    let events = res.body["items"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["action"], "created");
    assert_eq!(
        events[2]["changes"]["attributes.address"],
        json!({"old": "Kerkstraat 1, Delft", "new": "Oudegracht 5, Utrecht"})
    );
}

/// The pension model: a retirement workflow and a `collective_pension` type whose date rule
/// is the birth date plus 67 years, for the pension desk.
async fn pension_model(t: &TestApp) {
    define_workflow(
        t,
        json!({"key": "retirement", "name": "Retirement", "steps": [
            {"key": "inform", "name": "Inform the participant", "due_in": "P14D"},
            {"key": "pay_out", "name": "Start the pension payments", "assignee": {"role": "payments"}}
        ]}),
    )
    .await;
    define_type(
        t,
        json!({
            "key": "collective_pension", "name": "Collective pension",
            "default_owner": {"role": "pension-desk"},
            "attributes": [{"key": "birth_date", "label": "Date of birth", "data_type": "date"}],
            "rules": [{"key": "retirement_age", "trigger": {"kind": "date_reached", "attribute": "birth_date", "offset": "P67Y"},
                       "workflow": "retirement", "responsible": {"role": "pension-desk"}}]
        }),
    )
    .await;
}

async fn triggers(t: &TestApp, dossier: &Value) -> Vec<Value> {
    list(t, &format!("/api/v1/dossiers/{}/date-triggers", id(dossier))).await
}

#[actix_web::test]
async fn a_pension_participant_reaches_retirement_age_and_the_date_rule_fires_once() {
    let t = TestApp::spawn().await;
    pension_model(&t).await;
    let d = open_dossier(
        &t,
        json!({"type": "collective_pension", "customer_ref": "EMP-7",
                                    "attributes": {"birth_date": "1959-08-20"}}),
    )
    .await;
    assert_eq!(d["owner"], json!({"role": "pension-desk"}));
    let trg = triggers(&t, &d).await;
    assert_eq!(trg.len(), 1);
    assert_eq!(trg[0]["rule"], "retirement_age");
    assert_eq!(trg[0]["due_on"], "2026-08-20");
    assert_eq!(trg[0]["status"], "pending");

    // The birth date is corrected before that day: the trigger moves.
    let res = patch_dossier(&t, &d, json!({"attributes": {"birth_date": "1959-09-10"}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(triggers(&t, &d).await[0]["due_on"], "2026-09-10");

    // The old day passes: nothing fires.
    t.clock.set(at(2026, 8, 20));
    assert_eq!(t.run_scheduler().await.date_rules_fired, 0);
    t.clock.set(at(2026, 9, 9));
    assert_eq!(t.run_scheduler().await.date_rules_fired, 0);
    assert!(firings(&t, &d).await.is_empty());

    // The day comes: it fires, once.
    t.clock.set(at(2026, 9, 10));
    assert_eq!(t.run_scheduler().await.date_rules_fired, 1);
    assert_eq!(t.run_scheduler().await.date_rules_fired, 0, "a second pass fires nothing");
    let fired = firings(&t, &d).await;
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0]["trigger"], "date_reached");
    assert_eq!(fired[0]["occurrence_key"], "date:2026-09-10");
    assert_eq!(fired[0]["fired_by"], "system");
    assert_eq!(fired[0]["details"]["source"], "1959-09-10");
    let trg = triggers(&t, &d).await;
    assert_eq!(trg[0]["status"], "fired");

    // The first task is on the pension desk's worklist.
    let desk = t.token("petra", &["pension-desk"]);
    let tasks = my_open_tasks(&t, &desk).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["title"], "Retirement: Inform the participant");
    assert_eq!(tasks[0]["due_date"], "2026-09-24");
    let inst = instance(&t, fired[0]["workflow_instance_id"].as_str().unwrap()).await;
    assert_eq!(inst["started_by"], "system");
    assert_eq!(inst["rule"], "retirement_age");

    // A correction after the rule fired does not fire it again.
    patch_dossier(&t, &d, json!({"attributes": {"birth_date": "1959-09-01"}})).await;
    t.clock.set(at(2026, 12, 1));
    assert_eq!(t.run_scheduler().await.date_rules_fired, 0);
    assert_eq!(firings(&t, &d).await.len(), 1);
    assert_eq!(triggers(&t, &d).await[0]["due_on"], "2026-09-10", "a fired trigger stays as it fired");
}

#[actix_web::test]
async fn concurrent_scheduler_passes_fire_each_date_rule_exactly_once() {
    let t = TestApp::spawn().await;
    pension_model(&t).await;
    let mut dossiers = Vec::new();
    for i in 0..6 {
        dossiers.push(
            open_dossier(
                &t,
                json!({"type": "collective_pension", "customer_ref": format!("EMP-{i}"),
                       "attributes": {"birth_date": format!("1959-07-0{}", i + 1)}}),
            )
            .await,
        );
    }
    t.clock.set(at(2026, 7, 31));
    let passes: Vec<_> = (0..5).map(|_| t.run_scheduler()).collect();
    let reports = futures_util::future::join_all(passes).await;
    let total: usize = reports.iter().map(|r| r.date_rules_fired).sum();
    assert_eq!(total, 6, "{reports:?}");
    assert!(reports.iter().all(|r| r.failures == 0), "{reports:?}");
    for d in &dossiers {
        assert_eq!(firings(&t, d).await.len(), 1);
        assert_eq!(instances_of(&t, d).await.len(), 1);
    }
    let desk = t.token("petra", &["pension-desk"]);
    assert_eq!(my_open_tasks(&t, &desk).await.len(), 6);
}

#[actix_web::test]
async fn a_late_scheduler_fires_what_came_due_once_and_closed_dossiers_not_at_all() {
    let t = TestApp::spawn().await;
    pension_model(&t).await;
    let a = open_dossier(
        &t,
        json!({"type": "collective_pension", "customer_ref": "A",
                                    "attributes": {"birth_date": "1960-02-29"}}),
    )
    .await;
    let b = open_dossier(
        &t,
        json!({"type": "collective_pension", "customer_ref": "B",
                                    "attributes": {"birth_date": "1961-01-31"}}),
    )
    .await;
    let none = open_dossier(&t, json!({"type": "collective_pension", "customer_ref": "C"})).await;
    assert!(triggers(&t, &none).await.is_empty(), "no birth date, no trigger");
    assert_eq!(triggers(&t, &a).await[0]["due_on"], "2027-02-28", "29 February + 67 years");
    // b is closed before its day comes.
    let res = t.post(&format!("/api/v1/dossiers/{}/close", id(&b)), &case_worker(&t), json!(null)).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(triggers(&t, &b).await.is_empty());
    // The scheduler did not run for years.
    t.clock.set(at(2031, 1, 1));
    let report = t.run_scheduler().await;
    assert_eq!(report.date_rules_fired, 1);
    assert_eq!(t.run_scheduler().await.date_rules_fired, 0);
    assert_eq!(firings(&t, &a).await.len(), 1);
    assert!(firings(&t, &b).await.is_empty());
    // Reopened, b's trigger is back and, long due, fires at the next pass.
    let res = t.post(&format!("/api/v1/dossiers/{}/reopen", id(&b)), &case_worker(&t), json!(null)).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(triggers(&t, &b).await[0]["due_on"], "2028-01-31");
    assert_eq!(t.run_scheduler().await.date_rules_fired, 1);
    assert_eq!(firings(&t, &b).await.len(), 1);
}

#[actix_web::test]
async fn attribute_rules_fire_only_when_their_conditions_hold() {
    let t = TestApp::spawn().await;
    define_workflow(&t, json!({"key": "review", "name": "Review", "steps": [{"key": "look", "name": "Look"}]})).await;
    define_type(
        &t,
        json!({
            "key": "loan", "name": "Loan", "default_owner": {"role": "loans"},
            "attributes": [
                {"key": "country", "label": "Country", "data_type": "enum", "options": ["nl", "be", "de"]},
                {"key": "amount", "label": "Amount", "data_type": "integer"},
            ],
            "rules": [
                {"key": "emigrated", "workflow": "review",
                 "trigger": {"kind": "attribute_changed", "attribute": "country",
                             "conditions": [{"on": "old", "op": "eq", "value": "nl"}, {"op": "in", "value": ["be", "de"]}]}},
                {"key": "big_raise", "workflow": "review", "responsible": {"user": "boss"},
                 "trigger": {"kind": "attribute_changed", "attribute": "amount",
                             "conditions": [{"op": "gte", "value": 100000}, {"on": "old", "op": "set"}]}},
            ]
        }),
    )
    .await;
    let d = open_dossier(&t, json!({"type": "loan", "customer_ref": "X", "attributes": {"country": "be"}})).await;
    // be → nl: the old value is not nl.
    patch_dossier(&t, &d, json!({"attributes": {"country": "nl"}})).await;
    assert!(firings(&t, &d).await.is_empty());
    // Amount set for the first time (no old value), even if large: no.
    patch_dossier(&t, &d, json!({"attributes": {"amount": 200000}})).await;
    assert!(firings(&t, &d).await.is_empty());
    // Amount lowered below the threshold: no.
    patch_dossier(&t, &d, json!({"attributes": {"amount": 90000}})).await;
    assert!(firings(&t, &d).await.is_empty());
    // nl → de: yes. And the amount rises to 100000 in the same change: both fire.
    let res = patch_dossier(&t, &d, json!({"attributes": {"country": "de", "amount": 100000}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let fired = firings(&t, &d).await;
    let mut rules: Vec<&str> = fired.iter().map(|f| f["rule"].as_str().unwrap()).collect();
    rules.sort();
    assert_eq!(rules, vec!["big_raise", "emigrated"]);
    assert_eq!(fired[0]["occurrence_key"], fired[1]["occurrence_key"], "one change, one occurrence");
    let boss = t.token("boss", &[]);
    assert_eq!(my_open_tasks(&t, &boss).await.len(), 1);
    let loans = t.token("lou", &["loans"]);
    assert_eq!(my_open_tasks(&t, &loans).await.len(), 1, "no responsible named: the dossier's owner");
    // Unchanged values fire nothing.
    patch_dossier(&t, &d, json!({"attributes": {"country": "de"}})).await;
    assert_eq!(firings(&t, &d).await.len(), 2);
}

#[actix_web::test]
async fn a_changed_type_is_a_new_version_and_existing_dossiers_keep_theirs() {
    let t = TestApp::spawn().await;
    define_workflow(&t, json!({"key": "old_flow", "name": "Old", "steps": [{"key": "a", "name": "A"}]})).await;
    define_workflow(&t, json!({"key": "new_flow", "name": "New", "steps": [{"key": "b", "name": "B"}]})).await;
    let ty = define_type(
        &t,
        json!({"key": "policy", "name": "Policy", "default_owner": {"role": "desk"},
               "attributes": [{"key": "city", "label": "City", "data_type": "text"}],
               "rules": [{"key": "moved", "workflow": "old_flow",
                          "trigger": {"kind": "attribute_changed", "attribute": "city"}}]}),
    )
    .await;
    assert_eq!(ty["version"], 1);
    let old = open_dossier(&t, json!({"type": "policy", "customer_ref": "A", "attributes": {"city": "Delft"}})).await;

    // Version 2: a required attribute and a different workflow.
    let res = t
        .request("PATCH", "/api/v1/dossier-types/policy")
        .bearer(&t.admin())
        .header("If-Match", "\"1\"")
        .json(json!({"attributes": [
            {"key": "city", "label": "City", "data_type": "text"},
            {"key": "policy_no", "label": "Policy number", "data_type": "text", "required": true}],
            "rules": [{"key": "moved", "workflow": "new_flow", "trigger": {"kind": "attribute_changed", "attribute": "city"}}]}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["version"], 2);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    // A stale ETag is refused.
    let res = t
        .request("PATCH", &format!("/api/v1/dossier-types/{}", id(&ty)))
        .bearer(&t.admin())
        .header("If-Match", "\"1\"")
        .json(json!({"name": "X"}))
        .await;
    res.assert_problem(412, "precondition_failed");
    // Version 1 is still readable.
    let v1 = t.get("/api/v1/dossier-types/policy/versions/1", &t.viewer()).await;
    assert_eq!(v1.status, 200);
    assert_eq!(v1.body["rules"][0]["workflow"], "old_flow");
    assert_eq!(v1.body["current_version"], 2);
    t.get("/api/v1/dossier-types/policy/versions/9", &t.viewer()).await.assert_problem(404, "not_found");

    // The existing dossier goes on working on version 1: no policy number needed, old rule.
    let res = patch_dossier(&t, &old, json!({"attributes": {"city": "Leiden"}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["type_version"], 1);
    let inst = &instances_of(&t, &old).await[0];
    assert_eq!(inst["workflow"], "old_flow");

    // New dossiers are on version 2.
    let res = t.post("/api/v1/dossiers", &case_worker(&t), json!({"type": "policy", "customer_ref": "B"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["attributes.policy_no"]);
    let new = open_dossier(
        &t,
        json!({"type": "policy", "customer_ref": "B",
                                      "attributes": {"city": "Delft", "policy_no": "P-1"}}),
    )
    .await;
    assert_eq!(new["type_version"], 2);
    patch_dossier(&t, &new, json!({"attributes": {"city": "Gouda"}})).await;
    assert_eq!(instances_of(&t, &new).await[0]["workflow"], "new_flow");

    // The old dossier moves to version 2 only when its attributes fit it.
    let res = patch_dossier(&t, &old, json!({"type_version": 2})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["attributes.policy_no"]);
    let res = patch_dossier(&t, &old, json!({"type_version": 2, "attributes": {"policy_no": "P-0"}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["type_version"], 2);
    patch_dossier(&t, &old, json!({"type_version": 7})).await.assert_problem(422, "validation_failed");
}

#[actix_web::test]
async fn as_of_returns_the_attributes_of_that_day() {
    let t = TestApp::spawn().await;
    define_type(
        &t,
        json!({"key": "file", "name": "File", "default_owner": {"user": "olga"},
               "attributes": [{"key": "address", "label": "Address", "data_type": "text"},
                              {"key": "income", "label": "Income", "data_type": "integer"}]}),
    )
    .await;
    let d = open_dossier(
        &t,
        json!({"type": "file", "customer_ref": "A", "attributes": {"address": "Delft", "income": 10}}),
    )
    .await;
    t.clock.set(at(2026, 7, 1));
    patch_dossier(&t, &d, json!({"attributes": {"address": "Utrecht", "income": null}})).await;
    t.clock.set(at(2027, 1, 15));
    let res = patch_dossier(&t, &d, json!({"owner": {"role": "desk"}, "attributes": {"income": 30}})).await;
    assert_eq!(res.status, 200, "{}", res.text);

    let url = |day: &str| format!("/api/v1/dossiers/{}?as_of={day}", id(&d));
    let res = t.get(&url("2026-06-15"), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["attributes"], json!({"address": "Delft", "income": 10}));
    assert_eq!(res.body["as_of"], "2026-06-15");
    assert_eq!(res.body["owner"], json!({"user": "olga"}));
    assert_eq!(res.body["version"], 1);
    assert!(res.header("etag").is_none(), "a past state has no ETag");
    let res = t.get(&url("2026-12-31"), &t.viewer()).await;
    assert_eq!(res.body["attributes"], json!({"address": "Utrecht"}));
    assert_eq!(res.body["version"], 2);
    let res = t.get(&url("2027-01-15"), &t.viewer()).await;
    assert_eq!(res.body["attributes"], json!({"address": "Utrecht", "income": 30}));
    assert_eq!(res.body["owner"], json!({"role": "desk"}));
    let now = t.get(&format!("/api/v1/dossiers/{}", id(&d)), &t.viewer()).await;
    assert_eq!(res.body["attributes"], now.body["attributes"]);
    assert_eq!(now.body.get("as_of"), Some(&Value::Null), "as_of is always sent: {}", now.text);
    let listed = t.get("/api/v1/dossiers", &t.viewer()).await;
    assert!(
        listed.body["items"].as_array().unwrap().iter().all(|x| x.get("as_of") == Some(&Value::Null)),
        "{}",
        listed.text
    );
    t.get(&url("2026-06-14"), &t.viewer()).await.assert_problem(404, "not_found");
    t.get(&url("yesterday"), &t.viewer()).await.assert_problem(400, "invalid_query");
    t.get(&format!("/api/v1/dossiers/{}?asof=2026-01-01", id(&d)), &t.viewer())
        .await
        .assert_problem(400, "unknown_parameter");
}

#[actix_web::test]
async fn posted_events_fire_their_rules_once() {
    let t = TestApp::spawn().await;
    define_workflow(&t, json!({"key": "relocation", "name": "Relocation", "steps": [{"key": "a", "name": "A"}]})).await;
    define_type(
        &t,
        json!({"key": "mortgage", "name": "Mortgage", "default_owner": {"role": "mortgage-desk"},
               "rules": [{"key": "on_moved", "workflow": "relocation", "trigger": {"kind": "event_posted", "event": "moved"}}]}),
    )
    .await;
    let d = open_dossier(&t, json!({"type": "mortgage", "customer_ref": "A"})).await;
    let url = format!("/api/v1/dossiers/{}/events", id(&d));
    let res = t.post(&url, &case_worker(&t), json!({"type": "moved", "data": {"to": "Utrecht"}, "key": "crm-1"})).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["event"]["type"], "moved");
    assert_eq!(res.body["event"]["data"], json!({"to": "Utrecht"}));
    assert_eq!(res.body["firings"].as_array().unwrap().len(), 1);
    assert_eq!(res.body["firings"][0]["rule"], "on_moved");
    let first = res.body.clone();
    // The same key again: the first post, nothing fired again.
    let res = t.post(&url, &case_worker(&t), json!({"type": "moved", "data": {"to": "Utrecht"}, "key": "crm-1"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["event"]["id"], first["event"]["id"]);
    assert_eq!(res.body["firings"], first["firings"]);
    // Another event name fires nothing; another post of `moved` fires again.
    let res = t.post(&url, &case_worker(&t), json!({"type": "married"})).await;
    assert_eq!(res.status, 201);
    assert!(res.body["firings"].as_array().unwrap().is_empty());
    assert_eq!(
        t.post(&url, &case_worker(&t), json!({"type": "moved"})).await.body["firings"].as_array().unwrap().len(),
        1
    );
    assert_eq!(firings(&t, &d).await.len(), 2);
    assert_eq!(instances_of(&t, &d).await.len(), 2);
    assert_eq!(list(&t, &url).await.len(), 3);
    // Bad input and roles.
    t.post(&url, &case_worker(&t), json!({"type": ""})).await.assert_problem(422, "validation_failed");
    t.post(&url, &case_worker(&t), json!({"data": {}})).await.assert_problem(422, "validation_failed");
    t.post(&url, &t.viewer(), json!({"type": "moved"})).await.assert_problem(403, "forbidden");
    t.post("/api/v1/dossiers/nope/events", &case_worker(&t), json!({"type": "moved"}))
        .await
        .assert_problem(404, "not_found");
    // A closed dossier takes no events (after its workflows end).
    for i in instances_of(&t, &d).await {
        let res = t.post(&format!("/api/v1/workflow-instances/{}/cancel", id(&i)), &case_worker(&t), json!(null)).await;
        assert_eq!(res.status, 200, "{}", res.text);
    }
    assert_eq!(t.post(&format!("/api/v1/dossiers/{}/close", id(&d)), &case_worker(&t), json!(null)).await.status, 200);
    t.post(&url, &case_worker(&t), json!({"type": "moved"})).await.assert_problem(409, "dossier_closed");
}

#[actix_web::test]
async fn dossiers_are_filtered_by_their_fields_and_attributes() {
    let t = TestApp::spawn().await;
    define_type(
        &t,
        json!({"key": "mortgage", "name": "Mortgage", "default_owner": {"role": "mortgage-desk"},
               "attributes": [{"key": "city", "label": "City", "data_type": "text"},
                              {"key": "since", "label": "Since", "data_type": "date"}]}),
    )
    .await;
    define_type(&t, json!({"key": "pension", "name": "Pension", "default_owner": {"user": "olga"}})).await;
    let contract = t.create_contract(json!({})).await;
    let a = open_dossier(
        &t,
        json!({"type": "mortgage", "customer_ref": "C1", "contract_id": contract["id"],
                                    "attributes": {"city": "Delft", "since": "2020-01-01"}}),
    )
    .await;
    let b = open_dossier(
        &t,
        json!({"type": "mortgage", "customer_ref": "C2", "owner": {"user": "bob"},
                                    "attributes": {"city": "Utrecht", "since": "2024-05-01"}}),
    )
    .await;
    let c = open_dossier(&t, json!({"type": "pension", "customer_ref": "C1"})).await;
    assert_eq!(t.post(&format!("/api/v1/dossiers/{}/close", id(&c)), &case_worker(&t), json!(null)).await.status, 200);
    let ids = |items: Vec<Value>| items.iter().map(id).collect::<Vec<_>>();
    assert_eq!(ids(list(&t, "/api/v1/dossiers").await), vec![id(&a), id(&b), id(&c)]);
    assert_eq!(ids(list(&t, "/api/v1/dossiers?type=mortgage").await), vec![id(&a), id(&b)]);
    assert_eq!(ids(list(&t, "/api/v1/dossiers?customer_ref=C1").await), vec![id(&a), id(&c)]);
    assert_eq!(ids(list(&t, &format!("/api/v1/dossiers?contract_id={}", id(&contract))).await), vec![id(&a)]);
    assert_eq!(ids(list(&t, "/api/v1/dossiers?owner_user=bob").await), vec![id(&b)]);
    assert_eq!(ids(list(&t, "/api/v1/dossiers?owner_role=mortgage-desk").await), vec![id(&a)]);
    assert_eq!(ids(list(&t, "/api/v1/dossiers?status=closed").await), vec![id(&c)]);
    assert_eq!(ids(list(&t, "/api/v1/dossiers?attr.city=Utrecht").await), vec![id(&b)]);
    assert_eq!(ids(list(&t, "/api/v1/dossiers?type=mortgage&attr.since.gte=2021-01-01").await), vec![id(&b)]);
    assert_eq!(ids(list(&t, "/api/v1/dossiers?attr.since.lte=2021-01-01&customer_ref=C1").await), vec![id(&a)]);
    // Pages follow the cursor.
    let res = t.get("/api/v1/dossiers?limit=2", &t.viewer()).await;
    assert_eq!(res.body["items"].as_array().unwrap().len(), 2);
    let cursor = res.body["next_cursor"].as_str().unwrap().to_string();
    assert_eq!(ids(list(&t, &format!("/api/v1/dossiers?limit=2&cursor={cursor}")).await), vec![id(&c)]);
    // Bad filters are 400.
    for bad in [
        "status=gone",
        "attr.colour=red",
        "attr.since=soon",
        "attr.city.gte=a",
        "owner_user=a&owner_role=b",
        "kind=x",
        "limit=0",
    ] {
        let res = t.get(&format!("/api/v1/dossiers?{bad}"), &t.viewer()).await;
        assert_eq!(res.status, 400, "{bad}: {}", res.text);
    }
}

#[actix_web::test]
async fn dossier_types_and_dossiers_refuse_bad_input_and_roles() {
    let t = TestApp::spawn().await;
    define_workflow(&t, json!({"key": "wf", "name": "WF", "steps": [{"key": "a", "name": "A"}]})).await;
    let body = json!({"key": "mortgage", "name": "Mortgage",
                      "attributes": [{"key": "address", "label": "Address", "data_type": "text"},
                                     {"key": "kind", "label": "Kind", "data_type": "enum", "options": ["a"]}]});
    t.post("/api/v1/dossier-types", &case_worker(&t), body.clone()).await.assert_problem(403, "forbidden");
    define_type(&t, body.clone()).await;
    t.post("/api/v1/dossier-types", &t.admin(), body).await.assert_problem(409, "duplicate_key");
    // Rules naming what does not exist, or a date rule on a text.
    let res = t
        .post(
            "/api/v1/dossier-types",
            &t.admin(),
            json!({"key": "bad", "name": "Bad",
                   "attributes": [{"key": "address", "label": "Address", "data_type": "text"},
                                  {"key": "address", "label": "Again", "data_type": "text"},
                                  {"key": "pick", "label": "Pick", "data_type": "enum"}],
                   "rules": [{"key": "r1", "workflow": "nope", "trigger": {"kind": "event_posted", "event": "x"}},
                             {"key": "r2", "workflow": "wf", "trigger": {"kind": "date_reached", "attribute": "address", "offset": "P67Y"}},
                             {"key": "r3", "workflow": "wf", "trigger": {"kind": "attribute_changed", "attribute": "zip"}},
                             {"key": "r4", "workflow": "wf", "trigger": {"kind": "date_reached", "attribute": "born", "offset": "67Y"}}]}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(
        res.error_fields(),
        vec![
            "attributes[1].key",
            "attributes[2].options",
            "rules[0].workflow",
            "rules[1].trigger.attribute",
            "rules[2].trigger.attribute",
            "rules[3].trigger.attribute",
            "rules[3].trigger.offset",
        ]
    );
    // One key keeps one type across dossier types.
    let res = t
        .post(
            "/api/v1/dossier-types",
            &t.admin(),
            json!({"key": "other", "name": "Other", "attributes": [{"key": "address", "label": "A", "data_type": "integer"}]}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.body["errors"][0]["code"], "attribute_key_conflict");
    t.post("/api/v1/dossier-types", &t.admin(), json!({"key": "x", "name": "X", "trigger": 1}))
        .await
        .assert_problem(422, "validation_failed");

    // Dossiers: role, unknown type and contract, no owner, bad attributes.
    let cw = case_worker(&t);
    t.post("/api/v1/dossiers", &t.viewer(), json!({"type": "mortgage", "customer_ref": "A"}))
        .await
        .assert_problem(403, "forbidden");
    let res =
        t.post("/api/v1/dossiers", &cw, json!({"type": "nope", "customer_ref": "A", "owner": {"user": "x"}})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["type"]);
    let res = t.post("/api/v1/dossiers", &cw, json!({"type": "mortgage", "customer_ref": "A"})).await;
    assert_eq!(res.error_fields(), vec!["owner"], "the type has no default owner");
    let res = t
        .post(
            "/api/v1/dossiers",
            &cw,
            json!({"type": "mortgage", "customer_ref": "A", "owner": {"user": "x"}, "contract_id": "nope"}),
        )
        .await;
    assert_eq!(res.error_fields(), vec!["contract_id"]);
    let res =
        t.post("/api/v1/dossiers", &cw, json!({"type": "mortgage", "customer_ref": " ", "owner": {"team": "x"}})).await;
    res.assert_problem(422, "validation_failed");
    let res = t
        .post(
            "/api/v1/dossiers",
            &cw,
            json!({"type": "mortgage", "customer_ref": "A", "owner": {"user": "x"}, "attributes": {"kind": "b", "zip": 1}}),
        )
        .await;
    assert_eq!(res.error_fields(), vec!["attributes.kind", "attributes.zip"]);
    assert!(list(&t, "/api/v1/dossiers").await.is_empty(), "nothing was stored");

    // Status changes: 409 for the wrong state.
    let d = open_dossier(&t, json!({"type": "mortgage", "customer_ref": "A", "owner": {"user": "x"}})).await;
    let url = format!("/api/v1/dossiers/{}", id(&d));
    t.post(&format!("{url}/reopen"), &cw, json!(null)).await.assert_problem(409, "invalid_transition");
    let res = t.post(&format!("{url}/workflows"), &cw, json!({"workflow": "wf"})).await;
    assert_eq!(res.status, 201, "{}", res.text);
    t.post(&format!("{url}/close"), &cw, json!(null)).await.assert_problem(409, "workflows_running");
    let inst = res.body;
    let res =
        t.post(&format!("/api/v1/workflow-instances/{}/cancel", id(&inst)), &cw, json!({"note": "not needed"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let closed = t.post(&format!("{url}/close"), &cw, json!(null)).await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    assert_eq!(closed.body["status"], "closed");
    t.post(&format!("{url}/close"), &cw, json!(null)).await.assert_problem(409, "invalid_transition");
    t.patch(&url, &cw, json!({"customer_ref": "B"})).await.assert_problem(409, "dossier_closed");
    t.post(&format!("{url}/workflows"), &cw, json!({"workflow": "wf"})).await.assert_problem(409, "dossier_closed");
    // Unknown dossiers are 404 everywhere.
    for path in ["", "/history", "/rule-firings", "/date-triggers", "/events"] {
        t.get(&format!("/api/v1/dossiers/nope{path}"), &t.viewer()).await.assert_problem(404, "not_found");
    }
    t.get("/api/v1/dossier-types/nope", &t.viewer()).await.assert_problem(404, "not_found");
}

#[actix_web::test]
async fn global_dossier_attribute_definitions_apply_beside_the_type_schema() {
    let t = TestApp::spawn().await;
    define_type(
        &t,
        json!({"key": "mortgage", "name": "Mortgage", "default_owner": {"role": "desk"},
               "attributes": [{"key": "address", "label": "Address", "data_type": "text"}]}),
    )
    .await;
    // A definition that contradicts a type's schema is refused.
    let res = t
        .post(
            "/api/v1/attribute-definitions",
            &t.admin(),
            json!({"entity_kind": "dossier", "key": "address", "label": "A", "data_type": "integer"}),
        )
        .await;
    res.assert_problem(409, "attribute_key_conflict");
    // One for all dossiers is validated and filterable like the type's own attributes.
    let def = t
        .define_attribute(json!({"entity_kind": "dossier", "key": "segment", "label": "Segment",
                                 "data_type": "enum", "options": ["retail", "private"]}))
        .await;
    let res = t
        .post(
            "/api/v1/dossiers",
            &case_worker(&t),
            json!({"type": "mortgage", "customer_ref": "A",
                                                          "attributes": {"segment": "wholesale"}}),
        )
        .await;
    assert_eq!(res.error_fields(), vec!["attributes.segment"]);
    let d =
        open_dossier(&t, json!({"type": "mortgage", "customer_ref": "A", "attributes": {"segment": "private"}})).await;
    let found = list(&t, "/api/v1/dossiers?attr.segment=private").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], d["id"]);
    // Its values are in use: the definition cannot lose the option or change type.
    let res = t
        .patch(&format!("/api/v1/attribute-definitions/{}", id(&def)), &t.admin(), json!({"options": ["retail"]}))
        .await;
    res.assert_problem(409, "attribute_in_use");
    // A type cannot take the key over with another type either.
    let res = t
        .post(
            "/api/v1/dossier-types",
            &t.admin(),
            json!({"key": "pension", "name": "Pension", "attributes": [{"key": "segment", "label": "S", "data_type": "text"}]}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.body["errors"][0]["code"], "attribute_key_conflict");
    // Rules may use the global attributes.
    define_workflow(&t, json!({"key": "upsell", "name": "Upsell", "steps": [{"key": "call", "name": "Call"}]})).await;
    let res = t
        .patch(
            "/api/v1/dossier-types/mortgage",
            &t.admin(),
            json!({"rules": [{"key": "went_private", "workflow": "upsell",
                              "trigger": {"kind": "attribute_changed", "attribute": "segment",
                                          "conditions": [{"op": "eq", "value": "retail"}]}}]}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let d2 =
        open_dossier(&t, json!({"type": "mortgage", "customer_ref": "B", "attributes": {"segment": "private"}})).await;
    assert_eq!(patch_dossier(&t, &d2, json!({"attributes": {"segment": "retail"}})).await.status, 200);
    assert_eq!(firings(&t, &d2).await[0]["rule"], "went_private");
}

#[actix_web::test]
async fn a_date_rule_that_fails_to_fire_does_not_hold_up_the_others() {
    use diesel::RunQueryDsl;
    let t = TestApp::spawn().await;
    pension_model(&t).await;
    define_workflow(
        &t,
        json!({"key": "farewell", "name": "Farewell", "steps": [{"key": "card", "name": "Send a card"}]}),
    )
    .await;
    define_type(
        &t,
        json!({"key": "staff", "name": "Staff", "default_owner": {"role": "hr"},
               "attributes": [{"key": "born", "label": "Born", "data_type": "date"}],
               "rules": [{"key": "leaving", "workflow": "farewell",
                          "trigger": {"kind": "date_reached", "attribute": "born", "offset": "P67Y"}}]}),
    )
    .await;
    // The earlier trigger's workflow is broken behind the service's back.
    let broken = open_dossier(
        &t,
        json!({"type": "collective_pension", "customer_ref": "A",
                                         "attributes": {"birth_date": "1959-07-01"}}),
    )
    .await;
    let fine =
        open_dossier(&t, json!({"type": "staff", "customer_ref": "B", "attributes": {"born": "1959-07-02"}})).await;
    let db = t.state.db.clone();
    actix_web::web::block(move || {
        db.write_blocking(|c| {
            diesel::sql_query("UPDATE workflow_versions SET steps = '[]' WHERE name = 'Retirement'")
                .execute(c)
                .map_err(pactum::http::ApiError::from)
        })
    })
    .await
    .unwrap()
    .unwrap();
    t.clock.set(at(2026, 8, 1));
    let report = t.run_scheduler().await;
    assert_eq!((report.date_rules_fired, report.failures), (1, 1), "{report:?}");
    assert_eq!(firings(&t, &fine).await.len(), 1);
    assert!(firings(&t, &broken).await.is_empty());
    assert_eq!(triggers(&t, &broken).await[0]["status"], "pending", "tried again at the next pass");
}

/// A pension model whose type names the pension desk (default owner) and Rita (responsible of
/// its rule), and a review workflow whose step goes to the valuers, whom the type does not name.
async fn review_model(t: &TestApp) {
    define_workflow(
        t,
        json!({"key": "review", "name": "Review",
               "steps": [{"key": "assess", "name": "Assess", "assignee": {"role": "valuers"}}]}),
    )
    .await;
    define_type(
        t,
        json!({
            "key": "pension", "name": "Pension", "default_owner": {"role": "pension-desk"},
            "attributes": [{"key": "birth_date", "label": "Born", "data_type": "date"},
                           {"key": "address", "label": "Address", "data_type": "text"}],
            "rules": [{"key": "review_on_request", "trigger": {"kind": "event_posted", "event": "review"},
                       "workflow": "review", "responsible": {"user": "rita"}}]
        }),
    )
    .await;
    define_type(
        t,
        json!({"key": "loan", "name": "Loan",
               "attributes": [{"key": "birth_date", "label": "Born", "data_type": "date"}]}),
    )
    .await;
}

/// The ids of every dossier `token` lists, page by page (`limit=1`, so the cursor is used).
async fn listed_ids(t: &TestApp, token: &str) -> Vec<String> {
    let (mut ids, mut url) = (Vec::new(), "/api/v1/dossiers?limit=1".to_string());
    loop {
        let res = t.get(&url, token).await;
        assert_eq!(res.status, 200, "{}", res.text);
        ids.extend(res.body["items"].as_array().unwrap().iter().map(id));
        match res.body["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/dossiers?limit=1&cursor={c}"),
            None => return ids,
        }
    }
}

/// Every read of one dossier: itself, as of a day, its history, posted events, rule firings
/// and date triggers.
fn reads_of(dossier: &str) -> Vec<String> {
    ["", "?as_of=2026-06-15", "/history", "/events", "/rule-firings", "/date-triggers"]
        .iter()
        .map(|p| format!("/api/v1/dossiers/{dossier}{p}"))
        .collect()
}

async fn assert_reads(t: &TestApp, token: &str, dossier: &str, allowed: bool) {
    for url in reads_of(dossier) {
        let res = t.get(&url, token).await;
        if allowed {
            assert_eq!(res.status, 200, "GET {url}: {}", res.text);
        } else {
            res.assert_problem(404, "not_found");
            assert!(!res.text.contains("1961"), "nothing of the dossier in the refusal: {}", res.text);
        }
    }
}

#[actix_web::test]
async fn a_dossier_is_read_only_by_case_workers_auditors_admins_and_those_it_names() {
    let t = TestApp::spawn().await;
    review_model(&t).await;
    let desk_case = open_dossier(
        &t,
        json!({"type": "pension", "customer_ref": "CUST-1",
               "attributes": {"birth_date": "1961-03-01", "address": "Kerkstraat 1, Delft"}}),
    )
    .await;
    let oscars = open_dossier(
        &t,
        json!({"type": "loan", "customer_ref": "CUST-2", "owner": {"user": "oscar"},
               "attributes": {"birth_date": "1961-04-02"}}),
    )
    .await;
    let loans_case =
        open_dossier(&t, json!({"type": "loan", "customer_ref": "CUST-3", "owner": {"role": "loans"}})).await;
    let all = vec![id(&desk_case), id(&oscars), id(&loans_case)];

    // A field team, even with other permission roles, reads none of them, and cannot tell
    // them from dossiers that do not exist.
    let field = t.token("piet", &["maintenance-crew", "service_agent", "contract_manager", "planner", "integration"]);
    assert!(listed_ids(&t, &field).await.is_empty());
    for d in &all {
        assert_reads(&t, &field, d, false).await;
    }
    let res = t.get("/api/v1/dossiers?customer_ref=CUST-1&type=pension", &field).await;
    assert_eq!(res.body["items"], json!([]), "filters do not get round it");

    // Admins, case workers and auditors read them all.
    for token in [t.admin(), case_worker(&t), t.viewer()] {
        assert_eq!(listed_ids(&t, &token).await, all);
        for d in &all {
            assert_reads(&t, &token, d, true).await;
        }
    }

    // The owner by sub, an owning team by role.
    let oscar = t.token("oscar", &[]);
    assert_eq!(listed_ids(&t, &oscar).await, vec![id(&oscars)]);
    assert_reads(&t, &oscar, &id(&oscars), true).await;
    assert_reads(&t, &oscar, &id(&desk_case), false).await;
    let loans = t.token("lou", &["loans"]);
    assert_eq!(listed_ids(&t, &loans).await, vec![id(&loans_case)]);
    assert_reads(&t, &t.token("loans", &[]), &id(&loans_case), false).await;

    // Those the type names (default owner, a rule's responsible) read every dossier of the type.
    for token in [t.token("petra", &["pension-desk"]), t.token("rita", &[])] {
        assert_eq!(listed_ids(&t, &token).await, vec![id(&desk_case)]);
        assert_reads(&t, &token, &id(&desk_case), true).await;
        assert_reads(&t, &token, &id(&oscars), false).await;
    }

    // The assignee of a running workflow's active step, while it runs.
    let valuer = t.token("vera", &["valuers"]);
    assert!(listed_ids(&t, &valuer).await.is_empty());
    let url = format!("/api/v1/dossiers/{}/events", id(&desk_case));
    let res = t.post(&url, &case_worker(&t), json!({"type": "review"})).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(listed_ids(&t, &valuer).await, vec![id(&desk_case)]);
    assert_reads(&t, &valuer, &id(&desk_case), true).await;
    let step = my_open_tasks(&t, &valuer).await;
    assert_eq!(step.len(), 1, "{step:?}");
    assert_eq!(complete(&t, &step[0], &valuer, json!({})).await.status, 200);
    assert!(listed_ids(&t, &valuer).await.is_empty(), "the workflow ended");
    assert_reads(&t, &valuer, &id(&desk_case), false).await;

    // A type that stops naming a team takes its access away.
    let res = t.patch("/api/v1/dossier-types/pension", &t.admin(), json!({"default_owner": null, "rules": null})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(listed_ids(&t, &t.token("rita", &[])).await.is_empty());
    assert_eq!(listed_ids(&t, &t.token("petra", &["pension-desk"])).await, vec![id(&desk_case)], "still its owner");
}

#[actix_web::test]
async fn event_data_is_capped_and_event_pages_are_bounded_by_size() {
    let t = TestApp::spawn().await;
    define_type(&t, json!({"key": "mortgage", "name": "Mortgage", "default_owner": {"role": "mortgage-desk"}})).await;
    let d = open_dossier(&t, json!({"type": "mortgage", "customer_ref": "C-9"})).await;
    let events_url = format!("/api/v1/dossiers/{}/events", id(&d));

    // Over 32 KiB of data: refused, nothing stored.
    let res =
        t.post(&events_url, &case_worker(&t), json!({"type": "letter", "data": {"text": "x".repeat(33 * 1024)}})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(
        (res.body["errors"][0]["field"].clone(), res.body["errors"][0]["code"].clone()),
        (json!("data"), json!("too_large"))
    );
    assert_eq!(t.get(&events_url, &t.viewer()).await.body["items"], json!([]));

    // Forty events of 30 KB: a page of up to 500 stops at about 1 MiB and the cursor goes on.
    for n in 0..40 {
        let body = json!({"type": "letter", "data": {"n": n, "text": "y".repeat(30_000)}});
        assert_eq!(t.post(&events_url, &case_worker(&t), body).await.status, 201);
    }
    let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let url = match &cursor {
            Some(c) => format!("{events_url}?limit=500&cursor={c}"),
            None => format!("{events_url}?limit=500"),
        };
        let res = t.get(&url, &t.viewer()).await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert!(res.text.len() <= 1024 * 1024 + 32 * 1024, "a page of {} bytes", res.text.len());
        seen.extend(res.body["items"].as_array().unwrap().iter().map(|e| e["data"]["n"].as_i64().unwrap()));
        pages += 1;
        match res.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, (0..40).collect::<Vec<i64>>(), "every event once, in order");
    assert!(pages >= 2, "forty 30 KB events do not fit one page");
}
