//! Coverage: contracts covering installations for a period, seen from both sides; the rules
//! (overlap, period, duplicates, all or nothing); the "is it covered on day D" answer with its
//! date edges and parents; and how termination, renewal and expiry move the coverage.

use crate::common::{Res, TestApp};
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

fn links_url(contract: &Value) -> String {
    format!("/api/v1/contracts/{}/installations", id(contract))
}

fn link_url(contract: &Value, installation: &Value) -> String {
    format!("/api/v1/contracts/{}/installations/{}", id(contract), id(installation))
}

fn contracts_url(installation: &Value) -> String {
    format!("/api/v1/installations/{}/contracts", id(installation))
}

/// The links a contract lists, as (serial number, valid_from, valid_to).
async fn links(t: &TestApp, contract: &Value) -> Vec<(String, Value, Value)> {
    let res = t.get(&links_url(contract), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["installation"]["serial_number"].as_str().unwrap().to_string(),
                l["valid_from"].clone(),
                l["valid_to"].clone(),
            )
        })
        .collect()
}

/// The numbers of the contracts covering an installation on a day, with how they reach it.
async fn covering(t: &TestApp, installation: &Value, day: &str) -> Vec<(String, String)> {
    let answer = t.coverage_at(installation, day).await;
    assert_eq!(answer["at"], day);
    assert_eq!(answer["installation_id"], installation["id"]);
    let contracts = answer["contracts"].as_array().unwrap();
    assert_eq!(answer["covered"], !contracts.is_empty(), "{answer}");
    contracts
        .iter()
        .map(|c| (c["contract"]["number"].as_str().unwrap().to_string(), c["via"].as_str().unwrap().to_string()))
        .collect()
}

/// The coverage events in the feed, as (action, actor).
async fn coverage_events(t: &TestApp) -> Vec<(String, String)> {
    let res = t.get("/api/v1/events?entity_type=coverage&limit=500", &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["entity_type"], "coverage");
            (e["action"].as_str().unwrap().to_string(), e["actor"].as_str().unwrap().to_string())
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

async fn verb(t: &TestApp, contract: &Value, name: &str, body: Value) -> Res {
    let res = t.post_once(&format!("/api/v1/contracts/{}/{name}", id(contract)), &t.manager(), body).await;
    assert_eq!(res.status, 200, "{name}: {}", res.text);
    res
}

fn at(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).unwrap()
}

#[actix_web::test]
async fn covering_by_id_and_by_serial_number_shows_the_same_links_on_both_sides() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({"status": "active", "title": "Lift care"})).await;
    let a = t.create_installation("LIFT-A", json!({})).await;
    let b = t.create_installation("LIFT-B", json!({"name": "Goods lift"})).await;

    let res = t
        .cover(
            &contract,
            json!([{"installation_id": a["id"]}, {"serial_number": "LIFT-B", "valid_from": "2026-03-01"}]),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["next_cursor"], Value::Null);
    let created = res.body["items"].as_array().unwrap().clone();
    assert_eq!(created.len(), 2);
    // The default period is the contract's own.
    assert_eq!(created[0]["contract_id"], contract["id"]);
    assert_eq!(created[0]["installation_id"], a["id"]);
    assert_eq!(created[0]["valid_from"], "2026-01-01");
    assert_eq!(created[0]["valid_to"], "2026-12-31");
    assert_eq!(created[0]["version"], 1);
    assert_eq!(created[0]["installation"]["serial_number"], "LIFT-A");
    assert_eq!(created[1]["installation_id"], b["id"]);
    assert_eq!(created[1]["valid_from"], "2026-03-01");
    assert_eq!(created[1]["valid_to"], "2026-12-31");
    assert_eq!(
        created[1]["installation"],
        json!({"id": b["id"], "serial_number": "LIFT-B", "name": "Goods lift", "installation_type": "lift",
               "status": "active"})
    );

    // The contract's side lists the installations.
    let res = t.get(&links_url(&contract), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let listed = res.body["items"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    for l in listed {
        let made = created.iter().find(|c| c["id"] == l["id"]).expect("the same link");
        for k in ["contract_id", "installation_id", "valid_from", "valid_to", "version"] {
            assert_eq!(l[k], made[k], "{k}");
        }
        assert!(l.get("contract").is_none(), "{l}");
    }

    // The installation's side lists the contract, with the same link.
    let res = t.get(&contracts_url(&b), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let items = res.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], created[1]["id"]);
    assert_eq!(items[0]["valid_from"], "2026-03-01");
    assert_eq!(items[0]["valid_to"], "2026-12-31");
    assert_eq!(
        items[0]["contract"],
        json!({"id": contract["id"], "number": contract["number"], "title": "Lift care",
               "contract_type": "maintenance", "status": "active", "start_date": "2026-01-01",
               "end_date": "2026-12-31"})
    );
    assert!(items[0].get("installation").is_none(), "{}", items[0]);

    // Each link appended its event, by its author.
    assert_eq!(coverage_events(&t).await, pairs(&[("created", "maria"), ("created", "maria")]));
}

#[actix_web::test]
async fn only_contract_managers_and_integrations_change_coverage() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({"status": "active"})).await;
    let a = t.create_installation("A", json!({})).await;
    let b = t.create_installation("B", json!({})).await;
    let body = json!({"installations": [{"installation_id": a["id"]}]});

    t.post(&links_url(&contract), &t.viewer(), body.clone()).await.assert_problem(403, "forbidden");
    t.post(&links_url(&contract), &t.token("pete", &["planner"]), body.clone()).await.assert_problem(403, "forbidden");
    t.request("POST", &links_url(&contract)).json(body.clone()).await.assert_problem(401, "unauthorized");
    assert!(links(&t, &contract).await.is_empty());

    let integration = t.token("erp", &["integration"]);
    let res = t.post(&links_url(&contract), &integration, body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let res = t.cover(&contract, json!([{"installation_id": b["id"]}])).await;
    assert_eq!(res.status, 201, "{}", res.text);

    t.patch(&link_url(&contract, &a), &t.viewer(), json!({"valid_from": "2026-02-01"}))
        .await
        .assert_problem(403, "forbidden");
    t.delete(&link_url(&contract, &a), &t.viewer()).await.assert_problem(403, "forbidden");
    let res = t.patch(&link_url(&contract, &a), &integration, json!({"valid_from": "2026-02-01"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(t.delete(&link_url(&contract, &b), &integration).await.status, 204);
    assert_eq!(links(&t, &contract).await, vec![("A".to_string(), json!("2026-02-01"), json!("2026-12-31"))]);
    let actors: Vec<String> = coverage_events(&t).await.into_iter().map(|(_, who)| who).collect();
    assert_eq!(actors, vec!["erp", "maria", "erp", "erp"]);
}

#[actix_web::test]
async fn unknown_contracts_installations_and_links_are_404_or_422() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({"status": "active"})).await;
    let a = t.create_installation("A", json!({})).await;
    let missing = json!({"id": "0190a1b2-0000-7000-8000-000000000000"});

    t.cover(&missing, json!([{"installation_id": a["id"]}])).await.assert_problem(404, "not_found");
    t.get(&links_url(&missing), &t.viewer()).await.assert_problem(404, "not_found");
    t.get(&contracts_url(&missing), &t.viewer()).await.assert_problem(404, "not_found");
    // No link between them yet.
    t.patch(&link_url(&contract, &a), &t.manager(), json!({"valid_from": "2026-02-01"}))
        .await
        .assert_problem(404, "not_found");
    t.delete(&link_url(&contract, &a), &t.manager()).await.assert_problem(404, "not_found");
    t.delete(&link_url(&contract, &missing), &t.manager()).await.assert_problem(404, "not_found");

    // An unknown installation in the body is a validation error on that item.
    let res = t.cover(&contract, json!([{"installation_id": missing["id"]}])).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["installations[0].installation_id"]);
    assert_eq!(res.body["errors"][0]["code"], "not_found");
}

