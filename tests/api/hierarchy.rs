//! Contract hierarchy: parents on create and patch, children, ancestors, the nested tree,
//! cycles, deletion of parents and the root/parent list filters.

use crate::common::TestApp;
use serde_json::{json, Value};

fn id(c: &Value) -> String {
    c["id"].as_str().unwrap().to_string()
}

fn url(c: &Value) -> String {
    format!("/api/v1/contracts/{}", id(c))
}

fn ids(items: &Value) -> Vec<String> {
    items.as_array().unwrap().iter().map(id).collect()
}

/// framework → (call_a → (leaf), call_b)
struct Family {
    framework: Value,
    call_a: Value,
    call_b: Value,
    leaf: Value,
}

async fn family(t: &TestApp) -> Family {
    let framework = t.create_contract(json!({"title": "Framework", "contract_type": "framework"})).await;
    let call_a = t.create_contract(json!({"title": "Call-off A", "parent_id": id(&framework)})).await;
    let call_b = t.create_contract(json!({"title": "Call-off B", "parent_id": id(&framework)})).await;
    let leaf = t.create_contract(json!({"title": "Schedule A1", "parent_id": id(&call_a)})).await;
    Family { framework, call_a, call_b, leaf }
}

#[actix_web::test]
async fn parent_is_set_on_create_and_patch() {
    let t = TestApp::spawn().await;
    let parent = t.create_contract(json!({"title": "Framework"})).await;
    let child = t.create_contract(json!({"parent_id": id(&parent)})).await;
    assert_eq!(child["parent_id"], parent["id"]);
    assert_eq!(t.get(&url(&child), &t.viewer()).await.body["parent_id"], parent["id"]);

    // Move a root under the parent, then detach it again with null.
    let other = t.create_contract(json!({})).await;
    assert_eq!(other["parent_id"], Value::Null);
    let res = t.patch(&url(&other), &t.manager(), json!({"parent_id": id(&parent)})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["parent_id"], parent["id"]);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    let kids = t.get(&format!("{}/children", url(&parent)), &t.viewer()).await;
    assert_eq!(ids(&kids.body["items"]), vec![id(&child), id(&other)]);
    let res = t.patch(&url(&other), &t.manager(), json!({"parent_id": null})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["parent_id"], Value::Null);
    let kids = t.get(&format!("{}/children", url(&parent)), &t.viewer()).await;
    assert_eq!(ids(&kids.body["items"]), vec![id(&child)]);

    // The move is in the history.
    let history = t.get(&format!("{}/history", url(&other)), &t.viewer()).await;
    let items = history.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[1]["changes"]["parent_id"]["new"], parent["id"], "{}", history.text);
}

