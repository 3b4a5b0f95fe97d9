//! The event log: every write appends an event (history per resource, and the change feed).

use crate::common::{start_time, TestApp};
use serde_json::{json, Value};

const FEED: &str = "/api/v1/events";

fn history_url(id: &str) -> String {
    format!("/api/v1/contracts/{id}/history")
}

/// All items of a history or feed answer.
fn items(body: &Value) -> Vec<Value> {
    body["items"].as_array().unwrap_or_else(|| panic!("no items in {body}")).clone()
}

/// Every event in the feed, from the beginning.
async fn all_events(t: &TestApp) -> Vec<Value> {
    let res = t.get(&format!("{FEED}?limit=500"), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    items(&res.body)
}

#[actix_web::test]
async fn every_contract_write_appears_in_its_history_oldest_first() {
    let t = TestApp::spawn().await;
    t.define_attribute(json!({"entity_kind": "contract", "key": "region", "label": "Region", "data_type": "text"}))
        .await;
    let manager = t.token("maria", &["contract_manager"]);
    let res = t
        .post(
            "/api/v1/contracts",
            &manager,
            json!({"title": "Lifts", "contract_type": "maintenance", "customer_ref": "CUST-1",
                   "start_date": "2026-01-01", "term_months": 12, "attributes": {"region": "north"}}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let id = res.body["id"].as_str().unwrap().to_string();
    let url = format!("/api/v1/contracts/{id}");

    // Later writes by other people, at later times.
    t.clock.set(start_time() + chrono::Duration::hours(1));
    let res = t.patch(&url, &t.token("paul", &["contract_manager"]), json!({"title": "Lifts and escalators"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = t.patch(&url, &manager, json!({"attributes": {"region": "south"}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = t.request("POST", &format!("{url}/activate")).bearer(&t.token("crm", &["integration"])).send().await;
    assert_eq!(res.status, 200, "{}", res.text);

    let history = t.get(&history_url(&id), &t.viewer()).await;
    assert_eq!(history.status, 200, "{}", history.text);
    assert_eq!(history.body["next_cursor"], Value::Null);
    let events = items(&history.body);
    let summary: Vec<(&str, &str)> =
        events.iter().map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap())).collect();
    assert_eq!(summary, vec![("created", "maria"), ("updated", "paul"), ("updated", "maria"), ("activated", "crm")]);
    for e in &events {
        assert_eq!(e["entity_type"], "contract");
        assert_eq!(e["entity_id"], id.as_str());
    }
    let sequences: Vec<i64> = events.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");

    // Times come from the service clock, RFC 3339 in UTC.
    assert_eq!(events[0]["occurred_at"], "2026-06-15T10:00:00Z");
    assert_eq!(events[1]["occurred_at"], "2026-06-15T11:00:00Z");

    // Creation: every set field from nothing.
    let created = &events[0]["changes"];
    assert_eq!(created["title"], json!({"old": null, "new": "Lifts"}));
    assert_eq!(created["status"], json!({"old": null, "new": "draft"}));
    assert_eq!(created["attributes.region"], json!({"old": null, "new": "north"}));
    // Bookkeeping fields are no changes.
    assert!(created.get("version").is_none() && created.get("updated_at").is_none(), "{created}");

    // An update lists exactly what changed.
    assert_eq!(events[1]["changes"], json!({"title": {"old": "Lifts", "new": "Lifts and escalators"}}));
    assert_eq!(events[2]["changes"], json!({"attributes.region": {"old": "north", "new": "south"}}));
    assert_eq!(events[3]["changes"]["status"], json!({"old": "draft", "new": "active"}));

    // A patch that changes nothing records nothing.
    let res = t.patch(&url, &manager, json!({"title": "Lifts and escalators"})).await;
    assert_eq!(res.status, 200);
    assert_eq!(items(&t.get(&history_url(&id), &t.viewer()).await.body).len(), 4);
}

#[actix_web::test]
async fn history_outlives_the_contract_and_pages() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"title": "Short-lived"})).await;
    let id = c["id"].as_str().unwrap().to_string();
    let url = format!("/api/v1/contracts/{id}");
    for i in 0..3 {
        let res = t.patch(&url, &t.manager(), json!({"title": format!("Rename {i}")})).await;
        assert_eq!(res.status, 200, "{}", res.text);
    }
    assert_eq!(t.delete(&url, &t.manager()).await.status, 204);
    t.get(&url, &t.viewer()).await.assert_problem(404, "not_found");

    let history = t.get(&history_url(&id), &t.viewer()).await;
    assert_eq!(history.status, 200, "{}", history.text);
    let events = items(&history.body);
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["created", "updated", "updated", "updated", "deleted"]);
    let deleted = &events[4];
    assert_eq!(deleted["actor"], "maria");
    assert_eq!(deleted["changes"]["title"], json!({"old": "Rename 2", "new": null}));

    // History pages like any list.
    let first = t.get(&format!("{}?limit=2", history_url(&id)), &t.viewer()).await;
    assert_eq!(items(&first.body).len(), 2);
    let mut seen: Vec<Value> = items(&first.body);
    let mut cursor = first.body["next_cursor"].as_str().unwrap().to_string();
    loop {
        let page = t.get(&format!("{}?limit=2&cursor={cursor}", history_url(&id)), &t.viewer()).await;
        assert_eq!(page.status, 200, "{}", page.text);
        seen.extend(items(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, events);

    // A contract that never existed has no history; bad queries are refused.
    let never = uuid::Uuid::now_v7().to_string();
    t.get(&history_url(&never), &t.viewer()).await.assert_problem(404, "not_found");
    t.get(&format!("{}?limit=0", history_url(&id)), &t.viewer()).await.assert_problem(400, "invalid_query");
    t.get(&format!("{}?cursor=***", history_url(&id)), &t.viewer()).await.assert_problem(400, "invalid_cursor");
    t.get(&format!("{}?since=1", history_url(&id)), &t.viewer()).await.assert_problem(400, "unknown_parameter");
    // History needs a token like everything else.
    let res = t.request("GET", &history_url(&id)).send().await;
    res.assert_problem(401, "unauthorized");
}

#[actix_web::test]
async fn the_feed_hands_out_each_event_once() {
    let t = TestApp::spawn().await;
    let empty = t.get(FEED, &t.viewer()).await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert_eq!(empty.body["items"], json!([]));
    let start = empty.body["next_cursor"].as_str().expect("next_cursor is never null on the feed").to_string();

    let a = t.create_contract(json!({"title": "A"})).await;
    let def = t
        .define_attribute(json!({"entity_kind": "contract", "key": "region", "label": "Region", "data_type": "text"}))
        .await;

    let first = t.get(&format!("{FEED}?after={start}"), &t.viewer()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let events = items(&first.body);
    let kinds: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| (e["entity_type"].as_str().unwrap(), e["entity_id"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("contract", a["id"].as_str().unwrap(), "created"),
            ("attribute_definition", def["id"].as_str().unwrap(), "created"),
        ]
    );
    assert_eq!(events[0]["actor"], "admin-user");
    assert_eq!(events[1]["changes"]["key"], json!({"old": null, "new": "region"}));
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();

    // Nothing new: an empty page and the same position to poll from.
    let again = t.get(&format!("{FEED}?after={cursor}"), &t.viewer()).await;
    assert_eq!(again.body["items"], json!([]));
    assert_eq!(again.body["next_cursor"], cursor.as_str());

    // New writes: only they come, once.
    let url = format!("/api/v1/contracts/{}", a["id"].as_str().unwrap());
    assert_eq!(t.patch(&url, &t.manager(), json!({"title": "A2"})).await.status, 200);
    let b = t.create_contract(json!({"title": "B"})).await;
    let next = t.get(&format!("{FEED}?after={cursor}"), &t.viewer()).await;
    let events = items(&next.body);
    assert_eq!(events.len(), 2, "{}", next.text);
    assert_eq!((&events[0]["entity_id"], &events[0]["action"]), (&a["id"], &json!("updated")));
    assert_eq!(events[0]["actor"], "maria");
    assert_eq!((&events[1]["entity_id"], &events[1]["action"]), (&b["id"], &json!("created")));
    let cursor2 = next.body["next_cursor"].as_str().unwrap().to_string();
    assert_ne!(cursor2, cursor);
    let after = t.get(&format!("{FEED}?after={cursor2}"), &t.viewer()).await;
    assert_eq!(after.body["items"], json!([]));
    assert_eq!(after.body["next_cursor"], cursor2.as_str());

    // From the beginning: all four, in order, sequences increasing.
    let everything = all_events(&t).await;
    assert_eq!(everything.len(), 4);
    let seqs: Vec<i64> = everything.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // The feed is what the histories hold.
    let history = items(&t.get(&history_url(a["id"].as_str().unwrap()), &t.viewer()).await.body);
    assert_eq!(history, vec![everything[0].clone(), everything[2].clone()]);
}

#[actix_web::test]
async fn the_feed_filters_by_entity_type_and_pages_with_limit() {
    let t = TestApp::spawn().await;
    let mut contracts = Vec::new();
    for i in 0..3 {
        contracts.push(t.create_contract(json!({"title": format!("C{i}")})).await["id"].clone());
        t.define_attribute(
            json!({"entity_kind": "contract", "key": format!("k{i}"), "label": "K", "data_type": "text"}),
        )
        .await;
    }
    let only = t.get(&format!("{FEED}?entity_type=contract"), &t.viewer()).await;
    assert_eq!(only.status, 200, "{}", only.text);
    let events = items(&only.body);
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e["entity_type"] == "contract"));
    assert_eq!(events.iter().map(|e| e["entity_id"].clone()).collect::<Vec<_>>(), contracts);
    let defs = t.get(&format!("{FEED}?entity_type=attribute_definition"), &t.viewer()).await;
    assert_eq!(items(&defs.body).len(), 3);
    assert!(items(&defs.body).iter().all(|e| e["entity_type"] == "attribute_definition"));
    let none = t.get(&format!("{FEED}?entity_type=dossier"), &t.viewer()).await;
    assert_eq!(none.body["items"], json!([]));

    // Paging with limit=2 through all six: 2 + 2 + 2, then an empty page.
    let everything = all_events(&t).await;
    assert_eq!(everything.len(), 6);
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut path = format!("{FEED}?limit=2");
    loop {
        let page = t.get(&path, &t.viewer()).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let got = items(&page.body);
        sizes.push(got.len());
        if got.is_empty() {
            break;
        }
        seen.extend(got);
        path = format!("{FEED}?limit=2&after={}", page.body["next_cursor"].as_str().unwrap());
        assert!(sizes.len() < 10, "the feed does not end");
    }
    assert_eq!(sizes, vec![2, 2, 2, 0]);
    assert_eq!(seen, everything);

    // Filter and limit together, continuing after the filtered position.
    let page = t.get(&format!("{FEED}?entity_type=contract&limit=2"), &t.viewer()).await;
    assert_eq!(items(&page.body).len(), 2);
    let c = page.body["next_cursor"].as_str().unwrap();
    let rest = t.get(&format!("{FEED}?entity_type=contract&limit=2&after={c}"), &t.viewer()).await;
    let rest = items(&rest.body);
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["entity_id"], contracts[2]);

    // The feed takes `after`, not `cursor`.
    t.get(&format!("{FEED}?cursor={c}"), &t.viewer()).await.assert_problem(400, "unknown_parameter");
    // And it needs a token.
    t.request("GET", FEED).send().await.assert_problem(401, "unauthorized");
}

#[actix_web::test]
async fn failed_writes_append_no_event() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"number": "K-1"})).await;
    let url = format!("/api/v1/contracts/{}", c["id"].as_str().unwrap());
    let before = all_events(&t).await;
    assert_eq!(before.len(), 1);

    let base = json!({"title": "x", "contract_type": "m", "customer_ref": "c", "start_date": "2026-01-01"});
    let mut invalid = base.clone();
    invalid["term_months"] = json!(0);
    t.post("/api/v1/contracts", &t.manager(), invalid).await.assert_problem(422, "validation_failed");
    let mut unknown_attr = base.clone();
    unknown_attr["attributes"] = json!({"nope": 1});
    t.post("/api/v1/contracts", &t.manager(), unknown_attr).await.assert_problem(422, "validation_failed");
    let mut dup = base.clone();
    dup["number"] = json!("K-1");
    t.post("/api/v1/contracts", &t.manager(), dup).await.assert_problem(409, "duplicate_number");
    t.post("/api/v1/contracts", &t.viewer(), base.clone()).await.assert_problem(403, "forbidden");
    t.patch(&url, &t.manager(), json!({"title": null})).await.assert_problem(422, "validation_failed");
    let res =
        t.request("PATCH", &url).bearer(&t.manager()).header("If-Match", "\"7\"").json(json!({"title": "y"})).await;
    res.assert_problem(412, "precondition_failed");
    let res = t.request("POST", &format!("{url}/suspend")).bearer(&t.manager()).send().await;
    res.assert_problem(409, "invalid_transition");
    t.post(
        "/api/v1/attribute-definitions",
        &t.admin(),
        json!({"entity_kind": "contract", "key": "Bad Key", "label": "x", "data_type": "text"}),
    )
    .await
    .assert_problem(422, "validation_failed");

    assert_eq!(all_events(&t).await, before);
    assert_eq!(items(&t.get(&history_url(c["id"].as_str().unwrap()), &t.viewer()).await.body).len(), 1);
    let contract = t.get(&url, &t.viewer()).await;
    assert_eq!(contract.body["version"], 1);
    assert_eq!(contract.body["title"], c["title"]);
}