#[actix_web::test]
async fn several_items_are_all_or_nothing() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({"status": "active"})).await;
    let a = t.create_installation("A", json!({})).await;
    let b = t.create_installation("B", json!({})).await;

    let check = |items: Value, field: &'static str, code: &'static str| {
        let (t, contract) = (&t, &contract);
        async move {
            let res = t.cover(contract, items).await;
            res.assert_problem(422, "validation_failed");
            assert_eq!(res.error_fields(), vec![field], "{}", res.text);
            assert_eq!(res.body["errors"][0]["code"], code, "{}", res.text);
        }
    };
    // The bad item is the last one: the good ones before it are not kept.
    check(
        json!([{"installation_id": a["id"]}, {"serial_number": "B"}, {"serial_number": "NOPE"}]),
        "installations[2].installation_id",
        "not_found",
    )
    .await;
    check(
        json!([{"installation_id": a["id"]}, {"serial_number": "A"}]),
        "installations[1].installation_id",
        "duplicate",
    )
    .await;
    check(
        json!([{"installation_id": a["id"]}, {"installation_id": b["id"], "serial_number": "B"}]),
        "installations[1].installation_id",
        "required",
    )
    .await;
    check(json!([{"installation_id": a["id"]}, {}]), "installations[1].installation_id", "required").await;
    check(
        json!([{"installation_id": a["id"]}, {"installation_id": b["id"], "valid_from": "2025-12-31"}]),
        "installations[1].valid_from",
        "outside_contract_period",
    )
    .await;
    check(json!([]), "installations", "invalid_length").await;
    let res = t.post(&links_url(&contract), &t.manager(), json!({"installations": [{"serial": "A"}]})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["installations[0].serial"]);
    let res = t.post(&links_url(&contract), &t.manager(), json!({})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["installations"]);

    assert!(links(&t, &contract).await.is_empty(), "nothing was created");
    assert!(coverage_events(&t).await.is_empty(), "no events were appended");

    let res = t.cover(&contract, json!([{"installation_id": a["id"]}, {"serial_number": "B"}])).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(links(&t, &contract).await.len(), 2);
}

#[actix_web::test]
async fn covering_an_installation_twice_is_409_already_covered() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({"status": "active"})).await;
    let a = t.create_installation("A", json!({})).await;
    t.create_installation("B", json!({})).await;
    assert_eq!(t.cover(&contract, json!([{"installation_id": a["id"]}])).await.status, 201);

    let res = t.cover(&contract, json!([{"serial_number": "A", "valid_from": "2026-06-01"}])).await;
    res.assert_problem(409, "already_covered");
    assert!(res.body["detail"].as_str().unwrap().contains(contract["number"].as_str().unwrap()), "{}", res.text);
    // In a batch, the new link before the duplicate is not kept either.
    let res = t.cover(&contract, json!([{"serial_number": "B"}, {"installation_id": a["id"]}])).await;
    res.assert_problem(409, "already_covered");
    assert_eq!(links(&t, &contract).await, vec![("A".to_string(), json!("2026-01-01"), json!("2026-12-31"))]);
    assert_eq!(coverage_events(&t).await.len(), 1);
}

