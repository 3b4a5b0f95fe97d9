//! A mixed load of concurrent writes on shared rows (creates, PATCHes with and without
//! If-Match, coverage added and changed on shared installations, re-parenting inside one
//! hierarchy, task completions, service calls, dossier changes), then the invariants checked:
//! no 5xx, no overlapping coverage, no cycle, unique numbers, one event per committed change and
//! the feed listing each event once.

use crate::common::{Res, TestApp};
use crate::dossiers::{define_type, define_workflow, open_dossier};
use futures_util::future::{join_all, FutureExt, LocalBoxFuture};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// Every item of a list, following `next_cursor` (`after` for the feed).
async fn everything(t: &TestApp, url: &str, next: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = match &cursor {
            Some(c) => format!("{url}&{next}={c}"),
            None => url.to_string(),
        };
        let res = t.get(&page, &t.admin()).await;
        assert_eq!(res.status, 200, "{page}: {}", res.text);
        let items = res.body["items"].as_array().unwrap().clone();
        if items.is_empty() {
            return out;
        }
        out.extend(items);
        match res.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

/// One write of the load: what it is and the statuses it may answer.
struct Op<'a> {
    what: String,
    allowed: &'static [u16],
    call: LocalBoxFuture<'a, Res>,
}

fn op<'a>(what: &str, allowed: &'static [u16], call: impl std::future::Future<Output = Res> + 'a) -> Op<'a> {
    Op { what: what.to_string(), allowed, call: call.boxed_local() }
}