#[actix_web::test]
async fn a_poller_racing_concurrent_writers_misses_nothing_and_sees_nothing_twice() {
    let t = TestApp::spawn().await;
    let mut existing = Vec::new();
    for i in 0..12 {
        existing.push(t.create_contract(json!({"title": format!("E{i}")})).await["id"].as_str().unwrap().to_string());
    }
    let start =
        t.get(&format!("{FEED}?limit=500"), &t.viewer()).await.body["next_cursor"].as_str().unwrap().to_string();
    let done = std::cell::Cell::new(false);
    let writers = async {
        // Creates and patches of different contracts, all at once: only the event log orders them.
        let creates = (0..12).map(|i| {
            let t = &t;
            async move {
                let body = json!({"title": format!("W{i}"), "contract_type": "m", "customer_ref": "c", "start_date": "2026-01-01"});
                let res = t.post("/api/v1/contracts", &t.manager(), body).await;
                assert_eq!(res.status, 201, "{}", res.text);
            }
        });
        let patches = existing.iter().map(|id| {
            let t = &t;
            async move {
                let res = t.patch(&format!("/api/v1/contracts/{id}"), &t.manager(), json!({"title": "patched"})).await;
                assert_eq!(res.status, 200, "{}", res.text);
            }
        });
        futures_util::future::join(futures_util::future::join_all(creates), futures_util::future::join_all(patches))
            .await;
        done.set(true);
    };
    let poller = async {
        let mut seen: Vec<Value> = Vec::new();
        let mut after = start.clone();
        loop {
            let finished = done.get();
            let page = t.get(&format!("{FEED}?limit=5&after={after}"), &t.viewer()).await;
            assert_eq!(page.status, 200, "{}", page.text);
            let got = items(&page.body);
            let empty = got.is_empty();
            seen.extend(got);
            after = page.body["next_cursor"].as_str().unwrap().to_string();
            // Stop only on an empty page asked for after every writer had finished.
            if finished && empty {
                return seen;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    };
    let ((), seen) = futures_util::future::join(writers, poller).await;
    let everything = t.get(&format!("{FEED}?limit=500&after={start}"), &t.viewer()).await;
    let everything = items(&everything.body);
    assert_eq!(everything.len(), 24);
    let seqs: Vec<i64> = seen.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    let all: Vec<i64> = everything.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    assert_eq!(seqs, all, "the poller saw a different sequence of events than the log holds");
    let updated = everything.iter().filter(|e| e["action"] == "updated").count();
    assert_eq!(updated, 12);
}

/// Every event `token` reads in the feed, 3 at a time (so the cursor is used).
async fn feed_of(t: &TestApp, token: &str) -> Vec<Value> {
    let (mut all, mut after) = (Vec::new(), None::<String>);
    loop {
        let url = match &after {
            None => format!("{FEED}?limit=3"),
            Some(a) => format!("{FEED}?limit=3&after={a}"),
        };
        let res = t.get(&url, token).await;
        assert_eq!(res.status, 200, "{}", res.text);
        let page = items(&res.body);
        if page.is_empty() {
            return all;
        }
        all.extend(page);
        after = Some(res.body["next_cursor"].as_str().unwrap().to_string());
    }
}

/// The (entity type, entity id) of the case-file entries of a feed.
fn case_file_entries(feed: &[Value]) -> Vec<(String, String)> {
    feed.iter()
        .filter(|e| ["dossier", "dossier_event", "rule_firing"].contains(&e["entity_type"].as_str().unwrap()))
        .map(|e| (e["entity_type"].as_str().unwrap().to_string(), e["entity_id"].as_str().unwrap().to_string()))
        .collect()
}

#[actix_web::test]
async fn the_feed_carries_a_case_files_entries_only_to_those_who_may_read_the_dossier() {
    use crate::dossiers::{case_worker, define_type, define_workflow, id, open_dossier};
    let t = TestApp::spawn().await;
    define_workflow(
        &t,
        json!({"key": "relocation", "name": "Relocation", "steps": [{"key": "contact", "name": "Contact"}]}),
    )
    .await;
    define_type(
        &t,
        json!({"key": "mortgage", "name": "Mortgage", "default_owner": {"role": "mortgage-desk"},
               "attributes": [{"key": "address", "label": "Address", "data_type": "text"}],
               "rules": [{"key": "moved", "trigger": {"kind": "attribute_changed", "attribute": "address"},
                          "workflow": "relocation"}]}),
    )
    .await;
    let mine =
        open_dossier(&t, json!({"type": "mortgage", "customer_ref": "C-1", "attributes": {"address": "Kerkstraat 1"}}))
            .await;
    let theirs = open_dossier(
        &t,
        json!({"type": "mortgage", "customer_ref": "C-2", "owner": {"user": "oscar"}, "attributes": {"address": "Dorpsweg 2"}}),
    )
    .await;
    let cw = case_worker(&t);
    for d in [&mine, &theirs] {
        let url = format!("/api/v1/dossiers/{}", id(d));
        assert_eq!(t.patch(&url, &cw, json!({"attributes": {"address": "Oudegracht 5"}})).await.status, 200);
        let res = t.post(&format!("{url}/events"), &cw, json!({"type": "called", "data": {"phone": "+31 6 1"}})).await;
        assert_eq!(res.status, 201, "{}", res.text);
    }
    t.create_contract(json!({"title": "Lifts", "contract_type": "maintenance", "customer_ref": "C-1",
                             "start_date": "2026-01-01"}))
        .await;

    let everything = feed_of(&t, &t.viewer()).await;
    let entries = case_file_entries(&everything);
    // created, updated, posted and the firing of the address rule, per dossier.
    assert_eq!(entries.len(), 8, "{entries:?}");
    assert_eq!(case_file_entries(&feed_of(&t, &t.admin()).await), entries);
    assert_eq!(case_file_entries(&feed_of(&t, &cw).await), entries);

    // A field team reads the rest of the feed, and no entry of any case file.
    let field = t.token("piet", &["maintenance-crew", "service_agent", "contract_manager"]);
    let feed = feed_of(&t, &field).await;
    assert!(case_file_entries(&feed).is_empty(), "{feed:?}");
    assert!(!feed.iter().any(|e| e.to_string().contains("Oudegracht")), "no personal value leaks");
    assert!(feed.iter().any(|e| e["entity_type"] == "contract"));
    assert_eq!(feed.len(), everything.len() - 8, "only the case files' entries are left out");
    let res = t.get(&format!("{FEED}?entity_type=dossier"), &field).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["items"], json!([]));

    // Oscar reads the entries of his dossier only; the desk those of both.
    let oscars: Vec<_> = entries
        .iter()
        .filter(|(kind, entity)| {
            kind == "dossier" && *entity == id(&theirs)
                || everything.iter().any(|e| {
                    e["entity_id"] == entity.as_str() && e["changes"]["dossier_id"]["new"] == id(&theirs).as_str()
                })
        })
        .cloned()
        .collect();
    assert_eq!(oscars.len(), 4, "{oscars:?}");
    assert_eq!(case_file_entries(&feed_of(&t, &t.token("oscar", &[])).await), oscars);
    assert_eq!(case_file_entries(&feed_of(&t, &t.token("dora", &["mortgage-desk"])).await), entries);

    // A dossier's history is refused like the dossier itself.
    let res = t.get(&format!("/api/v1/dossiers/{}/history", id(&theirs)), &field).await;
    res.assert_problem(404, "not_found");
}

/// How many events still wait for their feed position (always none on SQLite).
async fn waiting(t: &TestApp) -> i64 {
    use diesel::prelude::*;
    use pactum::db::schema::events;
    t.state
        .db
        .read(|c| {
            events::table
                .filter(events::position.is_null())
                .count()
                .get_result::<i64>(c)
                .map_err(pactum::http::ApiError::from)
        })
        .await
        .unwrap()
}

/// Events written while nobody reads the feed pile up. A webhook dispatcher pass positions
/// them even with no webhook, in passes of at most `SETTLE_BATCH`, and the feed then lists
/// every one of them once, in the order they were written.
#[actix_web::test]
async fn a_backlog_longer_than_one_settle_pass_is_positioned_by_the_dispatcher_and_listed_once_in_order() {
    let t = TestApp::spawn().await;
    let (_, start, _) = feed_after(&t, "").await;
    let n = pactum::events::store::SETTLE_BATCH as usize + 700;
    let at = t.clock.now().naive_utc();
    t.write_behind_the_api(move |c| {
        let changes: Vec<pactum::events::model::Changes> = (0..n)
            .map(|i| serde_json::from_value(json!({"step": {"old": null, "new": i.to_string()}})).unwrap())
            .collect();
        let list: Vec<_> = changes
            .iter()
            .map(|changes| pactum::events::store::NewEvent {
                entity_type: "probe",
                entity_id: "backlog",
                action: "updated",
                actor: "test",
                at,
                changes,
            })
            .collect();
        pactum::events::store::append_many(c, &list).map(|ids| ids.len())
    })
    .await;
    let expected_waiting = if t.is_postgres() { n as i64 } else { 0 };
    assert_eq!(waiting(&t).await, expected_waiting, "written, not yet read");

    let report = crate::webhooks::dispatch(&t).await;
    assert_eq!(report, Default::default(), "no webhook to serve");
    assert_eq!(waiting(&t).await, 0, "the pass positioned the whole backlog");

    let (mut cursor, mut steps) = (start, Vec::new());
    loop {
        let (got, next, _) = feed_after(&t, &cursor).await;
        if got.is_empty() {
            break;
        }
        steps.extend(got.into_iter().map(|(id, step)| {
            assert_eq!(id, "backlog");
            step
        }));
        cursor = next;
    }
    assert_eq!(steps, (0..n).map(|i| i.to_string()).collect::<Vec<_>>(), "each once, in the order written");
}

/// A write transaction of its own on a connection of the service's pool, held open between
/// the steps of a test, that appends events of the `probe` entity type.
struct Writer(Option<pactum::db::Pooled<pactum::db::DbManager>>);

impl Writer {
    async fn begin(t: &TestApp) -> Writer {
        let db = t.state.db.clone();
        let conn = actix_web::web::block(move || {
            use diesel::connection::SimpleConnection;
            let mut conn = db.conn().unwrap();
            conn.batch_execute("BEGIN").unwrap();
            conn
        })
        .await
        .unwrap();
        Writer(Some(conn))
    }

    /// Appends the event `step` of probe `id`.
    async fn append(&mut self, t: &TestApp, id: &'static str, step: &'static str) {
        let mut conn = self.0.take().unwrap();
        let at = t.clock.now().naive_utc();
        self.0 = Some(
            actix_web::web::block(move || {
                let changes = serde_json::from_value(json!({"step": {"old": null, "new": step}})).unwrap();
                let e = pactum::events::store::NewEvent {
                    entity_type: "probe",
                    entity_id: id,
                    action: "updated",
                    actor: "test",
                    at,
                    changes: &changes,
                };
                pactum::events::store::append(&mut conn, e).unwrap();
                conn
            })
            .await
            .unwrap(),
        );
    }

    async fn commit(mut self) {
        let mut conn = self.0.take().unwrap();
        actix_web::web::block(move || {
            use diesel::connection::SimpleConnection;
            conn.batch_execute("COMMIT").unwrap();
        })
        .await
        .unwrap();
    }
}

/// The feed from `after` on (`""`: from the start), as (entity id, step or action) pairs, with
/// the cursor to go on and the sequences.
async fn feed_after(t: &TestApp, after: &str) -> (Vec<(String, String)>, String, Vec<i64>) {
    let url = match after {
        "" => format!("{FEED}?limit=500"),
        _ => format!("{FEED}?limit=500&after={after}"),
    };
    let res = t.get(&url, &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let entries = items(&res.body)
        .iter()
        .map(|e| {
            let what = e["changes"]["step"]["new"].as_str().unwrap_or_else(|| e["action"].as_str().unwrap());
            (e["entity_id"].as_str().unwrap().to_string(), what.to_string())
        })
        .collect();
    let sequences = items(&res.body).iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    (entries, res.body["next_cursor"].as_str().unwrap().to_string(), sequences)
}

/// A write holds its transaction open (with an event of a smaller id) while a later one
/// commits: a read lists what has committed, and after the first commits the next read lists
/// it. Every event exactly once, none skipped. (SQLite has one writer at a time: there the
/// first commits before the second can write, and the same holds.)
#[actix_web::test]
async fn an_event_committing_after_a_later_one_is_listed_once_and_never_skipped() {
    let t = TestApp::spawn().await;
    let (_, start, _) = feed_after(&t, "").await;
    let mut held = Writer::begin(&t).await;
    held.append(&t, "held", "first").await;
    let held = if t.is_postgres() {
        Some(held)
    } else {
        held.commit().await;
        None
    };
    let contract = t.create_contract(json!({"title": "later"})).await;
    let contract_id = contract["id"].as_str().unwrap().to_string();

    let (first, cursor, _) = feed_after(&t, &start).await;
    if let Some(held) = held {
        assert_eq!(first, vec![(contract_id.clone(), "created".to_string())], "only what has committed");
        held.commit().await;
    }
    let (second, _, _) = feed_after(&t, &cursor).await;
    let mut seen = first.clone();
    seen.extend(second);
    let mut expected = vec![(contract_id.clone(), "created".to_string()), ("held".to_string(), "first".to_string())];
    if !t.is_postgres() {
        expected.reverse();
    }
    assert_eq!(seen, expected, "each event exactly once, in the order they committed");
    let (everything, _, sequences) = feed_after(&t, &start).await;
    assert_eq!(everything, expected);
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
}

/// Two transactions each write something else first, then change one resource: the second
/// to start changes it first and commits, the first changes it after and commits last. The
/// resource's events appear in the order of its changes, whether the feed is read in between
/// or not, and every event exactly once.
#[actix_web::test]
async fn a_resources_events_keep_the_order_of_its_changes() {
    for read_between in [false, true] {
        let t = TestApp::spawn().await;
        let (_, start, _) = feed_after(&t, "").await;
        let postgres = t.is_postgres();
        // SQLite has one writer at a time: there the first starts only after the second has
        // committed, and changes `r` after it, as PostgreSQL's row lock would make it.
        let mut first_later = None;
        if postgres {
            let mut first = Writer::begin(&t).await;
            first.append(&t, "x", "x1").await;
            first_later = Some(first);
        }
        let mut second = Writer::begin(&t).await;
        second.append(&t, "y", "y1").await;
        second.append(&t, "r", "change 1").await;
        second.commit().await;
        let mut between = Vec::new();
        let mut cursor = start.clone();
        if read_between {
            let (got, next, _) = feed_after(&t, &start).await;
            between = got;
            cursor = next;
        }
        let mut first = match first_later {
            Some(w) => w,
            None => {
                let mut w = Writer::begin(&t).await;
                w.append(&t, "x", "x1").await;
                w
            }
        };
        first.append(&t, "r", "change 2").await;
        first.commit().await;
        let (rest, _, _) = feed_after(&t, &cursor).await;
        let mut seen = between;
        seen.extend(rest);
        let (everything, _, sequences) = feed_after(&t, &start).await;
        assert_eq!(seen, everything, "read in pieces or at once, the feed is the same");
        assert_eq!(everything.len(), 4, "each event exactly once: {everything:?}");
        let of_r: Vec<&str> = everything.iter().filter(|(id, _)| id == "r").map(|(_, s)| s.as_str()).collect();
        assert_eq!(of_r, vec!["change 1", "change 2"], "read between: {read_between}");
        assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    }
}

#[actix_web::test]
async fn concurrent_patches_of_one_contract_all_apply_and_the_feed_chains_them_in_order() {
    let t = TestApp::spawn().await;
    let c = t.create_contract(json!({"title": "Start"})).await;
    let id = c["id"].as_str().unwrap().to_string();
    let url = format!("/api/v1/contracts/{id}");
    // No If-Match: each write waits for the one before it on the contract's row, and none is lost.
    let patches = (0..12).map(|i| {
        let (t, url) = (&t, url.clone());
        async move { t.patch(&url, &t.manager(), json!({"title": format!("writer {i}")})).await }
    });
    let answers = futures_util::future::join_all(patches).await;
    for a in &answers {
        assert_eq!(a.status, 200, "{}", a.text);
    }
    let mut versions: Vec<i64> = answers.iter().map(|a| a.body["version"].as_i64().unwrap()).collect();
    versions.sort_unstable();
    assert_eq!(versions, (2..=13).collect::<Vec<_>>(), "each write saw the one before it");
    let now = t.get(&url, &t.viewer()).await;
    assert_eq!(now.body["version"], 13);

    // In the feed each change starts where the one before it ended, the last where the contract is.
    let changes: Vec<Value> = all_events(&t)
        .await
        .into_iter()
        .filter(|e| e["entity_id"] == id.as_str() && e["action"] == "updated")
        .map(|e| e["changes"]["title"].clone())
        .collect();
    assert_eq!(changes.len(), 12, "{changes:?}");
    let mut title = json!("Start");
    for change in &changes {
        assert_eq!(change["old"], title, "{changes:?}");
        title = change["new"].clone();
    }
    assert_eq!(now.body["title"], title);
}