#[actix_web::test]
async fn an_unknown_parent_is_422_and_changes_nothing() {
    let t = TestApp::spawn().await;
    let missing = "01890000-0000-7000-8000-000000000000";
    let res = t
        .post(
            "/api/v1/contracts",
            &t.manager(),
            json!({"title": "x", "contract_type": "m", "customer_ref": "c", "start_date": "2026-01-01", "parent_id": missing}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["parent_id"]);
    assert_eq!(t.get("/api/v1/contracts", &t.viewer()).await.body["items"], json!([]));

    let c = t.create_contract(json!({})).await;
    let res = t.patch(&url(&c), &t.manager(), json!({"parent_id": missing, "title": "changed"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["parent_id"]);
    let now = t.get(&url(&c), &t.viewer()).await;
    assert_eq!(now.body["parent_id"], Value::Null);
    assert_eq!(now.body["title"], c["title"]);
    assert_eq!(now.body["version"], 1);
}

#[actix_web::test]
async fn cycles_are_refused() {
    let t = TestApp::spawn().await;
    let f = family(&t).await;

    let res = t.patch(&url(&f.framework), &t.manager(), json!({"parent_id": id(&f.framework)})).await;
    res.assert_problem(409, "hierarchy_cycle");
    // Below its own child, and below its grandchild.
    let res = t.patch(&url(&f.framework), &t.manager(), json!({"parent_id": id(&f.call_a)})).await;
    res.assert_problem(409, "hierarchy_cycle");
    let res = t.patch(&url(&f.framework), &t.manager(), json!({"parent_id": id(&f.leaf)})).await;
    res.assert_problem(409, "hierarchy_cycle");
    let res = t.patch(&url(&f.call_a), &t.manager(), json!({"parent_id": id(&f.leaf)})).await;
    res.assert_problem(409, "hierarchy_cycle");

    // Nothing moved.
    let fw = t.get(&url(&f.framework), &t.viewer()).await;
    assert_eq!(fw.body["parent_id"], Value::Null);
    assert_eq!(fw.body["version"], 1);
    assert_eq!(t.get(&url(&f.call_a), &t.viewer()).await.body["parent_id"], f.framework["id"]);

    // Moving sideways (under a sibling, not a descendant) is fine.
    let res = t.patch(&url(&f.call_b), &t.manager(), json!({"parent_id": id(&f.leaf)})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let anc = t.get(&format!("{}/ancestors", url(&f.call_b)), &t.viewer()).await;
    assert_eq!(ids(&anc.body["items"]), vec![id(&f.framework), id(&f.call_a), id(&f.leaf)]);
}

#[actix_web::test]
async fn children_are_paginated_oldest_first() {
    let t = TestApp::spawn().await;
    let parent = t.create_contract(json!({})).await;
    let mut expected = Vec::new();
    for i in 0..5 {
        let c = t.create_contract(json!({"title": format!("Child {i}"), "parent_id": id(&parent)})).await;
        expected.push(id(&c));
    }
    // A grandchild is not a child.
    t.create_contract(json!({"parent_id": expected[0]})).await;

    let base = format!("{}/children", url(&parent));
    let all = t.get(&base, &t.viewer()).await;
    assert_eq!(all.status, 200);
    assert_eq!(ids(&all.body["items"]), expected);
    assert_eq!(all.body["next_cursor"], Value::Null);

    let mut seen = Vec::new();
    let mut next = format!("{base}?limit=2");
    let mut pages = 0;
    loop {
        let res = t.get(&next, &t.viewer()).await;
        assert_eq!(res.status, 200, "{}", res.text);
        let page = ids(&res.body["items"]);
        assert!(page.len() <= 2);
        seen.extend(page);
        pages += 1;
        match res.body["next_cursor"].as_str() {
            Some(c) => next = format!("{base}?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);

    let leaf = t.get(&format!("/api/v1/contracts/{}/children", expected[4]), &t.viewer()).await;
    assert_eq!(leaf.body, json!({"items": [], "next_cursor": null}));
    t.get(&format!("{base}?limit=501"), &t.viewer()).await.assert_problem(400, "invalid_query");
    t.get(&format!("{base}?depth=1"), &t.viewer()).await.assert_problem(400, "unknown_parameter");
}

#[actix_web::test]
async fn ancestors_are_root_first_without_the_contract_itself() {
    let t = TestApp::spawn().await;
    let f = family(&t).await;
    let res = t.get(&format!("{}/ancestors", url(&f.leaf)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(ids(&res.body["items"]), vec![id(&f.framework), id(&f.call_a)]);
    assert_eq!(res.body["next_cursor"], Value::Null);
    assert_eq!(res.body["items"][0]["title"], "Framework");

    let res = t.get(&format!("{}/ancestors", url(&f.call_b)), &t.viewer()).await;
    assert_eq!(ids(&res.body["items"]), vec![id(&f.framework)]);
    let res = t.get(&format!("{}/ancestors", url(&f.framework)), &t.viewer()).await;
    assert_eq!(res.body, json!({"items": [], "next_cursor": null}));
}

#[actix_web::test]
async fn ancestors_of_every_depth_of_a_long_chain_are_all_there_in_order() {
    let t = TestApp::spawn().await;
    let mut chain = vec![t.create_contract(json!({"title": "Level 0"})).await];
    for level in 1..10 {
        let parent = id(chain.last().unwrap());
        chain.push(t.create_contract(json!({"title": format!("Level {level}"), "parent_id": parent})).await);
    }
    for (depth, c) in chain.iter().enumerate() {
        let res = t.get(&format!("{}/ancestors", url(c)), &t.viewer()).await;
        assert_eq!(res.status, 200, "{}", res.text);
        let expected: Vec<String> = chain[..depth].iter().map(id).collect();
        assert_eq!(ids(&res.body["items"]), expected, "ancestors at depth {depth}");
    }
}

#[actix_web::test]
async fn tree_is_nested_and_depth_limits_the_levels() {
    let t = TestApp::spawn().await;
    let f = family(&t).await;
    let great = t.create_contract(json!({"title": "Annex", "parent_id": id(&f.leaf)})).await;

    let res = t.get(&format!("{}/tree", url(&f.framework)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let tree = &res.body;
    assert_eq!(tree["id"], f.framework["id"]);
    assert_eq!(tree["title"], "Framework");
    assert_eq!(tree["contract_type"], "framework");
    assert_eq!(tree["status"], "draft");
    assert_eq!(tree["start_date"], "2026-01-01");
    assert_eq!(tree["end_date"], "2026-12-31");
    assert_eq!(ids(&tree["children"]), vec![id(&f.call_a), id(&f.call_b)]);
    assert_eq!(ids(&tree["children"][0]["children"]), vec![id(&f.leaf)]);
    assert_eq!(tree["children"][1]["children"], json!([]));
    assert_eq!(ids(&tree["children"][0]["children"][0]["children"]), vec![id(&great)]);
    assert_eq!(tree["children"][0]["children"][0]["children"][0]["children"], json!([]));

    // depth=1: the children, with empty lists below them.
    let res = t.get(&format!("{}/tree?depth=1", url(&f.framework)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(ids(&res.body["children"]), vec![id(&f.call_a), id(&f.call_b)]);
    assert_eq!(res.body["children"][0]["children"], json!([]));
    assert_eq!(res.body["children"][1]["children"], json!([]));

    // depth=2 stops above the annex.
    let res = t.get(&format!("{}/tree?depth=2", url(&f.framework)), &t.viewer()).await;
    assert_eq!(ids(&res.body["children"][0]["children"]), vec![id(&f.leaf)]);
    assert_eq!(res.body["children"][0]["children"][0]["children"], json!([]));

    // A subtree starts where asked.
    let res = t.get(&format!("{}/tree", url(&f.call_a)), &t.viewer()).await;
    assert_eq!(res.body["id"], f.call_a["id"]);
    assert_eq!(ids(&res.body["children"]), vec![id(&f.leaf)]);

    for bad in ["depth=0", "depth=21", "depth=two"] {
        t.get(&format!("{}/tree?{bad}", url(&f.framework)), &t.viewer()).await.assert_problem(400, "invalid_query");
    }
}

#[actix_web::test]
async fn deleting_a_parent_needs_its_children_gone_first() {
    let t = TestApp::spawn().await;
    let parent = t.create_contract(json!({})).await;
    let child = t.create_contract(json!({"parent_id": id(&parent)})).await;
    t.delete(&url(&parent), &t.manager()).await.assert_problem(409, "has_children");
    assert_eq!(t.get(&url(&parent), &t.viewer()).await.status, 200);

    let res = t.delete(&url(&child), &t.manager()).await;
    assert_eq!(res.status, 204, "{}", res.text);
    let res = t.delete(&url(&parent), &t.manager()).await;
    assert_eq!(res.status, 204, "{}", res.text);
    t.get(&url(&parent), &t.viewer()).await.assert_problem(404, "not_found");
}

#[actix_web::test]
async fn list_filters_root_and_parent_id() {
    let t = TestApp::spawn().await;
    let f = family(&t).await;
    let lone = t.create_contract(json!({})).await;
    let list = |q: String| {
        let t = &t;
        async move {
            let res = t.get(&format!("/api/v1/contracts?{q}"), &t.viewer()).await;
            assert_eq!(res.status, 200, "{q}: {}", res.text);
            ids(&res.body["items"])
        }
    };
    assert_eq!(list("root=true".into()).await, vec![id(&f.framework), id(&lone)]);
    assert_eq!(list("root=false".into()).await, vec![id(&f.call_a), id(&f.call_b), id(&f.leaf)]);
    assert_eq!(list(format!("parent_id={}", id(&f.framework))).await, vec![id(&f.call_a), id(&f.call_b)]);
    assert_eq!(list(format!("parent_id={}", id(&f.call_a))).await, vec![id(&f.leaf)]);
    assert_eq!(list(format!("parent_id={}", id(&lone))).await, Vec::<String>::new());
    assert_eq!(list(format!("parent_id={}&root=false&limit=1", id(&f.framework))).await, vec![id(&f.call_a)]);
    assert_eq!(list(format!("parent_id={}&root=true", id(&f.framework))).await, Vec::<String>::new());
    t.get("/api/v1/contracts?root=maybe", &t.viewer()).await.assert_problem(400, "invalid_query");
}

#[actix_web::test]
async fn hierarchy_endpoints_of_an_unknown_contract_are_404() {
    let t = TestApp::spawn().await;
    t.create_contract(json!({})).await;
    for suffix in ["", "/children", "/ancestors", "/tree", "/tree?depth=1", "/history"] {
        let res = t.get(&format!("/api/v1/contracts/01890000-0000-7000-8000-000000000000{suffix}"), &t.viewer()).await;
        res.assert_problem(404, "not_found");
    }
    for suffix in ["/children", "/ancestors", "/tree"] {
        t.get(&format!("/api/v1/contracts/no-such-id{suffix}"), &t.viewer()).await.assert_problem(404, "not_found");
    }
}

#[actix_web::test]
async fn ancestors_page_with_limit_and_cursor() {
    let t = TestApp::spawn().await;
    let mut chain = vec![t.create_contract(json!({"title": "Level 0"})).await];
    for level in 1..6 {
        let parent = id(chain.last().unwrap());
        chain.push(t.create_contract(json!({"title": format!("Level {level}"), "parent_id": parent})).await);
    }
    let base = format!("{}/ancestors", url(&chain[5]));
    let first = t.get(&format!("{base}?limit=2"), &t.viewer()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(ids(&first.body["items"]), vec![id(&chain[0]), id(&chain[1])]);
    let cursor = first.body["next_cursor"].as_str().expect("more ancestors follow").to_string();
    let second = t.get(&format!("{base}?limit=2&cursor={cursor}"), &t.viewer()).await;
    assert_eq!(ids(&second.body["items"]), vec![id(&chain[2]), id(&chain[3])]);
    let cursor = second.body["next_cursor"].as_str().unwrap().to_string();
    let last = t.get(&format!("{base}?limit=2&cursor={cursor}"), &t.viewer()).await;
    assert_eq!(ids(&last.body["items"]), vec![id(&chain[4])]);
    assert_eq!(last.body["next_cursor"], Value::Null);

    t.get(&format!("{base}?limit=0"), &t.viewer()).await.assert_problem(400, "invalid_query");
    t.get(&format!("{base}?depth=1"), &t.viewer()).await.assert_problem(400, "unknown_parameter");
    // A cursor from another contract's ancestry is no position in this one.
    let other = t.create_contract(json!({})).await;
    let foreign = base64_url(&id(&other));
    t.get(&format!("{base}?cursor={foreign}"), &t.viewer()).await.assert_problem(400, "invalid_cursor");
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[actix_web::test]
async fn a_hierarchy_has_at_most_twenty_levels() {
    let t = TestApp::spawn().await;
    let mut chain = vec![t.create_contract(json!({"title": "Level 1"})).await];
    for level in 2..=20 {
        let parent = id(chain.last().unwrap());
        chain.push(t.create_contract(json!({"title": format!("Level {level}"), "parent_id": parent})).await);
    }
    let count = t.get("/api/v1/contracts?limit=500", &t.viewer()).await.body["items"].as_array().unwrap().len();

    // A 21st level is refused on create, and nothing is stored.
    let res =
        t.post("/api/v1/contracts", &t.manager(), json!({"title": "Level 21", "contract_type": "maintenance", "customer_ref": "CUST-1", "start_date": "2026-01-01", "term_months": 12, "parent_id": id(&chain[19])})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.body["errors"][0]["field"], "parent_id");
    assert_eq!(res.body["errors"][0]["code"], "too_deep");
    assert_eq!(t.get("/api/v1/contracts?limit=500", &t.viewer()).await.body["items"].as_array().unwrap().len(), count);

    // Moving a two-level subtree below level 19 would make 21 levels: refused, nothing moves.
    let top = t.create_contract(json!({"title": "Subtree"})).await;
    t.create_contract(json!({"title": "Below subtree", "parent_id": id(&top)})).await;
    let res = t.patch(&url(&top), &t.manager(), json!({"parent_id": id(&chain[18])})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.body["errors"][0]["code"], "too_deep");
    assert_eq!(t.get(&url(&top), &t.viewer()).await.body["parent_id"], Value::Null);
    // Below level 18 it fits exactly.
    let res = t.patch(&url(&top), &t.manager(), json!({"parent_id": id(&chain[17])})).await;
    assert_eq!(res.status, 200, "{}", res.text);

    // Installations follow the same limit.
    let mut parent = t.create_installation("DEEP-1", json!({})).await;
    for level in 2..=20 {
        parent = t.create_installation(&format!("DEEP-{level}"), json!({"parent_id": parent["id"]})).await;
    }
    let res = t
        .post(
            "/api/v1/installations",
            &t.manager(),
            json!({"serial_number": "DEEP-21", "name": "Deep", "installation_type": "lift", "customer_ref": "CUST-1", "parent_id": parent["id"]}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.body["errors"][0]["code"], "too_deep");
}

/// Re-parentings racing in a circle (A under B, B under C, C under A, all at once, eight times
/// over) never close a cycle: in each triple at least one is refused, and every contract's
/// chain of parents ends.
#[actix_web::test]
async fn racing_re_parentings_never_close_a_cycle() {
    let t = TestApp::spawn().await;
    let mut triples = Vec::new();
    for i in 0..8 {
        let mut triple = Vec::new();
        for name in ["A", "B", "C"] {
            triple.push(t.create_contract(json!({"title": format!("{name}{i}")})).await);
        }
        triples.push(triple);
    }
    let t = &t;
    let moves = triples.iter().flat_map(|tr| {
        (0..3).map(move |k| {
            t.request("PATCH", &url(&tr[k])).bearer(&t.manager()).json(json!({"parent_id": id(&tr[(k + 1) % 3])}))
        })
    });
    let answers = futures_util::future::join_all(moves).await;
    for (i, per_triple) in answers.chunks(3).enumerate() {
        let statuses: Vec<u16> = per_triple.iter().map(|a| a.status).collect();
        assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "triple {i}: {statuses:?}");
        assert!(statuses.contains(&409), "triple {i} closed a cycle: {statuses:?}");
        for a in per_triple.iter().filter(|a| a.status == 409) {
            a.assert_problem(409, "hierarchy_cycle");
        }
    }
    for tr in &triples {
        for c in tr {
            let anc = t.get(&format!("{}/ancestors", url(c)), &t.viewer()).await;
            assert_eq!(anc.status, 200, "{}", anc.text);
            assert!(anc.body["items"].as_array().unwrap().len() < 3, "{}", anc.text);
        }
    }
}