#[actix_web::test]
async fn a_mixed_concurrent_load_keeps_every_invariant() {
    let t = TestApp::spawn_with(|s| s.db_pool_size = 8).await;
    let manager = t.manager();
    let a = &t.create_contract(json!({"title": "Shared A", "status": "active"})).await;
    let b = &t.create_contract(json!({"title": "Shared B"})).await;
    let guarded = &t.create_contract(json!({"title": "If-Match"})).await;
    let root = t.create_contract(json!({"title": "Root"})).await;
    let left = t.create_contract(json!({"title": "Left", "parent_id": id(&root)})).await;
    let right = t.create_contract(json!({"title": "Right", "parent_id": id(&root)})).await;
    let i1 = t.create_installation("MIX-1", json!({})).await;
    let i2 = t.create_installation("MIX-2", json!({})).await;
    let res = t.cover(a, json!([{"installation_id": id(&i1), "valid_to": "2026-06-30"}])).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let obligation = t.create_obligation(a, json!({"schedule": {"rrule": "FREQ=WEEKLY"}})).await;
    let tasks: Vec<Value> = t.tasks_of(&obligation).await.into_iter().take(3).collect();
    assert_eq!(tasks.len(), 3);
    define_workflow(
        &t,
        json!({"key": "relocation", "name": "Relocation", "steps": [{"key": "contact", "name": "Contact", "due_in": "P5D"}]}),
    )
    .await;
    define_type(
        &t,
        json!({"key": "mortgage", "name": "Mortgage", "default_owner": {"user": "olga"},
               "attributes": [{"key": "address", "label": "Address", "data_type": "text", "required": true}],
               "rules": [{"key": "relocation_on_move", "trigger": {"kind": "attribute_changed", "attribute": "address"},
                          "workflow": "relocation", "responsible": {"role": "mortgage-desk"}}]}),
    )
    .await;
    let dossier =
        open_dossier(&t, json!({"type": "mortgage", "customer_ref": "P-1", "attributes": {"address": "Here 1"}})).await;

    let url = |c: &Value| format!("/api/v1/contracts/{}", id(c));
    let t = &t;
    let manager = manager.as_str();
    let admin = t.admin();
    let admin = admin.as_str();
    let mut ops: Vec<Op> = Vec::new();
    for i in 0..6 {
        let body = json!({"title": format!("New {i}"), "contract_type": "maintenance", "customer_ref": "C", "start_date": "2026-01-01"});
        ops.push(op("create", &[201], async move { t.post("/api/v1/contracts", manager, body).await }));
    }
    for i in 0..6 {
        let path = url(if i % 2 == 0 { a } else { b });
        let body = json!({"title": format!("Patched {i}")});
        ops.push(op("patch", &[200], async move { t.patch(&path, manager, body).await }));
    }
    for i in 0..4 {
        let path = url(guarded);
        let body = json!({"title": format!("Guarded {i}")});
        let call =
            async move { t.request("PATCH", &path).bearer(manager).header("If-Match", "\"1\"").json(body).await };
        ops.push(op("patch if-match", &[200, 412], call));
    }
    // i1: a's link shrinks while b takes the installation from July on (no overlap either way);
    // i2: a and b both want all of it: one of them gets it.
    let link = format!("/api/v1/contracts/{}/installations/{}", id(a), id(&i1));
    ops.push(op(
        "coverage change",
        &[200],
        async move { t.patch(&link, manager, json!({"valid_to": "2026-05-31"})).await },
    ));
    let items = json!([{"installation_id": id(&i1), "valid_from": "2026-07-01"}]);
    ops.push(op("coverage add", &[201], async move { t.cover(b, items).await }));
    for c in [a, b] {
        let items = json!([{"installation_id": id(&i2)}]);
        ops.push(op("coverage race", &[201, 409], async move { t.cover(c, items).await }));
    }
    // Opposite moves in one hierarchy: at most one of them can hold.
    for (child, parent) in [(&left, &right), (&right, &left)] {
        let (path, body) = (url(child), json!({"parent_id": id(parent)}));
        ops.push(op("move", &[200, 409], async move { t.patch(&path, manager, body).await }));
    }
    for task in &tasks {
        for _ in 0..2 {
            let path = format!("/api/v1/tasks/{}/complete", id(task));
            ops.push(op("complete", &[200, 409], async move { t.post(&path, admin, json!({})).await }));
        }
    }
    for i in 0..4 {
        let body = json!({"installation_id": id(&i1), "priority": "high", "description": format!("Call {i}")});
        ops.push(op("service call", &[201], async move { t.post("/api/v1/service-calls", admin, body).await }));
    }
    for i in 0..4 {
        let path = format!("/api/v1/dossiers/{}", id(&dossier));
        let body = json!({"attributes": {"address": format!("Street {i}")}});
        ops.push(op("dossier change", &[200], async move { t.patch(&path, admin, body).await }));
    }
    let (whats, calls): (Vec<(String, &[u16])>, Vec<_>) =
        ops.into_iter().map(|o| ((o.what, o.allowed), o.call)).unzip();
    let answers = join_all(calls).await;
    for ((what, allowed), res) in whats.iter().zip(&answers) {
        assert!(allowed.contains(&res.status), "{what}: {} {}", res.status, res.text);
    }
    let answered = |what: &str, status: u16| {
        whats.iter().zip(&answers).filter(|((w, _), r)| w == what && r.status == status).count()
    };
    assert_eq!(answered("patch if-match", 200), 1, "one writer based on version 1 wins");
    assert_eq!(answered("coverage race", 201), 1, "one contract covers i2");
    assert!(answered("move", 200) <= 1, "both opposite moves held");
    assert_eq!(answered("complete", 200), 3, "each task completed once");

    // No overlapping coverage of one type, and every link inside its contract's period.
    for inst in [&i1, &i2] {
        let links = everything(t, &format!("/api/v1/installations/{}/contracts?limit=500", id(inst)), "cursor").await;
        for (k, x) in links.iter().enumerate() {
            for y in &links[k + 1..] {
                let (cx, cy) = (x, y);
                let end = |c: &Value| c["valid_to"].as_str().unwrap_or("9999-12-31").to_string();
                let overlap = cx["valid_from"].as_str().unwrap() <= end(cy).as_str()
                    && cy["valid_from"].as_str().unwrap() <= end(cx).as_str();
                assert!(
                    !overlap || x["contract"]["contract_type"] != y["contract"]["contract_type"],
                    "{x} overlaps {y}"
                );
            }
        }
    }
    // No cycle: each tree row's ancestors reach the root and never the row itself.
    for c in [&left, &right] {
        let anc = t.get(&format!("{}/ancestors", url(c)), &t.viewer()).await;
        assert_eq!(anc.status, 200, "{}", anc.text);
        let ids: Vec<String> = anc.body["items"].as_array().unwrap().iter().map(id).collect();
        let unique: HashSet<&String> = ids.iter().collect();
        assert!(ids.contains(&id(&root)) && !ids.contains(&id(c)) && unique.len() == ids.len(), "{ids:?}");
    }
    // Unique numbers.
    let contracts = everything(t, "/api/v1/contracts?limit=500", "cursor").await;
    let numbers: HashSet<&str> = contracts.iter().map(|c| c["number"].as_str().unwrap()).collect();
    assert_eq!(numbers.len(), contracts.len());
    let calls = everything(t, "/api/v1/service-calls?limit=500", "cursor").await;
    let numbers: HashSet<&str> = calls.iter().map(|c| c["number"].as_str().unwrap()).collect();
    assert_eq!((numbers.len(), calls.len()), (4, 4));

    // The feed lists each event once, in order; every contract, coverage link and dossier has
    // one event per version it went through.
    let events = everything(t, "/api/v1/events?limit=500", "after").await;
    let sequences: Vec<i64> = events.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "listed twice or out of order: {sequences:?}");
    let mut per_resource: HashMap<(String, String), i64> = HashMap::new();
    for e in &events {
        let key = (e["entity_type"].as_str().unwrap().to_string(), e["entity_id"].as_str().unwrap().to_string());
        *per_resource.entry(key).or_default() += 1;
    }
    let events_of = |kind: &str, row: &Value| per_resource.get(&(kind.to_string(), id(row))).copied().unwrap_or(0);
    for c in &contracts {
        assert_eq!(events_of("contract", c), c["version"].as_i64().unwrap(), "events of contract {c}");
    }
    for inst in [&i1, &i2] {
        for link in everything(t, &format!("/api/v1/installations/{}/contracts?limit=500", id(inst)), "cursor").await {
            assert_eq!(events_of("coverage", &link), link["version"].as_i64().unwrap(), "events of {link}");
        }
    }
    let d = t.get(&format!("/api/v1/dossiers/{}", id(&dossier)), &t.admin()).await;
    assert_eq!(d.body["version"], 5, "four changes on top of the first version");
    assert_eq!(per_resource[&("dossier".to_string(), id(&dossier))], 5);
}