#[actix_web::test]
async fn two_contracts_of_one_type_cannot_cover_an_installation_on_the_same_day() {
    let t = TestApp::spawn().await;
    let first = t.create_contract(json!({"status": "active", "number": "M-1"})).await;
    let second = t.create_contract(json!({"status": "active", "number": "M-2", "start_date": "2026-07-01"})).await;
    let lease = t.create_contract(json!({"status": "active", "number": "L-1", "contract_type": "lease"})).await;
    let x = t.create_installation("X", json!({})).await;
    let y = t.create_installation("Y", json!({})).await;
    assert_eq!(t.cover(&first, json!([{"installation_id": x["id"]}])).await.status, 201);

    // Overlap with another maintenance contract: 409 naming it; other items are not kept.
    let res = t.cover(&second, json!([{"installation_id": y["id"]}, {"installation_id": x["id"]}])).await;
    res.assert_problem(409, "coverage_overlap");
    let detail = res.body["detail"].as_str().unwrap();
    assert!(detail.contains("M-1"), "the detail names the other contract: {detail}");
    assert!(links(&t, &second).await.is_empty());

    // A contract of another type may cover the same days.
    let res = t.cover(&lease, json!([{"installation_id": x["id"]}])).await;
    assert_eq!(res.status, 201, "{}", res.text);

    // Sharing a single day still overlaps; the day after does not.
    let res = t.patch(&link_url(&first, &x), &t.manager(), json!({"valid_to": "2026-07-01"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    t.cover(&second, json!([{"installation_id": x["id"]}])).await.assert_problem(409, "coverage_overlap");
    let res = t.patch(&link_url(&first, &x), &t.manager(), json!({"valid_to": "2026-06-30"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = t.cover(&second, json!([{"installation_id": x["id"]}])).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["items"][0]["valid_from"], "2026-07-01");

    // Changing a period into the other contract's is refused the same way, naming it.
    let res = t.patch(&link_url(&first, &x), &t.manager(), json!({"valid_to": "2026-07-01"})).await;
    res.assert_problem(409, "coverage_overlap");
    assert!(res.body["detail"].as_str().unwrap().contains("M-2"), "{}", res.text);
    assert_eq!(links(&t, &first).await, vec![("X".to_string(), json!("2026-01-01"), json!("2026-06-30"))]);

    // Handed over on 1 July: one maintenance contract each day, both of them on their own days.
    assert_eq!(covering(&t, &x, "2026-06-30").await, pairs(&[("L-1", "direct"), ("M-1", "direct")]));
    assert_eq!(covering(&t, &x, "2026-07-01").await, pairs(&[("L-1", "direct"), ("M-2", "direct")]));
}

/// Twelve contracts of one type race to cover one installation over the same days: one wins,
/// the others get the overlap answer, and the database holds one link.
#[actix_web::test]
async fn racing_coverage_of_one_installation_leaves_one_link() {
    let t = TestApp::spawn().await;
    let x = t.create_installation("X", json!({})).await;
    let mut contracts = Vec::new();
    for i in 0..12 {
        contracts.push(t.create_contract(json!({"status": "active", "number": format!("R-{i}")})).await);
    }
    let answers =
        futures_util::future::join_all(contracts.iter().map(|c| t.cover(c, json!([{"installation_id": x["id"]}]))))
            .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    for a in answers.iter().filter(|a| a.status != 201) {
        a.assert_problem(409, "coverage_overlap");
    }
    let res = t.get(&contracts_url(&x), &t.viewer()).await;
    assert_eq!(res.body["items"].as_array().unwrap().len(), 1, "{}", res.text);
}

/// Each link carries its contract's type (also after the contract changes type), and on
/// PostgreSQL the database itself refuses a second link of that type on the same days, even
/// one written behind the services' check.
#[actix_web::test]
async fn the_database_refuses_overlapping_links_of_one_type() {
    let t = TestApp::spawn().await;
    let first = t.create_contract(json!({"status": "active", "number": "M-1"})).await;
    let second = t.create_contract(json!({"status": "active", "number": "M-2", "contract_type": "lease"})).await;
    let x = t.create_installation("X", json!({})).await;
    assert_eq!(t.cover(&first, json!([{"installation_id": x["id"]}])).await.status, 201);
    assert_eq!(t.cover(&second, json!([{"installation_id": x["id"]}])).await.status, 201);
    let stored_types = || {
        let db = t.state.db.clone();
        async move {
            actix_web::web::block(move || {
                db.read_blocking(|c| {
                    use diesel::prelude::*;
                    use pactum::db::schema::coverages;
                    coverages::table
                        .order(coverages::contract_type.asc())
                        .select(coverages::contract_type)
                        .load::<String>(c)
                        .map_err(pactum::http::ApiError::from)
                })
            })
            .await
            .unwrap()
            .unwrap()
        }
    };
    assert_eq!(stored_types().await, vec!["lease", "maintenance"]);

    // Turning the lease into a maintenance contract would overlap: refused, nothing changes.
    let url = format!("/api/v1/contracts/{}", id(&second));
    let res = t.patch(&url, &t.manager(), json!({"contract_type": "maintenance"})).await;
    res.assert_problem(409, "coverage_overlap");
    assert_eq!(stored_types().await, vec!["lease", "maintenance"]);
    // Into a type of its own: its link follows.
    let res = t.patch(&url, &t.manager(), json!({"contract_type": "service"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(stored_types().await, vec!["maintenance", "service"]);

    // A link of the same type on the same days, written past the services' check.
    let sql = format!("UPDATE coverages SET contract_type = 'maintenance' WHERE contract_id = '{}'", id(&second));
    let db = t.state.db.clone();
    let written = actix_web::web::block(move || {
        db.write_blocking(|c| {
            use diesel::connection::SimpleConnection;
            c.batch_execute(&sql).map_err(pactum::http::ApiError::from)
        })
    })
    .await
    .unwrap();
    if t.is_postgres() {
        assert!(written.is_err(), "PostgreSQL's exclusion constraint refuses the overlap");
        assert_eq!(stored_types().await, vec!["maintenance", "service"]);
    } else {
        // SQLite has one writer at a time: the services' check alone keeps the rule there.
        assert!(written.is_ok());
    }
}

#[actix_web::test]
async fn a_coverage_period_outside_its_contract_is_422() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({"status": "active"})).await;
    let open = t.create_contract(json!({"status": "active", "term_months": null, "contract_type": "lease"})).await;
    let x = t.create_installation("X", json!({})).await;

    let check = |contract: &Value, item: Value, field: &'static str, code: &'static str| {
        let (t, contract) = (&t, contract.clone());
        async move {
            let res = t.cover(&contract, json!([item])).await;
            res.assert_problem(422, "validation_failed");
            assert_eq!(res.error_fields(), vec![field], "{}", res.text);
            assert_eq!(res.body["errors"][0]["code"], code, "{}", res.text);
        }
    };
    let x_id = x["id"].clone();
    check(
        &contract,
        json!({"installation_id": x_id, "valid_from": "2025-12-31"}),
        "installations[0].valid_from",
        "outside_contract_period",
    )
    .await;
    check(
        &contract,
        json!({"installation_id": x_id, "valid_to": "2027-01-01"}),
        "installations[0].valid_to",
        "outside_contract_period",
    )
    .await;
    check(
        &open,
        json!({"installation_id": x_id, "valid_from": "2025-06-01"}),
        "installations[0].valid_from",
        "outside_contract_period",
    )
    .await;
    check(
        &contract,
        json!({"installation_id": x_id, "valid_from": "2026-05-01", "valid_to": "2026-04-30"}),
        "installations[0].valid_to",
        "before_valid_from",
    )
    .await;
    let res = t.cover(&contract, json!([{"installation_id": x_id, "valid_from": "2026-13-01"}])).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["installations[0].valid_from"]);
    assert!(links(&t, &contract).await.is_empty());

    // The first and last day of the contract are inside it.
    let res = t
        .cover(&contract, json!([{"installation_id": x_id, "valid_from": "2026-01-01", "valid_to": "2026-12-31"}]))
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    // An open-ended contract gives open-ended coverage.
    let res = t.cover(&open, json!([{"installation_id": x_id, "valid_from": "2026-04-01"}])).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["items"][0]["valid_to"], Value::Null);

    // A change must stay inside too; open-ended only on an open-ended contract.
    let link = link_url(&contract, &x);
    let res = t.patch(&link, &t.manager(), json!({"valid_to": null})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["valid_to"]);
    assert_eq!(res.body["errors"][0]["code"], "outside_contract_period");
    let res = t.patch(&link, &t.manager(), json!({"valid_from": "2025-01-01"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["valid_from"]);
    let res = t.patch(&link, &t.manager(), json!({"valid_from": "2026-08-01", "valid_to": "2026-07-31"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["valid_to"]);
    assert_eq!(res.body["errors"][0]["code"], "before_valid_from");
    let res = t.patch(&link, &t.manager(), json!({"valid_from": null})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["valid_from"]);
    let res = t.patch(&link_url(&open, &x), &t.manager(), json!({"valid_to": "2031-01-31"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = t.patch(&link_url(&open, &x), &t.manager(), json!({"valid_to": null})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["valid_to"], Value::Null);
    assert_eq!(links(&t, &contract).await, vec![("X".to_string(), json!("2026-01-01"), json!("2026-12-31"))]);
}

#[actix_web::test]
async fn a_link_is_changed_with_if_match_and_removed() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({"status": "active"})).await;
    let x = t.create_installation("X", json!({})).await;
    assert_eq!(t.cover(&contract, json!([{"installation_id": x["id"]}])).await.status, 201);
    let link = link_url(&contract, &x);

    let stale = t
        .request("PATCH", &link)
        .bearer(&t.manager())
        .header("If-Match", "\"3\"")
        .json(json!({"valid_from": "2026-02-01"}))
        .await;
    stale.assert_problem(412, "precondition_failed");
    let res = t
        .request("PATCH", &link)
        .bearer(&t.manager())
        .header("If-Match", "\"1\"")
        .json(json!({"valid_from": "2026-02-01"}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(res.body["valid_from"], "2026-02-01");
    assert_eq!(res.body["valid_to"], "2026-12-31", "absent fields stay");
    assert_eq!(res.body["version"], 2);
    assert_eq!(res.body["installation"]["serial_number"], "X");
    // A patch that changes nothing keeps the version.
    let res = t.patch(&link, &t.manager(), json!({"valid_from": "2026-02-01"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["version"], 2);
    let res = t.patch(&link, &t.manager(), json!({"valid_until": "2026-02-01"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["valid_until"]);

    // The other side sees the change.
    let res = t.get(&contracts_url(&x), &t.viewer()).await;
    assert_eq!(res.body["items"][0]["valid_from"], "2026-02-01");
    assert_eq!(res.body["items"][0]["version"], 2);

    let res = t.request("DELETE", &link).bearer(&t.manager()).header("If-Match", "\"1\"").send().await;
    res.assert_problem(412, "precondition_failed");
    let res = t.request("DELETE", &link).bearer(&t.manager()).header("If-Match", "\"2\"").send().await;
    assert_eq!(res.status, 204, "{}", res.text);
    assert_eq!(res.text, "");
    assert!(links(&t, &contract).await.is_empty());
    assert_eq!(t.get(&contracts_url(&x), &t.viewer()).await.body["items"], json!([]));
    t.delete(&link, &t.manager()).await.assert_problem(404, "not_found");

    // Every write appended its event with the changed period.
    let res = t.get("/api/v1/events?entity_type=coverage", &t.viewer()).await;
    let events = res.body["items"].as_array().unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["created", "updated", "deleted"]);
    assert!(events.iter().all(|e| e["entity_id"] == events[0]["entity_id"]));
    assert_eq!(events[1]["changes"]["valid_from"], json!({"old": "2026-01-01", "new": "2026-02-01"}));
    assert_eq!(events[0]["changes"]["installation_id"]["new"], x["id"]);
    assert_eq!(events[0]["changes"]["contract_id"]["new"], contract["id"]);
    // The installation may go now.
    assert_eq!(t.delete(&format!("/api/v1/installations/{}", id(&x)), &t.manager()).await.status, 204);
}

#[actix_web::test]
async fn contracts_of_an_installation_on_a_day_are_those_in_force() {
    let t = TestApp::spawn().await;
    let x = t.create_installation("X", json!({})).await;
    let y = t.create_installation("Y", json!({})).await;
    let y2026 = t.create_contract(json!({"status": "active", "number": "M-2026"})).await;
    let y2027 = t.create_contract(json!({"status": "active", "number": "M-2027", "start_date": "2027-01-01"})).await;
    let draft = t.create_contract(json!({"number": "D-1", "contract_type": "lease"})).await;
    for c in [&y2026, &y2027, &draft] {
        assert_eq!(t.cover(c, json!([{"installation_id": x["id"]}])).await.status, 201);
    }
    assert_eq!(t.cover(&y2026, json!([{"installation_id": y["id"]}])).await.status, 201);

    let numbers = |query: &'static str| {
        let (t, x) = (&t, &x);
        async move {
            let res = t.get(&format!("{}{query}", contracts_url(x)), &t.viewer()).await;
            assert_eq!(res.status, 200, "{query}: {}", res.text);
            let mut n: Vec<String> = res.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    assert_eq!(l["installation_id"], x["id"]);
                    l["contract"]["number"].as_str().unwrap().to_string()
                })
                .collect();
            n.sort();
            n
        }
    };
    // Without a day: every link, whatever the contract's state.
    assert_eq!(numbers("").await, vec!["D-1", "M-2026", "M-2027"]);
    // On a day: only the agreements in force; drafts never are.
    assert_eq!(numbers("?at=2026-12-31").await, vec!["M-2026"]);
    assert_eq!(numbers("?at=2027-01-01").await, vec!["M-2027"]);
    assert_eq!(numbers("?at=2025-12-31").await, Vec::<String>::new());
    assert_eq!(numbers("?at=2028-01-01").await, Vec::<String>::new());
    // Paged by a cursor like every list.
    let res = t.get(&format!("{}?limit=2", contracts_url(&x)), &t.viewer()).await;
    assert_eq!(res.body["items"].as_array().unwrap().len(), 2);
    let cursor = res.body["next_cursor"].as_str().unwrap().to_string();
    let rest = t.get(&format!("{}?limit=2&cursor={cursor}", contracts_url(&x)), &t.viewer()).await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["next_cursor"], Value::Null);

    t.get(&format!("{}?at=2026-02-30", contracts_url(&x)), &t.viewer()).await.assert_problem(400, "invalid_query");
    t.get(&format!("{}?at=tomorrow", contracts_url(&x)), &t.viewer()).await.assert_problem(400, "invalid_query");
}

#[actix_web::test]
async fn the_coverage_answer_on_the_first_and_last_day_and_the_day_after() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({"status": "active", "number": "M-1", "title": "Lift care"})).await;
    let x = t.create_installation("X", json!({})).await;
    let res = t
        .cover(&contract, json!([{"installation_id": x["id"], "valid_from": "2026-03-01", "valid_to": "2026-09-30"}]))
        .await;
    assert_eq!(res.status, 201, "{}", res.text);

    let nobody: Vec<(String, String)> = Vec::new();
    assert_eq!(covering(&t, &x, "2026-02-28").await, nobody);
    assert_eq!(covering(&t, &x, "2026-03-01").await, pairs(&[("M-1", "direct")]));
    assert_eq!(covering(&t, &x, "2026-09-30").await, pairs(&[("M-1", "direct")]));
    assert_eq!(covering(&t, &x, "2026-10-01").await, nobody);

    // The answer says by what: number, type, status and period of the contract and the link.
    let answer = t.coverage_at(&x, "2026-09-30").await;
    assert_eq!(answer["covered"], true);
    assert_eq!(
        answer["contracts"],
        json!([{
            "contract": {"id": contract["id"], "number": "M-1", "title": "Lift care", "contract_type": "maintenance",
                         "status": "active", "start_date": "2026-01-01", "end_date": "2026-12-31"},
            "via": "direct",
            "covered_installation_id": x["id"],
            "valid_from": "2026-03-01",
            "valid_to": "2026-09-30",
        }])
    );
    let answer = t.coverage_at(&x, "2026-10-01").await;
    assert_eq!(answer, json!({"installation_id": x["id"], "at": "2026-10-01", "covered": false, "contracts": []}));

    // Without `at` the question is about today (the test clock says 2026-06-15).
    let res = t.get(&format!("/api/v1/installations/{}/coverage", id(&x)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["at"], "2026-06-15");
    assert_eq!(res.body["covered"], true);
    t.clock.set(at(2026, 10, 1));
    let res = t.get(&format!("/api/v1/installations/{}/coverage", id(&x)), &t.viewer()).await;
    assert_eq!(res.body["at"], "2026-10-01");
    assert_eq!(res.body["covered"], false);

    let bad = format!("/api/v1/installations/{}/coverage?at=2026-9-1x", id(&x));
    t.get(&bad, &t.viewer()).await.assert_problem(400, "invalid_query");
    let bad = format!("/api/v1/installations/{}/coverage?on=2026-09-01", id(&x));
    t.get(&bad, &t.viewer()).await.assert_problem(400, "unknown_parameter");
    let res = t.request("GET", &format!("/api/v1/installations/{}/coverage", id(&x))).send().await;
    res.assert_problem(401, "unauthorized");
}

#[actix_web::test]
async fn coverage_reaches_components_through_their_parent_installation() {
    let t = TestApp::spawn().await;
    let plant = t.create_installation("PLANT", json!({"installation_type": "plant"})).await;
    let pump = t.create_installation("PUMP", json!({"installation_type": "pump", "parent_id": plant["id"]})).await;
    let motor = t.create_installation("MOTOR", json!({"installation_type": "motor", "parent_id": pump["id"]})).await;
    let other = t.create_installation("OTHER", json!({})).await;
    let plant_care = t.create_contract(json!({"status": "active", "number": "M-PLANT"})).await;
    let pump_lease = t
        .create_contract(
            json!({"status": "active", "number": "L-PUMP", "contract_type": "lease", "start_date": "2026-06-01"}),
        )
        .await;
    let res = t.cover(&plant_care, json!([{"serial_number": "PLANT", "valid_to": "2026-10-31"}])).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(t.cover(&pump_lease, json!([{"serial_number": "PUMP"}])).await.status, 201);

    // The plant itself: direct. The pump: its own lease directly (listed first), the plant's
    // contract through its parent. The motor two levels down: both through a parent.
    assert_eq!(covering(&t, &plant, "2026-06-15").await, pairs(&[("M-PLANT", "direct")]));
    assert_eq!(covering(&t, &pump, "2026-06-15").await, pairs(&[("L-PUMP", "direct"), ("M-PLANT", "parent")]));
    assert_eq!(covering(&t, &motor, "2026-06-15").await, pairs(&[("L-PUMP", "parent"), ("M-PLANT", "parent")]));
    assert_eq!(covering(&t, &other, "2026-06-15").await, Vec::<(String, String)>::new());

    // The answer says which installation the coverage is attached to.
    let answer = t.coverage_at(&motor, "2026-06-15").await;
    let attached: Vec<&Value> =
        answer["contracts"].as_array().unwrap().iter().map(|c| &c["covered_installation_id"]).collect();
    assert_eq!(attached, vec![&pump["id"], &plant["id"]]);
    assert_eq!(answer["contracts"][1]["valid_to"], "2026-10-31");
    assert_eq!(answer["contracts"][1]["contract"]["contract_type"], "maintenance");

    // The date edges hold through a parent too.
    assert_eq!(covering(&t, &motor, "2026-05-31").await, pairs(&[("M-PLANT", "parent")]));
    assert_eq!(covering(&t, &motor, "2026-10-31").await, pairs(&[("L-PUMP", "parent"), ("M-PLANT", "parent")]));
    assert_eq!(covering(&t, &motor, "2026-11-01").await, pairs(&[("L-PUMP", "parent")]));
    assert_eq!(covering(&t, &motor, "2027-05-31").await, pairs(&[("L-PUMP", "parent")]));
    assert_eq!(covering(&t, &motor, "2027-06-01").await, Vec::<(String, String)>::new());
    assert_eq!(covering(&t, &motor, "2025-12-31").await, Vec::<(String, String)>::new());

    // Only direct links are listed as the installation's own contracts.
    assert_eq!(t.get(&contracts_url(&motor), &t.viewer()).await.body["items"], json!([]));

    // Detached from its parent, a component is no longer covered through it.
    let res = t.patch(&format!("/api/v1/installations/{}", id(&pump)), &t.manager(), json!({"parent_id": null})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(covering(&t, &motor, "2026-06-15").await, pairs(&[("L-PUMP", "parent")]));
    assert_eq!(covering(&t, &pump, "2026-06-15").await, pairs(&[("L-PUMP", "direct")]));
}

#[actix_web::test]
async fn draft_and_suspended_contracts_do_not_cover() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({"number": "M-1"})).await;
    assert_eq!(contract["status"], "draft");
    let x = t.create_installation("X", json!({})).await;
    let component = t.create_installation("X-1", json!({"parent_id": x["id"]})).await;
    assert_eq!(t.cover(&contract, json!([{"installation_id": x["id"]}])).await.status, 201);
    let nobody: Vec<(String, String)> = Vec::new();

    assert_eq!(covering(&t, &x, "2026-06-15").await, nobody, "a draft does not cover");
    assert_eq!(covering(&t, &component, "2026-06-15").await, nobody);
    verb(&t, &contract, "activate", json!({})).await;
    assert_eq!(covering(&t, &x, "2026-06-15").await, pairs(&[("M-1", "direct")]));
    assert_eq!(covering(&t, &component, "2026-06-15").await, pairs(&[("M-1", "parent")]));
    verb(&t, &contract, "suspend", json!({})).await;
    assert_eq!(covering(&t, &x, "2026-06-15").await, nobody, "a suspended contract does not cover");
    assert_eq!(covering(&t, &component, "2026-06-15").await, nobody);
    let res = t.get(&format!("{}?at=2026-06-15", contracts_url(&x)), &t.viewer()).await;
    assert_eq!(res.body["items"], json!([]));
    verb(&t, &contract, "activate", json!({})).await;
    let answer = t.coverage_at(&x, "2026-06-15").await;
    assert_eq!(answer["covered"], true);
    assert_eq!(answer["contracts"][0]["contract"]["status"], "active");
    // The links themselves never changed.
    assert_eq!(links(&t, &contract).await, vec![("X".to_string(), json!("2026-01-01"), json!("2026-12-31"))]);
}

#[actix_web::test]
async fn terminating_a_contract_ends_its_coverage_on_the_termination_date() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({"status": "active", "number": "M-1"})).await;
    let open = t
        .create_contract(json!({"status": "active", "number": "L-1", "contract_type": "lease", "term_months": null}))
        .await;
    let x = t.create_installation("X", json!({})).await;
    let early = t.create_installation("EARLY", json!({})).await;
    let late = t.create_installation("LATE", json!({})).await;
    let res = t
        .cover(
            &contract,
            json!([{"installation_id": x["id"]},
                   {"installation_id": early["id"], "valid_to": "2026-05-31"},
                   {"installation_id": late["id"], "valid_from": "2026-10-01"}]),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(t.cover(&open, json!([{"installation_id": x["id"]}])).await.status, 201);

    let res = verb(&t, &contract, "terminate", json!({"effective_date": "2026-08-31"})).await;
    assert_eq!(res.body["end_date"], "2026-08-31");

    // Coverage running past the termination date ends on it; coverage ending before it stays;
    // coverage that would only have started after it is removed.
    assert_eq!(
        links(&t, &contract).await,
        vec![
            ("X".to_string(), json!("2026-01-01"), json!("2026-08-31")),
            ("EARLY".to_string(), json!("2026-01-01"), json!("2026-05-31")),
        ]
    );
    let res = t.get(&contracts_url(&x), &t.viewer()).await;
    let m1 = res.body["items"].as_array().unwrap().iter().find(|l| l["contract"]["number"] == "M-1").unwrap().clone();
    assert_eq!(m1["valid_to"], "2026-08-31");
    assert_eq!(m1["version"], 2);
    assert_eq!(m1["contract"]["status"], "terminated");

    // Covered up to and including the termination date, not after.
    assert_eq!(covering(&t, &x, "2026-08-31").await, pairs(&[("L-1", "direct"), ("M-1", "direct")]));
    assert_eq!(t.coverage_at(&x, "2026-08-31").await["contracts"][1]["contract"]["status"], "terminated");
    assert_eq!(covering(&t, &x, "2026-09-01").await, pairs(&[("L-1", "direct")]));
    assert_eq!(covering(&t, &late, "2026-10-01").await, Vec::<(String, String)>::new());

    // The days after are free for another maintenance contract.
    let next = t.create_contract(json!({"status": "active", "number": "M-2", "start_date": "2026-09-01"})).await;
    let res = t.cover(&next, json!([{"installation_id": x["id"]}])).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(covering(&t, &x, "2026-09-01").await, pairs(&[("L-1", "direct"), ("M-2", "direct")]));

    // An open-ended contract's open-ended coverage gets the termination date as its end.
    verb(&t, &open, "terminate", json!({"effective_date": "2027-03-31"})).await;
    let res = t.get(&links_url(&open), &t.viewer()).await;
    assert_eq!(res.body["items"][0]["valid_to"], "2027-03-31");
    assert_eq!(covering(&t, &x, "2027-03-31").await, pairs(&[("L-1", "direct"), ("M-2", "direct")]));
    assert_eq!(covering(&t, &x, "2027-04-01").await, pairs(&[("M-2", "direct")]));

    // Each change is in the event log, by whoever terminated.
    let mut actions: Vec<String> = coverage_events(&t).await.into_iter().map(|(a, _)| a).collect();
    actions.sort();
    assert_eq!(actions, vec!["created", "created", "created", "created", "created", "deleted", "ended", "ended"]);
}

#[actix_web::test]
async fn renewing_a_contract_extends_the_coverage_that_ran_to_its_end() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({"status": "active", "number": "M-1"})).await;
    let x = t.create_installation("X", json!({})).await;
    let y = t.create_installation("Y", json!({})).await;
    let res = t
        .cover(&contract, json!([{"installation_id": x["id"]}, {"installation_id": y["id"], "valid_to": "2026-06-30"}]))
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(covering(&t, &x, "2027-01-01").await, Vec::<(String, String)>::new());

    let res = verb(&t, &contract, "renew", json!({})).await;
    assert_eq!(res.body["end_date"], "2027-12-31");
    assert_eq!(
        links(&t, &contract).await,
        vec![
            ("X".to_string(), json!("2026-01-01"), json!("2027-12-31")),
            ("Y".to_string(), json!("2026-01-01"), json!("2026-06-30")),
        ],
        "only the coverage that ran to the old end date is extended"
    );
    assert_eq!(covering(&t, &x, "2027-01-01").await, pairs(&[("M-1", "direct")]));
    assert_eq!(covering(&t, &x, "2027-12-31").await, pairs(&[("M-1", "direct")]));
    assert_eq!(covering(&t, &x, "2028-01-01").await, Vec::<(String, String)>::new());
    assert_eq!(covering(&t, &y, "2026-07-01").await, Vec::<(String, String)>::new());

    // A renewal by a given number of months extends by that much.
    let res = verb(&t, &contract, "renew", json!({"term_months": 6})).await;
    assert_eq!(res.body["end_date"], "2028-06-30");
    assert_eq!(links(&t, &contract).await[0].2, json!("2028-06-30"));

    let events = coverage_events(&t).await;
    assert_eq!(
        events,
        pairs(&[("created", "maria"), ("created", "maria"), ("extended", "maria"), ("extended", "maria")])
    );
}

#[actix_web::test]
async fn expiry_and_auto_renewal_by_the_scheduler_move_coverage_with_the_contract() {
    let t = TestApp::spawn().await;
    let expiring = t.create_contract(json!({"status": "active", "number": "M-EXP"})).await;
    let renewing = t
        .create_contract(json!({"status": "active", "number": "L-REN", "contract_type": "lease",
            "renewal": {"auto_renew": true}}))
        .await;
    let x = t.create_installation("X", json!({})).await;
    assert_eq!(t.cover(&expiring, json!([{"installation_id": x["id"]}])).await.status, 201);
    assert_eq!(t.cover(&renewing, json!([{"installation_id": x["id"]}])).await.status, 201);

    t.clock.set(at(2027, 1, 1));
    let report = t.run_scheduler().await;
    assert_eq!((report.contracts_renewed, report.contracts_expired), (1, 1));
    assert_eq!(t.get(&format!("/api/v1/contracts/{}", id(&expiring)), &t.viewer()).await.body["status"], "expired");

    // The expired contract covered up to its last day and no longer.
    let last_day = t.coverage_at(&x, "2026-12-31").await;
    assert_eq!(last_day["contracts"].as_array().unwrap().len(), 2, "{last_day}");
    assert_eq!(last_day["contracts"][1]["contract"]["number"], "M-EXP");
    assert_eq!(last_day["contracts"][1]["contract"]["status"], "expired");
    assert_eq!(covering(&t, &x, "2027-01-01").await, pairs(&[("L-REN", "direct")]));
    // The auto-renewed one extended its coverage, by the system.
    assert_eq!(links(&t, &renewing).await, vec![("X".to_string(), json!("2026-01-01"), json!("2027-12-31"))]);
    assert_eq!(covering(&t, &x, "2027-12-31").await, pairs(&[("L-REN", "direct")]));
    assert_eq!(covering(&t, &x, "2028-01-01").await, Vec::<(String, String)>::new());
    assert!(coverage_events(&t).await.contains(&("extended".to_string(), "system".to_string())));

    // Renewing the expired contract by hand extends its coverage again.
    let res = verb(&t, &expiring, "renew", json!({})).await;
    assert_eq!(res.body["status"], "active");
    assert_eq!(links(&t, &expiring).await, vec![("X".to_string(), json!("2026-01-01"), json!("2027-12-31"))]);
    assert_eq!(covering(&t, &x, "2027-01-01").await, pairs(&[("L-REN", "direct"), ("M-EXP", "direct")]));
}

#[actix_web::test]
async fn a_contract_with_coverage_cannot_be_deleted() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({})).await;
    let x = t.create_installation("X", json!({})).await;
    assert_eq!(t.cover(&contract, json!([{"installation_id": x["id"]}])).await.status, 201);
    let url = format!("/api/v1/contracts/{}", id(&contract));

    t.delete(&url, &t.manager()).await.assert_problem(409, "has_coverage");
    assert_eq!(t.get(&url, &t.viewer()).await.status, 200);
    assert_eq!(links(&t, &contract).await.len(), 1);

    assert_eq!(t.delete(&link_url(&contract, &x), &t.manager()).await.status, 204);
    assert_eq!(t.delete(&url, &t.manager()).await.status, 204);
    t.get(&url, &t.viewer()).await.assert_problem(404, "not_found");
    assert_eq!(t.get(&contracts_url(&x), &t.viewer()).await.body["items"], json!([]));
}

#[actix_web::test]
async fn a_renewal_extends_coverage_only_up_to_the_next_contract_of_its_type() {
    let t = TestApp::spawn().await;
    let first = t.create_contract(json!({"status": "active", "number": "M-1"})).await;
    let successor = t.create_contract(json!({"status": "active", "number": "M-2", "start_date": "2027-03-01"})).await;
    let adjacent = t.create_contract(json!({"status": "active", "number": "M-3", "start_date": "2027-01-01"})).await;
    let x = t.create_installation("X", json!({})).await;
    let y = t.create_installation("Y", json!({})).await;
    let z = t.create_installation("Z", json!({})).await;
    let res = t
        .cover(
            &first,
            json!([{"installation_id": x["id"]}, {"installation_id": y["id"]}, {"installation_id": z["id"]}]),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    // X is taken over by M-2 from March 2027, Y by M-3 from the day after M-1 ends; Z by nobody.
    assert_eq!(t.cover(&successor, json!([{"installation_id": x["id"]}])).await.status, 201);
    assert_eq!(t.cover(&adjacent, json!([{"installation_id": y["id"]}])).await.status, 201);

    let res = verb(&t, &first, "renew", json!({})).await;
    assert_eq!(res.body["end_date"], "2027-12-31");
    assert_eq!(
        links(&t, &first).await,
        vec![
            ("X".to_string(), json!("2026-01-01"), json!("2027-02-28")),
            ("Y".to_string(), json!("2026-01-01"), json!("2026-12-31")),
            ("Z".to_string(), json!("2026-01-01"), json!("2027-12-31")),
        ]
    );
    // Never two maintenance contracts on one day.
    assert_eq!(covering(&t, &x, "2027-02-28").await, pairs(&[("M-1", "direct")]));
    assert_eq!(covering(&t, &x, "2027-03-01").await, pairs(&[("M-2", "direct")]));
    assert_eq!(covering(&t, &y, "2027-01-01").await, pairs(&[("M-3", "direct")]));
    assert_eq!(covering(&t, &z, "2027-12-31").await, pairs(&[("M-1", "direct")]));
}

#[actix_web::test]
async fn changing_a_contract_keeps_its_coverage_inside_its_period() {
    let t = TestApp::spawn().await;
    let contract = t.create_contract(json!({"start_date": "2026-01-01", "term_months": 24, "status": "active"})).await;
    let machine = t.create_installation("SN-PATCH-1", json!({})).await;
    let late = t.create_installation("SN-PATCH-2", json!({})).await;
    let res = t
        .cover(
            &contract,
            json!([{"installation_id": machine["id"]}, {"installation_id": late["id"], "valid_from": "2027-06-01"}]),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let url = format!("/api/v1/contracts/{}", contract["id"].as_str().unwrap());
    let links = format!("{url}/installations");

    // A shorter term ends the links on the new end date; a link that would start after it goes.
    let res = t.patch(&url, &t.manager(), json!({"term_months": 12})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let list = t.get(&links, &t.viewer()).await;
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", list.text);
    assert_eq!(items[0]["installation_id"], machine["id"]);
    assert_eq!(items[0]["valid_to"], "2026-12-31");

    // A later start moves the link's start with it.
    let res = t.patch(&url, &t.manager(), json!({"start_date": "2026-03-01"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let list = t.get(&links, &t.viewer()).await;
    assert_eq!(list.body["items"][0]["valid_from"], "2026-03-01");
    assert_eq!(list.body["items"][0]["valid_to"], "2027-02-28");
    assert_eq!(t.coverage_at(&machine, "2026-02-28").await["covered"], false);
    assert_eq!(t.coverage_at(&machine, "2027-02-28").await["covered"], true);
}

#[actix_web::test]
async fn a_type_change_that_would_double_cover_an_installation_is_refused() {
    let t = TestApp::spawn().await;
    let maintenance = t.create_contract(json!({"contract_type": "maintenance", "status": "active"})).await;
    let lease = t.create_contract(json!({"contract_type": "lease", "status": "active"})).await;
    let machine = t.create_installation("SN-TYPE-1", json!({})).await;
    assert_eq!(t.cover(&maintenance, json!([{"installation_id": machine["id"]}])).await.status, 201);
    assert_eq!(t.cover(&lease, json!([{"installation_id": machine["id"]}])).await.status, 201);

    let url = format!("/api/v1/contracts/{}", lease["id"].as_str().unwrap());
    let res = t.patch(&url, &t.manager(), json!({"contract_type": "maintenance"})).await;
    res.assert_problem(409, "coverage_overlap");
    assert!(res.body["detail"].as_str().unwrap().contains(maintenance["number"].as_str().unwrap()));
    let still = t.get(&url, &t.viewer()).await;
    assert_eq!(still.body["contract_type"], "lease");
    assert_eq!(still.body["version"], lease["version"]);
}

#[actix_web::test]
async fn one_pass_renews_and_expires_many_contracts_together_each_as_if_alone() {
    let t = TestApp::spawn().await;
    let renewing = json!({"status": "active", "renewal": {"auto_renew": true}});
    let mut fields = renewing.clone();
    fields["number"] = json!("M-1");
    let maintenance = t.create_contract(fields).await;
    let mut fields = renewing.clone();
    fields["number"] = json!("L-1");
    fields["contract_type"] = json!("lease");
    let lease = t.create_contract(fields).await;
    let expiring = t.create_contract(json!({"status": "active", "number": "M-3"})).await;
    let successor = t.create_contract(json!({"status": "active", "number": "M-2", "start_date": "2027-03-01"})).await;
    let x = t.create_installation("X", json!({})).await;
    let y = t.create_installation("Y", json!({})).await;
    // X is covered by a maintenance and a lease contract, both renewing; a second maintenance
    // contract takes X over from March 2027, which stops only the maintenance contract's extension.
    for (contract, installation) in [(&maintenance, &x), (&lease, &x), (&successor, &x), (&expiring, &y)] {
        let res = t.cover(contract, json!([{"installation_id": installation["id"]}])).await;
        assert_eq!(res.status, 201, "{}", res.text);
    }
    let monthly = t.create_obligation(&maintenance, json!({})).await;
    let quarterly = t.create_obligation(&lease, json!({"schedule": {"rrule": "FREQ=MONTHLY;INTERVAL=3"}})).await;
    let ended = t.create_obligation(&expiring, json!({})).await;

    t.clock.set(at(2027, 1, 1));
    let report = t.run_scheduler().await;
    assert_eq!((report.contracts_renewed, report.contracts_expired, report.failures), (2, 1, 0), "{report:?}");
    assert_eq!(report.term_batches_retried, 0, "all three were written together: {report:?}");
    // End of term marked the obligations due, and the same pass brought each in line.
    assert_eq!(report.obligations_generated, 3, "{report:?}");
    for o in [&monthly, &quarterly, &ended] {
        let got = t.get(&format!("/api/v1/obligations/{}", id(o)), &t.viewer()).await.body;
        assert_eq!(got["generated_on"], "2027-01-01", "{got}");
    }

    assert_eq!(links(&t, &maintenance).await, vec![("X".to_string(), json!("2026-01-01"), json!("2027-02-28"))]);
    assert_eq!(links(&t, &lease).await, vec![("X".to_string(), json!("2026-01-01"), json!("2027-12-31"))]);
    assert_eq!(links(&t, &expiring).await, vec![("Y".to_string(), json!("2026-01-01"), json!("2026-12-31"))]);
    assert_eq!(covering(&t, &x, "2027-02-28").await, pairs(&[("L-1", "direct"), ("M-1", "direct")]));
    assert_eq!(covering(&t, &x, "2027-03-01").await, pairs(&[("L-1", "direct"), ("M-2", "direct")]));
    assert_eq!(covering(&t, &y, "2027-01-01").await, Vec::<(String, String)>::new());

    // Each contract's obligations follow its own new term: tasks through the renewed end, none
    // past the expired one.
    let open_days = |tasks: Vec<Value>| -> Vec<String> {
        let mut days: Vec<String> = tasks
            .iter()
            .filter(|x| x["status"] == "open")
            .map(|x| x["nominal_date"].as_str().unwrap().to_string())
            .filter(|d| d.as_str() >= "2027-01-01")
            .collect();
        days.sort();
        days
    };
    let months = |list: &[&str]| list.iter().map(|m| format!("2027-{m}-01")).collect::<Vec<_>>();
    assert_eq!(
        open_days(t.tasks_of(&monthly).await),
        months(&["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"])
    );
    assert_eq!(open_days(t.tasks_of(&quarterly).await), months(&["01", "04", "07", "10"]));
    assert_eq!(open_days(t.tasks_of(&ended).await), Vec::<String>::new());

    // Every change has its event, by the system, with what changed.
    let res = t.get("/api/v1/events?entity_type=coverage&limit=500", &t.viewer()).await;
    let extended: Vec<Value> = res.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "extended")
        .map(|e| json!([e["actor"], e["changes"]["valid_to"]]))
        .collect();
    assert_eq!(
        extended,
        vec![
            json!(["system", {"old": "2026-12-31", "new": "2027-02-28"}]),
            json!(["system", {"old": "2026-12-31", "new": "2027-12-31"}]),
        ]
    );
    for (contract, action, end) in [
        (&maintenance, "renewed", "2027-12-31"),
        (&lease, "renewed", "2027-12-31"),
        (&expiring, "expired", "2026-12-31"),
    ] {
        let got = t.get(&format!("/api/v1/contracts/{}", id(contract)), &t.viewer()).await.body;
        assert_eq!((got["end_date"].as_str(), got["version"].as_i64()), (Some(end), Some(2)), "{got}");
        let res = t.get(&format!("/api/v1/contracts/{}/history", id(contract)), &t.viewer()).await;
        let last = res.body["items"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["action"].as_str(), last["actor"].as_str()), (Some(action), Some("system")), "{last}");
    }

    // A second pass finds nothing left to do.
    assert_eq!(t.run_scheduler().await, Default::default());
}
