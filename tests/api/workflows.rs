//! Workflows through the API: definition validation (422 naming the step), versioning with
//! running instances bound to their version, starting by hand, cancelling (which cancels the
//! open step task), skipping steps, the 409s of illegal transitions, and the instance filters.

use crate::common::TestApp;
use crate::dossiers::{case_worker, define_type, define_workflow, id, instance, list, my_open_tasks, open_dossier};
use serde_json::{json, Value};

async fn start(t: &TestApp, dossier: &Value, body: Value) -> Value {
    let res = t.post(&format!("/api/v1/dossiers/{}/workflows", id(dossier)), &case_worker(t), body).await;
    assert_eq!(res.status, 201, "start workflow: {}", res.text);
    assert_eq!(res.header("location"), Some(format!("/api/v1/workflow-instances/{}", id(&res.body))));
    res.body
}

async fn simple_dossier(t: &TestApp) -> Value {
    if t.get("/api/v1/dossier-types/case", &t.viewer()).await.status == 404 {
        define_type(t, json!({"key": "case", "name": "Case", "default_owner": {"role": "desk"}})).await;
    }
    open_dossier(t, json!({"type": "case", "customer_ref": "A"})).await
}

#[actix_web::test]
async fn invalid_definitions_are_422_naming_the_step() {
    let t = TestApp::spawn().await;
    let post = |body: Value| {
        let t = &t;
        async move { t.post("/api/v1/workflows", &t.admin(), body).await }
    };
    // An unknown step.
    let res = post(json!({"key": "w", "name": "W", "steps": [
        {"key": "a", "name": "A", "outcomes": [{"key": "ok", "next": "b"}, {"key": "no", "next": "archive"}]},
        {"key": "b", "name": "B"}]}))
    .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["steps[0].outcomes[1].next"]);
    assert_eq!(res.body["errors"][0]["code"], "unknown_step");
    assert!(res.body["errors"][0]["message"].as_str().unwrap().contains("`archive`"));
    // An unreachable step.
    let res = post(json!({"key": "w", "name": "W", "steps": [
        {"key": "a", "name": "A", "next": "end"}, {"key": "orphan", "name": "O"}]}))
    .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["steps[1]"]);
    assert_eq!(res.body["errors"][0]["code"], "unreachable");
    assert!(res.body["detail"].as_str().unwrap().contains("orphan"));
    // No way to end.
    let res = post(json!({"key": "w", "name": "W", "steps": [
        {"key": "a", "name": "A"}, {"key": "b", "name": "B", "next": "a"}]}))
    .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["steps[0]", "steps[1]"]);
    assert_eq!(res.body["errors"][1]["code"], "no_end");
    // Keys, names, periods and assignees.
    let res = post(json!({"key": "Bad Key", "name": "", "steps": [
        {"key": "a", "name": "A", "due_in": "five days", "assignee": {"role": ""}},
        {"key": "a", "name": "again"}]}))
    .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["key", "name", "steps[0].assignee", "steps[0].due_in", "steps[1].key"]);
    post(json!({"key": "w", "name": "W", "steps": []})).await.assert_problem(422, "validation_failed");
    post(json!({"key": "w", "name": "W", "steps": [{"key": "a", "name": "A", "assignee": "nobody"}]}))
        .await
        .assert_problem(422, "validation_failed");
    // Roles: only admins model workflows.
    let res = t
        .post(
            "/api/v1/workflows",
            &case_worker(&t),
            json!({"key": "w", "name": "W", "steps": [{"key": "a", "name": "A"}]}),
        )
        .await;
    res.assert_problem(403, "forbidden");
    assert!(list(&t, "/api/v1/workflows").await.is_empty(), "nothing was stored");
    // A valid one, then the key is taken.
    let w = define_workflow(&t, json!({"key": "w", "name": "W", "steps": [{"key": "a", "name": "A"}]})).await;
    assert_eq!(w["version"], 1);
    assert_eq!(w["steps"][0]["assignee"], "responsible");
    t.post("/api/v1/workflows", &t.admin(), json!({"key": "w", "name": "W", "steps": [{"key": "a", "name": "A"}]}))
        .await
        .assert_problem(409, "duplicate_key");
    // A change that breaks it is refused and leaves it as it was.
    let res =
        t.patch("/api/v1/workflows/w", &t.admin(), json!({"steps": [{"key": "a", "name": "A", "next": "zz"}]})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["steps[0].next"]);
    assert_eq!(t.get("/api/v1/workflows/w", &t.viewer()).await.body["version"], 1);
    t.get("/api/v1/workflows/nope", &t.viewer()).await.assert_problem(404, "not_found");
}

