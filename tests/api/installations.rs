//! Installations: create, read, list with filters, merge patch, delete; unique human keys,
//! components and cycles, attribute validation, history and roles.

use crate::common::TestApp;
use serde_json::{json, Value};

const INSTALLATIONS: &str = "/api/v1/installations";

fn url(i: &Value) -> String {
    format!("{INSTALLATIONS}/{}", i["id"].as_str().unwrap())
}

/// The serial numbers of a list answer, in order.
async fn serials(t: &TestApp, query: &str) -> Vec<String> {
    let res = t.get(&format!("{INSTALLATIONS}?{query}"), &t.viewer()).await;
    assert_eq!(res.status, 200, "{query}: {}", res.text);
    res.body["items"].as_array().unwrap().iter().map(|i| i["serial_number"].as_str().unwrap().to_string()).collect()
}

async fn count(t: &TestApp) -> usize {
    serials(t, "limit=500").await.len()
}

#[actix_web::test]
async fn create_returns_201_with_location_etag_and_defaults() {
    let t = TestApp::spawn().await;
    let res = t
        .post(
            INSTALLATIONS,
            &t.manager(),
            json!({"serial_number": "LIFT-000123", "name": "Passenger lift, main entrance",
                   "installation_type": "lift", "customer_ref": "CUST-1001",
                   "location": {"street": "Stationsplein", "house_number": "1", "postal_code": "3511 ED",
                                "city": "Utrecht", "country": "NL", "site_note": "roof, north wing"},
                   "installed_at": "2019-05-14", "external_ref": "erp-77"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let id = res.body["id"].as_str().unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(res.header("location").unwrap(), format!("{INSTALLATIONS}/{id}"));
    assert_eq!(res.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(res.body["serial_number"], "LIFT-000123");
    assert_eq!(res.body["name"], "Passenger lift, main entrance");
    assert_eq!(res.body["installation_type"], "lift");
    assert_eq!(res.body["customer_ref"], "CUST-1001");
    assert_eq!(
        res.body["location"],
        json!({"street": "Stationsplein", "house_number": "1", "postal_code": "3511 ED", "city": "Utrecht",
               "region": null, "country": "NL", "site_note": "roof, north wing"})
    );
    assert_eq!(res.body["installed_at"], "2019-05-14");
    assert_eq!(res.body["status"], "active", "status defaults to active");
    assert_eq!(res.body["parent_id"], Value::Null);
    assert_eq!(res.body["external_ref"], "erp-77");
    assert_eq!(res.body["attributes"], json!({}));
    assert_eq!(res.body["version"], 1);
    assert_eq!(res.body["created_at"], "2026-06-15T10:00:00Z");
    assert_eq!(res.body["updated_at"], "2026-06-15T10:00:00Z");

    // Any authenticated user reads it, with the same ETag.
    let got = t.get(&format!("{INSTALLATIONS}/{id}"), &t.viewer()).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(got.body, res.body);

    // A minimal one: no location, no install date, an explicit status.
    let minimal = t.create_installation("B-1", json!({"status": "inactive"})).await;
    assert_eq!(minimal["status"], "inactive");
    assert_eq!(minimal["installed_at"], Value::Null);
    assert_eq!(minimal["external_ref"], Value::Null);
    assert!(minimal["location"].as_object().unwrap().values().all(Value::is_null), "{}", minimal["location"]);
}

#[actix_web::test]
async fn viewers_cannot_write_while_managers_and_integrations_can() {
    let t = TestApp::spawn().await;
    let body = json!({"serial_number": "S-1", "name": "n", "installation_type": "lift", "customer_ref": "c"});
    t.post(INSTALLATIONS, &t.viewer(), body.clone()).await.assert_problem(403, "forbidden");
    t.post(INSTALLATIONS, &t.token("pete", &["planner"]), body.clone()).await.assert_problem(403, "forbidden");
    t.post(INSTALLATIONS, &t.token("sam", &["service_agent"]), body.clone()).await.assert_problem(403, "forbidden");
    t.request("POST", INSTALLATIONS).json(body.clone()).await.assert_problem(401, "unauthorized");
    assert_eq!(count(&t).await, 0, "refused writes create nothing");

    let integration = t.token("erp", &["integration"]);
    let res = t.post(INSTALLATIONS, &integration, body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let i = res.body;
    let res = t.patch(&url(&i), &integration, json!({"name": "pushed"})).await;
    assert_eq!(res.status, 200, "{}", res.text);

    t.patch(&url(&i), &t.viewer(), json!({"name": "x"})).await.assert_problem(403, "forbidden");
    t.delete(&url(&i), &t.viewer()).await.assert_problem(403, "forbidden");
    let got = t.get(&url(&i), &t.viewer()).await;
    assert_eq!(got.body["name"], "pushed");
    assert_eq!(got.body["version"], 2);

    let res = t.patch(&url(&i), &t.manager(), json!({"name": "managed"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(t.delete(&url(&i), &t.admin()).await.status, 204);
    assert_eq!(count(&t).await, 0);
}

#[actix_web::test]
async fn unknown_installations_are_404() {
    let t = TestApp::spawn().await;
    let missing = format!("{INSTALLATIONS}/0190a1b2-0000-7000-8000-000000000000");
    t.get(&missing, &t.viewer()).await.assert_problem(404, "not_found");
    t.patch(&missing, &t.manager(), json!({"name": "x"})).await.assert_problem(404, "not_found");
    t.delete(&missing, &t.manager()).await.assert_problem(404, "not_found");
    t.get(&format!("{missing}/history"), &t.viewer()).await.assert_problem(404, "not_found");
    t.get(&format!("{missing}/components"), &t.viewer()).await.assert_problem(404, "not_found");
    t.get(&format!("{missing}/contracts"), &t.viewer()).await.assert_problem(404, "not_found");
    t.get(&format!("{missing}/coverage?at=2026-06-15"), &t.viewer()).await.assert_problem(404, "not_found");
}

#[actix_web::test]
async fn serial_number_and_external_ref_are_unique_and_findable() {
    let t = TestApp::spawn().await;
    let a = t.create_installation("SN-1", json!({"external_ref": "erp-1"})).await;
    let b = t.create_installation("SN-2", json!({})).await;

    let dup = t
        .post(
            INSTALLATIONS,
            &t.manager(),
            json!({"serial_number": "SN-1", "name": "other",
        "installation_type": "boiler", "customer_ref": "CUST-2"}),
        )
        .await;
    dup.assert_problem(409, "duplicate_serial_number");
    assert!(dup.body["detail"].as_str().unwrap().contains(a["id"].as_str().unwrap()), "{}", dup.text);
    let dup = t
        .post(
            INSTALLATIONS,
            &t.manager(),
            json!({"serial_number": "SN-3", "name": "other",
        "installation_type": "boiler", "customer_ref": "CUST-2", "external_ref": "erp-1"}),
        )
        .await;
    dup.assert_problem(409, "duplicate_external_ref");

    // A patch cannot take another installation's keys either; keeping one's own is fine.
    t.patch(&url(&b), &t.manager(), json!({"serial_number": "SN-1"}))
        .await
        .assert_problem(409, "duplicate_serial_number");
    t.patch(&url(&b), &t.manager(), json!({"external_ref": "erp-1"}))
        .await
        .assert_problem(409, "duplicate_external_ref");
    let res = t.patch(&url(&a), &t.manager(), json!({"serial_number": "SN-1", "external_ref": "erp-1"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["version"], 1, "an unchanged patch keeps the version");
    assert_eq!(count(&t).await, 2);
    assert_eq!(t.get(&url(&b), &t.viewer()).await.body["version"], 1);

    // Human keys are findable.
    assert_eq!(serials(&t, "serial_number=SN-2").await, vec!["SN-2"]);
    assert_eq!(serials(&t, "external_ref=erp-1").await, vec!["SN-1"]);
    assert_eq!(serials(&t, "serial_number=SN-9").await, Vec::<String>::new());

    // Once the first one frees its keys, they can be reused.
    let res = t.patch(&url(&a), &t.manager(), json!({"serial_number": "SN-1-old", "external_ref": null})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["external_ref"], Value::Null);
    let res = t.patch(&url(&b), &t.manager(), json!({"serial_number": "SN-1", "external_ref": "erp-1"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
}

#[actix_web::test]
async fn invalid_fields_are_422_with_their_paths_and_change_nothing() {
    let t = TestApp::spawn().await;
    let base = || json!({"serial_number": "S-1", "name": "n", "installation_type": "lift", "customer_ref": "c"});
    let with = |k: &str, v: Value| {
        let mut b = base();
        b[k] = v;
        b
    };
    let check = |body: Value, fields: &'static [&'static str]| {
        let t = &t;
        async move {
            let res = t.post(INSTALLATIONS, &t.manager(), body).await;
            res.assert_problem(422, "validation_failed");
            assert_eq!(res.error_fields(), fields, "{}", res.text);
            res
        }
    };
    let res = check(
        json!({"serial_number": " ", "name": "", "installation_type": "lift", "customer_ref": "c"}),
        &["serial_number", "name"],
    )
    .await;
    assert_eq!(res.body["errors"][0]["code"], "required");
    let res = check(with("serial_number", json!("x".repeat(101))), &["serial_number"]).await;
    assert_eq!(res.body["errors"][0]["code"], "too_long");
    let mut missing = base();
    missing.as_object_mut().unwrap().remove("customer_ref");
    let res = check(missing, &["customer_ref"]).await;
    assert_eq!(res.body["errors"][0]["code"], "required");
    let res = check(with("status", json!("broken")), &["status"]).await;
    assert_eq!(res.body["errors"][0]["code"], "invalid_value");
    check(with("installed_at", json!("2026-02-30")), &["installed_at"]).await;
    check(with("installed_at", json!("1850-01-01")), &["installed_at"]).await;
    let res = check(with("location", json!({"city": "Utrecht", "planet": "Earth"})), &["location.planet"]).await;
    assert_eq!(res.body["errors"][0]["code"], "unknown_field");
    check(with("location", json!({"city": "x".repeat(201)})), &["location.city"]).await;
    let res = check(with("colour", json!("red")), &["colour"]).await;
    assert_eq!(res.body["errors"][0]["code"], "unknown_field");
    let res = check(with("parent_id", json!("0190a1b2-0000-7000-8000-000000000000")), &["parent_id"]).await;
    assert_eq!(res.body["errors"][0]["code"], "not_found");
    // Attributes nobody defined are refused.
    let res = check(with("attributes", json!({"colour": "red"})), &["attributes.colour"]).await;
    assert_eq!(res.body["errors"][0]["code"], "unknown_attribute");

    assert_eq!(count(&t).await, 0);
    let events = t.get("/api/v1/events?entity_type=installation", &t.viewer()).await;
    assert_eq!(events.body["items"], json!([]), "refused writes append no events");
}

#[actix_web::test]
async fn patch_is_a_merge_patch_and_location_merges_key_by_key() {
    let t = TestApp::spawn().await;
    let i = t
        .create_installation(
            "LIFT-1",
            json!({"installed_at": "2020-01-01", "external_ref": "erp-1",
                   "location": {"street": "Kerkstraat", "house_number": "12", "city": "Utrecht", "country": "NL"}}),
        )
        .await;

    // One key changes, a `null` key clears, the other keys stay.
    let res = t.patch(&url(&i), &t.manager(), json!({"location": {"city": "Amersfoort", "house_number": null}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(
        res.body["location"],
        json!({"street": "Kerkstraat", "house_number": null, "postal_code": null, "city": "Amersfoort",
               "region": null, "country": "NL", "site_note": null})
    );
    assert_eq!(res.body["updated_at"], "2026-06-15T10:00:00Z");

    // A patch without `location` leaves it alone; other nulls clear optional fields.
    let res = t
        .patch(&url(&i), &t.manager(), json!({"name": "Goods lift", "installed_at": null, "status": "inactive"}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["name"], "Goods lift");
    assert_eq!(res.body["installed_at"], Value::Null);
    assert_eq!(res.body["status"], "inactive");
    assert_eq!(res.body["external_ref"], "erp-1");
    assert_eq!(res.body["location"]["street"], "Kerkstraat");
    assert_eq!(res.body["location"]["city"], "Amersfoort");
    assert_eq!(res.body["version"], 3);

    // A bad location key or a required field cleared is a 422 and changes nothing.
    let res = t.patch(&url(&i), &t.manager(), json!({"location": {"planet": "Mars"}})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["location"]);
    let res = t.patch(&url(&i), &t.manager(), json!({"location": {"city": 7}})).await;
    res.assert_problem(422, "validation_failed");
    let res = t.patch(&url(&i), &t.manager(), json!({"name": null, "serial_number": null})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["serial_number", "name"]);
    let res = t.patch(&url(&i), &t.manager(), json!({"status": null})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["status"]);
    let res = t.patch(&url(&i), &t.manager(), json!({"status": "scrapped"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(t.get(&url(&i), &t.viewer()).await.body["version"], 3);

    // `location: null` clears the whole address.
    let res = t.patch(&url(&i), &t.manager(), json!({"location": null})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(res.body["location"].as_object().unwrap().values().all(Value::is_null), "{}", res.body["location"]);

    // If-Match: a stale ETag is 412 and changes nothing; the current one works.
    let stale =
        t.request("PATCH", &url(&i)).bearer(&t.manager()).header("If-Match", "\"2\"").json(json!({"name": "x"})).await;
    stale.assert_problem(412, "precondition_failed");
    let fresh = t
        .request("PATCH", &url(&i))
        .bearer(&t.manager())
        .header("If-Match", "\"4\"")
        .json(json!({"status": "decommissioned"}))
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);
    assert_eq!(fresh.header("etag").as_deref(), Some("\"5\""));
    assert_eq!(fresh.body["status"], "decommissioned");
    assert_eq!(fresh.body["name"], "Goods lift");

    // An empty patch changes nothing and keeps the version.
    let res = t.patch(&url(&i), &t.manager(), json!({})).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body["version"], 5);
    assert_eq!(res.header("etag").as_deref(), Some("\"5\""));
}

#[actix_web::test]
async fn components_hang_below_a_parent_and_cycles_are_409() {
    let t = TestApp::spawn().await;
    let plant = t.create_installation("PLANT-1", json!({"installation_type": "plant"})).await;
    let pump = t.create_installation("PUMP-1", json!({"installation_type": "pump", "parent_id": plant["id"]})).await;
    let motor = t.create_installation("MOTOR-1", json!({"installation_type": "motor", "parent_id": pump["id"]})).await;
    let valve = t.create_installation("VALVE-1", json!({"installation_type": "valve", "parent_id": plant["id"]})).await;
    assert_eq!(pump["parent_id"], plant["id"]);

    // Components are the direct children only.
    let res = t.get(&format!("{}/components", url(&plant)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let ids: Vec<&Value> = res.body["items"].as_array().unwrap().iter().map(|c| &c["id"]).collect();
    assert_eq!(ids, vec![&pump["id"], &valve["id"]]);
    assert_eq!(res.body["next_cursor"], Value::Null);
    let res = t.get(&format!("{}/components?limit=1", url(&plant)), &t.viewer()).await;
    assert_eq!(res.body["items"].as_array().unwrap().len(), 1);
    let cursor = res.body["next_cursor"].as_str().unwrap().to_string();
    let res = t.get(&format!("{}/components?limit=1&cursor={cursor}", url(&plant)), &t.viewer()).await;
    assert_eq!(res.body["items"][0]["id"], valve["id"]);
    let res = t.get(&format!("{}/components", url(&motor)), &t.viewer()).await;
    assert_eq!(res.body["items"], json!([]));
    let parent_filter = format!("parent_id={}", pump["id"].as_str().unwrap());
    assert_eq!(serials(&t, &parent_filter).await, vec!["MOTOR-1"]);

    // Linking to itself or to one of its own components would make a cycle.
    let res = t.patch(&url(&plant), &t.manager(), json!({"parent_id": motor["id"]})).await;
    res.assert_problem(409, "hierarchy_cycle");
    let res = t.patch(&url(&plant), &t.manager(), json!({"parent_id": plant["id"]})).await;
    res.assert_problem(409, "hierarchy_cycle");
    let res = t.patch(&url(&pump), &t.manager(), json!({"parent_id": motor["id"]})).await;
    res.assert_problem(409, "hierarchy_cycle");
    assert_eq!(t.get(&url(&plant), &t.viewer()).await.body["parent_id"], Value::Null);
    let res = t.patch(&url(&pump), &t.manager(), json!({"parent_id": "nope"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["parent_id"]);

    // Moving a component elsewhere and detaching it work.
    let res = t.patch(&url(&motor), &t.manager(), json!({"parent_id": valve["id"]})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["parent_id"], valve["id"]);
    let res = t.patch(&url(&motor), &t.manager(), json!({"parent_id": null})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["parent_id"], Value::Null);
    // Now the former parent may hang below it.
    let res = t.patch(&url(&plant), &t.manager(), json!({"parent_id": motor["id"]})).await;
    assert_eq!(res.status, 200, "{}", res.text);
}

#[actix_web::test]
async fn delete_is_refused_while_components_or_coverage_remain() {
    let t = TestApp::spawn().await;
    let parent = t.create_installation("P-1", json!({})).await;
    let child = t.create_installation("C-1", json!({"parent_id": parent["id"]})).await;
    let contract = t.create_contract(json!({"status": "active"})).await;
    let res = t.cover(&contract, json!([{"installation_id": child["id"]}])).await;
    assert_eq!(res.status, 201, "{}", res.text);

    t.delete(&url(&parent), &t.manager()).await.assert_problem(409, "has_components");
    t.delete(&url(&child), &t.manager()).await.assert_problem(409, "has_coverage");
    assert_eq!(count(&t).await, 2);

    // Stale If-Match wins over nothing: 412.
    let res = t.request("DELETE", &url(&child)).bearer(&t.manager()).header("If-Match", "\"7\"").send().await;
    res.assert_problem(412, "precondition_failed");

    let coverage = format!(
        "/api/v1/contracts/{}/installations/{}",
        contract["id"].as_str().unwrap(),
        child["id"].as_str().unwrap()
    );
    assert_eq!(t.delete(&coverage, &t.manager()).await.status, 204);
    let res = t.request("DELETE", &url(&child)).bearer(&t.manager()).header("If-Match", "\"1\"").send().await;
    assert_eq!(res.status, 204, "{}", res.text);
    assert_eq!(res.text, "");
    t.get(&url(&child), &t.viewer()).await.assert_problem(404, "not_found");
    t.delete(&url(&child), &t.manager()).await.assert_problem(404, "not_found");
    assert_eq!(t.delete(&url(&parent), &t.manager()).await.status, 204);
    assert_eq!(count(&t).await, 0);

    // The history outlives the installation.
    let res = t.get(&format!("{}/history", url(&child)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let actions: Vec<&str> =
        res.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["created", "deleted"]);
}

#[actix_web::test]
async fn history_records_every_change_with_old_and_new_values() {
    let t = TestApp::spawn().await;
    let i = t.create_installation("H-1", json!({"location": {"city": "Utrecht"}})).await;
    let res = t
        .patch(&url(&i), &t.token("erp", &["integration"]), json!({"name": "Renamed", "location": {"city": "Zeist"}}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    // A patch that changes nothing records nothing.
    assert_eq!(t.patch(&url(&i), &t.manager(), json!({"name": "Renamed"})).await.status, 200);

    let res = t.get(&format!("{}/history", url(&i)), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let items = res.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", res.text);
    assert_eq!(items[0]["action"], "created");
    assert_eq!(items[0]["actor"], "maria");
    assert_eq!(items[0]["entity_type"], "installation");
    assert_eq!(items[0]["entity_id"], i["id"]);
    assert_eq!(items[0]["occurred_at"], "2026-06-15T10:00:00Z");
    assert_eq!(items[0]["changes"]["serial_number"]["new"], "H-1");
    assert_eq!(items[1]["action"], "updated");
    assert_eq!(items[1]["actor"], "erp");
    assert_eq!(items[1]["changes"]["name"], json!({"old": "Installation H-1", "new": "Renamed"}));
    let changed: Vec<&String> = items[1]["changes"].as_object().unwrap().keys().collect();
    assert!(changed.iter().all(|k| k.as_str() == "name" || k.starts_with("location")), "{changed:?}");
    assert!(changed.iter().any(|k| k.starts_with("location")), "{changed:?}");

    // The feed carries the same events.
    let feed = t.get("/api/v1/events?entity_type=installation", &t.viewer()).await;
    assert_eq!(feed.body["items"].as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn attributes_are_validated_against_installation_definitions_and_their_type_scope() {
    let t = TestApp::spawn().await;
    t.define_attribute(json!({"entity_kind": "installation", "key": "colour", "label": "Colour", "data_type": "text"}))
        .await;
    t.define_attribute(json!({"entity_kind": "installation", "scope": "lift", "key": "floors", "label": "Floors",
        "data_type": "integer"}))
        .await;
    t.define_attribute(json!({"entity_kind": "installation", "scope": "boiler", "key": "fuel", "label": "Fuel",
        "data_type": "enum", "options": ["gas", "oil"], "required": true}))
        .await;
    // A contract attribute does not apply to installations.
    t.define_attribute(json!({"entity_kind": "contract", "key": "region", "label": "Region", "data_type": "text"}))
        .await;

    let post = |serial: &str, kind: &str, attrs: Value| {
        let t = &t;
        let body = json!({"serial_number": serial, "name": "n", "installation_type": kind, "customer_ref": "c",
            "attributes": attrs});
        async move { t.post(INSTALLATIONS, &t.manager(), body).await }
    };
    let res = post("L-1", "lift", json!({"floors": "three", "region": "north", "fuel": "gas"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["attributes.floors", "attributes.fuel", "attributes.region"]);
    let codes: Vec<&str> = res.body["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, vec!["invalid_type", "unknown_attribute", "unknown_attribute"]);
    let res = post("B-1", "boiler", json!({"colour": "red"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["attributes.fuel"]);
    assert_eq!(res.body["errors"][0]["code"], "required");
    let res = post("B-1", "boiler", json!({"fuel": "coal"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.body["errors"][0]["code"], "invalid_option");
    assert_eq!(count(&t).await, 0);

    let res = post("L-1", "lift", json!({"floors": 8, "colour": "red"})).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["attributes"], json!({"floors": 8, "colour": "red"}));
    let lift = res.body;
    let res = post("B-1", "boiler", json!({"fuel": "gas", "colour": null})).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["attributes"], json!({"fuel": "gas"}), "null attributes are left out");

    // Attributes merge key by key; null removes one.
    let res = t.patch(&url(&lift), &t.manager(), json!({"attributes": {"colour": "blue"}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["attributes"], json!({"floors": 8, "colour": "blue"}));
    let res = t.patch(&url(&lift), &t.manager(), json!({"attributes": {"colour": null}})).await;
    assert_eq!(res.body["attributes"], json!({"floors": 8}));
    let res = t.patch(&url(&lift), &t.manager(), json!({"attributes": {"floors": 2.5}})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["attributes.floors"]);

    // Changing the type re-validates against the new type's definitions.
    let res = t.patch(&url(&lift), &t.manager(), json!({"installation_type": "boiler"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["attributes.floors", "attributes.fuel"]);
    let res = t
        .patch(
            &url(&lift),
            &t.manager(),
            json!({"installation_type": "boiler", "attributes": {"floors": null, "fuel": "oil"}}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["installation_type"], "boiler");
    assert_eq!(res.body["attributes"], json!({"fuel": "oil"}));
}

#[actix_web::test]
async fn list_filters_combine_including_attributes_and_pages() {
    let t = TestApp::spawn().await;
    t.define_attribute(json!({"entity_kind": "installation", "key": "colour", "label": "Colour", "data_type": "text"}))
        .await;
    t.define_attribute(
        json!({"entity_kind": "installation", "key": "floors", "label": "Floors", "data_type": "integer"}),
    )
    .await;
    let north = t
        .create_installation(
            "LIFT-N",
            json!({"name": "North tower lift", "customer_ref": "A",
            "attributes": {"colour": "red", "floors": 12}}),
        )
        .await;
    t.create_installation(
        "LIFT-S",
        json!({"name": "South lift", "customer_ref": "A", "status": "inactive",
        "attributes": {"colour": "blue", "floors": 3}}),
    )
    .await;
    t.create_installation(
        "BOIL-1",
        json!({"name": "Boiler basement", "installation_type": "boiler",
        "customer_ref": "B", "attributes": {"colour": "red"}}),
    )
    .await;
    t.create_installation(
        "PUMP-1",
        json!({"name": "Pump", "installation_type": "pump", "customer_ref": "B",
        "status": "decommissioned", "parent_id": north["id"]}),
    )
    .await;

    assert_eq!(serials(&t, "").await, vec!["LIFT-N", "LIFT-S", "BOIL-1", "PUMP-1"]);
    assert_eq!(serials(&t, "customer_ref=A").await, vec!["LIFT-N", "LIFT-S"]);
    assert_eq!(serials(&t, "installation_type=boiler").await, vec!["BOIL-1"]);
    assert_eq!(serials(&t, "status=active").await, vec!["LIFT-N", "BOIL-1"]);
    assert_eq!(serials(&t, "status=decommissioned").await, vec!["PUMP-1"]);
    assert_eq!(serials(&t, "serial_number=LIFT-S").await, vec!["LIFT-S"]);
    assert_eq!(serials(&t, "q=LIFT").await, vec!["LIFT-N", "LIFT-S"]);
    assert_eq!(serials(&t, "q=basement").await, vec!["BOIL-1"]);
    assert_eq!(serials(&t, "q=boil&customer_ref=A").await, Vec::<String>::new());
    assert_eq!(serials(&t, &format!("parent_id={}", north["id"].as_str().unwrap())).await, vec!["PUMP-1"]);
    assert_eq!(serials(&t, "attr.colour=red").await, vec!["LIFT-N", "BOIL-1"]);
    assert_eq!(serials(&t, "attr.colour=red&installation_type=lift").await, vec!["LIFT-N"]);
    assert_eq!(serials(&t, "attr.floors.gte=5").await, vec!["LIFT-N"]);
    assert_eq!(serials(&t, "attr.floors.lte=12&attr.colour=blue").await, vec!["LIFT-S"]);
    assert_eq!(serials(&t, "attr.floors=3&customer_ref=A&status=inactive").await, vec!["LIFT-S"]);

    // Bad filters are 400s.
    t.get(&format!("{INSTALLATIONS}?status=broken"), &t.viewer()).await.assert_problem(400, "invalid_query");
    t.get(&format!("{INSTALLATIONS}?attr.height=3"), &t.viewer()).await.assert_problem(400, "invalid_attribute_filter");
    t.get(&format!("{INSTALLATIONS}?attr.floors.gte=many"), &t.viewer())
        .await
        .assert_problem(400, "invalid_attribute_filter");
    t.get(&format!("{INSTALLATIONS}?colour=red"), &t.viewer()).await.assert_problem(400, "unknown_parameter");

    // Pages: limit and an opaque cursor, no item twice.
    let first = t.get(&format!("{INSTALLATIONS}?limit=3"), &t.viewer()).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 3);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();
    let rest = t.get(&format!("{INSTALLATIONS}?limit=3&cursor={cursor}"), &t.viewer()).await;
    assert_eq!(rest.status, 200, "{}", rest.text);
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["items"][0]["serial_number"], "PUMP-1");
    assert_eq!(rest.body["next_cursor"], Value::Null);
    t.get(&format!("{INSTALLATIONS}?limit=0"), &t.viewer()).await.assert_problem(400, "invalid_query");
}