#[actix_web::test]
async fn running_instances_keep_their_definition_version() {
    let t = TestApp::spawn().await;
    let w = define_workflow(
        &t,
        json!({"key": "intake", "name": "Intake", "steps": [
            {"key": "collect", "name": "Collect papers"}, {"key": "check", "name": "Check papers"}]}),
    )
    .await;
    let d = simple_dossier(&t).await;
    let first = start(&t, &d, json!({"workflow": "intake"})).await;
    assert_eq!(first["workflow_version"], 1);
    assert_eq!(first["responsible"], json!({"role": "desk"}), "default: the dossier's owner");

    // Version 2 drops the check and adds an approval by a named user.
    let res = t
        .request("PATCH", &format!("/api/v1/workflows/{}", id(&w)))
        .bearer(&t.admin())
        .header("If-Match", "\"1\"")
        .json(json!({"steps": [{"key": "collect", "name": "Collect papers"},
                               {"key": "approve", "name": "Approve", "assignee": {"user": "anna"}}]}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["version"], 2);
    let v1 = t.get("/api/v1/workflows/intake/versions/1", &t.viewer()).await;
    assert_eq!(v1.body["steps"][1]["key"], "check");
    assert_eq!(v1.body["current_version"], 2);
    // An unchanged patch makes no version.
    let res = t.patch("/api/v1/workflows/intake", &t.admin(), json!({"name": "Intake"})).await;
    assert_eq!(res.body["version"], 2);

    let second = start(&t, &d, json!({"workflow": "intake", "responsible": {"user": "sam"}})).await;
    assert_eq!(second["workflow_version"], 2);
    let desk = t.token("dirk", &["desk"]);
    let sam = t.token("sam", &[]);
    // The first instance goes on with version 1's steps.
    let tasks = my_open_tasks(&t, &desk).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(t.post(&format!("/api/v1/tasks/{}/complete", id(&tasks[0])), &desk, json!({})).await.status, 200);
    let next = my_open_tasks(&t, &desk).await;
    assert_eq!(next[0]["title"], "Intake: Check papers");
    // The second follows version 2.
    let tasks = my_open_tasks(&t, &sam).await;
    assert_eq!(t.post(&format!("/api/v1/tasks/{}/complete", id(&tasks[0])), &sam, json!({})).await.status, 200);
    let anna = t.token("anna", &[]);
    assert_eq!(my_open_tasks(&t, &anna).await[0]["title"], "Intake: Approve");
    assert_eq!(instance(&t, &id(&first)).await["current_step"], "check");
    assert_eq!(instance(&t, &id(&second)).await["current_step"], "approve");
}

#[actix_web::test]
async fn cancelling_an_instance_cancels_its_open_task_and_illegal_moves_are_409() {
    let t = TestApp::spawn().await;
    define_workflow(
        &t,
        json!({"key": "claim", "name": "Claim", "steps": [
            {"key": "assess", "name": "Assess", "outcomes": [{"key": "pay"}, {"key": "reject", "next": "end"}]},
            {"key": "pay", "name": "Pay", "assignee": "owner"}]}),
    )
    .await;
    let d = simple_dossier(&t).await;
    let cw = case_worker(&t);
    let inst = start(&t, &d, json!({"workflow": "claim", "responsible": {"role": "claims"}})).await;
    let steps = inst["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0]["status"], "active");
    let task_id = steps[0]["task_id"].as_str().unwrap().to_string();
    let task_url = format!("/api/v1/tasks/{task_id}");
    let claims = t.token("cleo", &["claims"]);

    // A step task is not cancelled on its own, cannot be skipped without an outcome, and only
    // completing takes an outcome.
    t.post(&format!("{task_url}/cancel"), &claims, json!(null)).await.assert_problem(409, "workflow_step");
    t.post(&format!("{task_url}/skip"), &claims, json!(null)).await.assert_problem(422, "validation_failed");
    t.post(&format!("{task_url}/start"), &claims, json!({"outcome": "pay"}))
        .await
        .assert_problem(422, "validation_failed");
    // Someone else may not complete it.
    t.post(&format!("{task_url}/complete"), &t.token("eve", &[]), json!({"outcome": "pay"}))
        .await
        .assert_problem(403, "forbidden");
    // Starting it is fine; the instance stays at the step.
    assert_eq!(t.post(&format!("{task_url}/start"), &claims, json!(null)).await.status, 200);

    // Only case workers cancel, with If-Match honoured.
    let url = format!("/api/v1/workflow-instances/{}/cancel", id(&inst));
    t.post(&url, &claims, json!(null)).await.assert_problem(403, "forbidden");
    let res = t.request("POST", &url).bearer(&cw).header("If-Match", "\"9\"").json(json!(null)).await;
    res.assert_problem(412, "precondition_failed");
    t.post(&url, &cw, json!({"outcome": "x"})).await.assert_problem(422, "validation_failed");
    let res = t.post(&url, &cw, json!({"note": "customer withdrew"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "cancelled");
    assert_eq!(res.body["steps"][0]["status"], "cancelled");
    let task = t.get(&task_url, &claims).await.body;
    assert_eq!(task["status"], "cancelled");
    assert_eq!(task["result_note"], "customer withdrew");
    assert_eq!(task["closed_by"], "carla");
    assert!(my_open_tasks(&t, &claims).await.is_empty());
    // Cancelling again, or completing the cancelled step, is a conflict.
    t.post(&url, &cw, json!(null)).await.assert_problem(409, "invalid_transition");
    t.post(&format!("{task_url}/complete"), &claims, json!({"outcome": "pay"}))
        .await
        .assert_problem(409, "invalid_transition");

    // Starting needs a known workflow, a case worker, a dossier.
    let res = t.post(&format!("/api/v1/dossiers/{}/workflows", id(&d)), &cw, json!({"workflow": "nope"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["workflow"]);
    t.post(&format!("/api/v1/dossiers/{}/workflows", id(&d)), &t.viewer(), json!({"workflow": "claim"}))
        .await
        .assert_problem(403, "forbidden");
    t.post("/api/v1/dossiers/nope/workflows", &cw, json!({"workflow": "claim"})).await.assert_problem(404, "not_found");
    t.post(
        &format!("/api/v1/dossiers/{}/workflows", id(&d)),
        &cw,
        json!({"workflow": "claim", "responsible": {"user": ""}}),
    )
    .await
    .assert_problem(422, "validation_failed");
    t.get("/api/v1/workflow-instances/nope", &t.viewer()).await.assert_problem(404, "not_found");
    t.post("/api/v1/workflow-instances/nope/cancel", &cw, json!(null)).await.assert_problem(404, "not_found");
}

#[actix_web::test]
async fn skipping_a_step_moves_on_and_instances_are_filtered() {
    let t = TestApp::spawn().await;
    define_workflow(
        &t,
        json!({"key": "welcome", "name": "Welcome", "steps": [
            {"key": "call", "name": "Call", "assignee": {"role": "desk"}},
            {"key": "gift", "name": "Send a gift", "assignee": {"role": "desk"}}]}),
    )
    .await;
    define_workflow(&t, json!({"key": "other", "name": "Other", "steps": [{"key": "x", "name": "X"}]})).await;
    let a = simple_dossier(&t).await;
    let b = simple_dossier(&t).await;
    let ia = start(&t, &a, json!({"workflow": "welcome"})).await;
    let ib = start(&t, &b, json!({"workflow": "welcome"})).await;
    let ic = start(&t, &b, json!({"workflow": "other"})).await;
    let desk = t.token("dirk", &["desk"]);
    // Skip both steps of a: it completes.
    for _ in 0..2 {
        let task = my_open_tasks(&t, &desk).await.into_iter().find(|x| x["workflow_instance_id"] == ia["id"]).unwrap();
        let res = t.post(&format!("/api/v1/tasks/{}/skip", id(&task)), &desk, json!({"note": "not needed"})).await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(res.body["status"], "skipped");
    }
    let done = instance(&t, &id(&ia)).await;
    assert_eq!(done["status"], "completed");
    let statuses: Vec<&str> = done["steps"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["skipped", "skipped"]);

    let ids = |items: Vec<Value>| items.iter().map(id).collect::<Vec<_>>();
    assert_eq!(ids(list(&t, "/api/v1/workflow-instances").await), vec![id(&ia), id(&ib), id(&ic)]);
    assert_eq!(
        ids(list(&t, &format!("/api/v1/workflow-instances?dossier_id={}", id(&b))).await),
        vec![id(&ib), id(&ic)]
    );
    assert_eq!(ids(list(&t, "/api/v1/workflow-instances?status=completed").await), vec![id(&ia)]);
    assert_eq!(ids(list(&t, "/api/v1/workflow-instances?status=running&definition=welcome").await), vec![id(&ib)]);
    assert!(list(&t, "/api/v1/workflow-instances").await[0].get("steps").is_none(), "lists leave the steps out");
    let res = t.get("/api/v1/workflow-instances?limit=2", &t.viewer()).await;
    let cursor = res.body["next_cursor"].as_str().unwrap().to_string();
    assert_eq!(ids(list(&t, &format!("/api/v1/workflow-instances?limit=2&cursor={cursor}")).await), vec![id(&ic)]);
    for bad in ["status=paused", "workflow=welcome", "cursor=%%%"] {
        assert_eq!(t.get(&format!("/api/v1/workflow-instances?{bad}"), &t.viewer()).await.status, 400, "{bad}");
    }
    // The worklist can show only workflow steps.
    let steps = t.all_tasks("kind=workflow_step", &t.viewer()).await;
    assert_eq!(steps.len(), 2 + 1 + 1);
    // And a dossier's workflow steps.
    let of_b = t.all_tasks(&format!("dossier_id={}", id(&b)), &t.viewer()).await;
    assert_eq!(of_b.len(), 2);
    assert!(of_b.iter().all(|x| x["dossier_id"] == b["id"]));
}
