//! Machine pushes: upserts of whole documents by external reference (atomic, idempotent,
//! safe under concurrent duplicates) and NDJSON bulk imports with per-line outcomes.

use crate::common::TestApp;
use serde_json::{json, Value};

fn crm(t: &TestApp) -> String {
    t.token("crm", &["integration"])
}

async fn event_count(t: &TestApp) -> usize {
    let res = t.get("/api/v1/events?limit=500", &t.viewer()).await;
    assert_eq!(res.status, 200);
    res.body["items"].as_array().unwrap().len()
}

async fn count(t: &TestApp, path: &str) -> usize {
    let res = t.get(&format!("{path}?limit=500"), &t.viewer()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["items"].as_array().unwrap().len()
}

fn lift(serial: &str) -> Value {
    json!({"serial_number": serial, "name": "Lift", "installation_type": "lift", "customer_ref": "CUST-1",
           "location": {"city": "Amsterdam"}})
}

/// A framework agreement with two call-offs; the first covers a known and a new lift and has
/// a monthly maintenance obligation.
fn framework() -> Value {
    json!({
        "title": "Framework lifts", "contract_type": "framework", "customer_ref": "CUST-1",
        "status": "active", "start_date": "2026-01-01", "term_months": 24,
        "renewal": {"auto_renew": true, "notice_period": "P3M"},
        "service_level": {"name": "Gold",
            "low": {"response_hours": 24, "resolution_hours": 72}, "normal": {"response_hours": 8, "resolution_hours": 40},
            "high": {"response_hours": 4, "resolution_hours": 16}, "critical": {"response_hours": 2, "resolution_hours": 8}},
        "children": [
            {"external_ref": "CRM-1-A", "title": "Call-off north", "contract_type": "maintenance", "customer_ref": "CUST-1",
             "status": "active", "start_date": "2026-01-01", "term_months": 12,
             "installations": [
                {"serial_number": "LIFT-1"},
                {"serial_number": "LIFT-NEW", "installation_type": "lift", "name": "New lift", "valid_from": "2026-03-01"}
             ],
             "obligations": [
                {"title": "Monthly check", "kind": "preventive_maintenance", "assignee": {"role": "crew"},
                 "schedule": {"rrule": "FREQ=MONTHLY", "anchor_date": "2026-07-01"}, "scope": "installations"}
             ]},
            {"external_ref": "CRM-1-B", "title": "Call-off south", "contract_type": "maintenance", "customer_ref": "CUST-1",
             "start_date": "2026-02-01"}
        ]
    })
}

async fn put_contract(t: &TestApp, external_ref: &str, doc: Value) -> crate::common::Res {
    t.request("PUT", &format!("/api/v1/contracts/by-external-ref/{external_ref}")).bearer(&crm(t)).json(doc).await
}

#[actix_rt::test]
async fn an_installation_is_created_replaced_and_left_alone_when_unchanged() {
    let t = TestApp::spawn().await;
    let url = "/api/v1/installations/by-external-ref/ERP-9";
    let res = t.request("PUT", url).bearer(&crm(&t)).json(lift("LIFT-9")).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["outcome"], "created");
    let installation = res.body["installation"].clone();
    assert_eq!(installation["external_ref"], "ERP-9");
    assert_eq!(
        res.header("location").unwrap(),
        format!("/api/v1/installations/{}", installation["id"].as_str().unwrap())
    );
    let events = event_count(&t).await;

    let again = t.request("PUT", url).bearer(&crm(&t)).json(lift("LIFT-9")).await;
    assert_eq!((again.status, again.body["outcome"].clone()), (200, json!("unchanged")));
    assert_eq!(again.body["installation"], installation);
    assert_eq!(event_count(&t).await, events);

    let mut changed = lift("LIFT-9");
    changed["name"] = json!("Freight lift");
    changed["location"] = json!({"city": "Utrecht"});
    let res = t.request("PUT", url).bearer(&crm(&t)).json(changed).await;
    assert_eq!((res.status, res.body["outcome"].clone()), (200, json!("updated")));
    assert_eq!(res.body["installation"]["name"], "Freight lift");
    assert_eq!(res.body["installation"]["location"]["city"], "Utrecht");
    assert_eq!(res.body["installation"]["id"], installation["id"]);

    let mut other = lift("LIFT-9");
    other["external_ref"] = json!("ERP-10");
    t.request("PUT", url).bearer(&crm(&t)).json(other).await.assert_problem(422, "validation_failed");
    let res = t.request("PUT", url).bearer(&t.viewer()).json(lift("LIFT-9")).await;
    res.assert_problem(403, "forbidden");
}

#[actix_rt::test]
async fn a_whole_contract_document_is_applied_and_a_repeat_changes_nothing() {
    let t = TestApp::spawn().await;
    t.create_installation("LIFT-1", json!({})).await;
    let res = put_contract(&t, "CRM-1", framework()).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["outcome"], "created");
    let parent = res.body["contract"].clone();
    assert_eq!((parent["external_ref"].clone(), parent["status"].clone()), (json!("CRM-1"), json!("active")));
    assert_eq!(parent["service_level"]["name"], "Gold");

    let children = t.get(&format!("/api/v1/contracts/{}/children", parent["id"].as_str().unwrap()), &t.viewer()).await;
    let kids = children.body["items"].as_array().unwrap();
    assert_eq!(kids.len(), 2, "{}", children.text);
    let north = kids.iter().find(|k| k["external_ref"] == "CRM-1-A").unwrap().clone();
    let north_id = north["id"].as_str().unwrap();
    let links = t.get(&format!("/api/v1/contracts/{north_id}/installations"), &t.viewer()).await;
    let serials: Vec<&str> = links.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["installation"]["serial_number"].as_str().unwrap())
        .collect();
    assert_eq!(serials.len(), 2);
    assert!(serials.contains(&"LIFT-1") && serials.contains(&"LIFT-NEW"), "{serials:?}");
    let obligations = t.get(&format!("/api/v1/contracts/{north_id}/obligations"), &t.viewer()).await;
    assert_eq!(obligations.body["items"].as_array().unwrap().len(), 1);
    assert!(!t.all_tasks(&format!("contract_id={north_id}"), &t.admin()).await.is_empty());
    // The new lift inherits the call-off's entitlement and the framework's service level.
    let call = t
        .post(
            "/api/v1/service-calls",
            &t.token("sam", &["service_agent"]),
            json!({"serial_number": "LIFT-NEW", "description": "x"}),
        )
        .await;
    assert_eq!((call.body["entitled"].clone(), call.body["contract_id"].clone()), (json!(true), north["id"].clone()));
    assert_eq!(call.body["service_level_contract_id"], parent["id"]);

    let events = event_count(&t).await;
    let again = put_contract(&t, "CRM-1", framework()).await;
    assert_eq!((again.status, again.body["outcome"].clone()), (200, json!("unchanged")), "{}", again.text);
    assert_eq!(again.body["contract"]["version"], parent["version"]);
    assert_eq!(event_count(&t).await, events, "a repeated document appends no events");

    // A changed document replaces: the title changes and the new lift is no longer covered.
    let mut doc = framework();
    doc["title"] = json!("Framework lifts 2026");
    doc["children"][0]["installations"] = json!([{"serial_number": "LIFT-1"}]);
    let res = put_contract(&t, "CRM-1", doc).await;
    assert_eq!((res.status, res.body["outcome"].clone()), (200, json!("updated")), "{}", res.text);
    assert_eq!(res.body["contract"]["title"], "Framework lifts 2026");
    let links = t.get(&format!("/api/v1/contracts/{north_id}/installations"), &t.viewer()).await;
    assert_eq!(links.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(count(&t, "/api/v1/contracts").await, 3);
}

#[actix_rt::test]
async fn a_document_failing_halfway_changes_nothing() {
    let t = TestApp::spawn().await;
    t.create_installation("LIFT-1", json!({})).await;
    let mut doc = framework();
    // The second call-off lacks its external_ref; the first one's new lift would be created.
    doc["children"][1].as_object_mut().unwrap().remove("external_ref");
    let res = put_contract(&t, "CRM-1", doc).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), ["children[1].external_ref"]);
    let mut doc = framework();
    doc["children"][0]["installations"][1].as_object_mut().unwrap().remove("installation_type");
    let res = put_contract(&t, "CRM-1", doc).await;
    assert_eq!(res.error_fields(), ["children[0].installations[1].installation_type"]);
    let mut doc = framework();
    doc["children"][0]["obligations"][0]["schedule"]["rrule"] = json!("FREQ=SOMETIMES");
    let res = put_contract(&t, "CRM-1", doc).await;
    assert_eq!(res.status, 422, "{}", res.text);
    assert!(res.error_fields()[0].starts_with("children[0].obligations[0]."), "{:?}", res.error_fields());
    assert_eq!(count(&t, "/api/v1/contracts").await, 0);
    assert_eq!(count(&t, "/api/v1/installations").await, 1);
    assert_eq!(event_count(&t).await, 1, "only the installation made before");
}

#[actix_rt::test]
async fn concurrent_duplicate_pushes_make_exactly_one_contract() {
    let t = TestApp::spawn().await;
    let doc = json!({"title": "T", "contract_type": "maintenance", "customer_ref": "C", "start_date": "2026-01-01"});
    let pushes = (0..8).map(|_| put_contract(&t, "CRM-7", doc.clone()));
    let answers = futures_util::future::join_all(pushes).await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(created, 1, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    for a in &answers {
        assert!(a.status == 200 || a.status == 201, "{}", a.text);
        assert_eq!(a.body["contract"]["id"], answers[0].body["contract"]["id"]);
    }
    assert_eq!(count(&t, "/api/v1/contracts").await, 1);
}

/// Pushes of different contracts that name the same installation, unknown until then, each
/// with the other new installations in a different order: the installation is made once and
/// every push covers it (contract types differ, so the links may overlap).
#[actix_rt::test]
async fn concurrent_pushes_naming_one_new_installation_make_it_once() {
    let t = TestApp::spawn().await;
    let pushes = (0..8).map(|i| {
        let mut lifts = vec![
            json!({"serial_number": "NEW-1", "installation_type": "lift"}),
            json!({"serial_number": "NEW-2", "installation_type": "lift"}),
        ];
        if i % 2 == 1 {
            lifts.reverse();
        }
        let doc = json!({"title": format!("T{i}"), "contract_type": format!("type-{i}"), "customer_ref": "C",
                         "start_date": "2026-01-01", "installations": lifts});
        let (t, ext) = (&t, format!("CRM-{i}"));
        async move { put_contract(t, &ext, doc).await }
    });
    let answers = futures_util::future::join_all(pushes).await;
    for a in &answers {
        assert_eq!(a.status, 201, "{}", a.text);
    }
    let lifts = t.get("/api/v1/installations?limit=50", &t.viewer()).await;
    let serials: Vec<&str> =
        lifts.body["items"].as_array().unwrap().iter().map(|i| i["serial_number"].as_str().unwrap()).collect();
    assert_eq!(serials.len(), 2, "{serials:?}");
    let one = lifts.body["items"].as_array().unwrap().iter().find(|i| i["serial_number"] == "NEW-1").unwrap();
    let links =
        t.get(&format!("/api/v1/installations/{}/contracts?limit=50", one["id"].as_str().unwrap()), &t.viewer()).await;
    assert_eq!(links.status, 200, "{}", links.text);
    assert_eq!(links.body["items"].as_array().unwrap().len(), 8, "every push covers it: {}", links.text);
}

async fn import(t: &TestApp, kind: &str, query: &str, body: &str) -> crate::common::Res {
    t.request("POST", &format!("/api/v1/imports/{kind}{query}"))
        .bearer(&crm(t))
        .body("application/x-ndjson", body.as_bytes().to_vec())
        .await
}

#[actix_rt::test]
async fn an_ndjson_import_reports_every_line_and_bad_lines_lose_nothing() {
    let t = TestApp::spawn().await;
    let line = |ext: &str, title: &str| {
        json!({"external_ref": ext, "title": title, "contract_type": "maintenance", "customer_ref": "C", "start_date": "2026-01-01"})
            .to_string()
    };
    let body = [
        line("E-1", "One"),
        "{not json".to_string(),
        String::new(),
        json!({"title": "No ref", "contract_type": "m", "customer_ref": "C", "start_date": "2026-01-01"}).to_string(),
        line("E-2", "Two"),
        json!({"external_ref": "E-3", "title": "Bad", "contract_type": "m", "customer_ref": "C", "start_date": "2026-01-01", "colour": "red"}).to_string(),
        line("E-4", "Four"),
    ]
    .join("\n");

    let dry = import(&t, "contracts", "?dry_run=true", &body).await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    assert_eq!(dry.body["dry_run"], true);
    assert_eq!((dry.body["created"].clone(), dry.body["failed"].clone()), (json!(3), json!(3)));
    assert_eq!(count(&t, "/api/v1/contracts").await, 0, "a dry run stores nothing");

    let res = import(&t, "contracts", "", &body).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let lines = res.body["lines"].as_array().unwrap();
    let outcomes: Vec<(u64, &str)> =
        lines.iter().map(|l| (l["line"].as_u64().unwrap(), l["outcome"].as_str().unwrap())).collect();
    assert_eq!(outcomes, [(1, "created"), (2, "failed"), (4, "failed"), (5, "created"), (6, "failed"), (7, "created")]);
    assert_eq!(lines[1]["problem"]["code"], "malformed_json");
    assert_eq!(lines[2]["problem"]["errors"][0]["field"], "external_ref");
    assert_eq!(lines[4]["problem"]["errors"][0]["code"], "unknown_field");
    assert_eq!(lines[4]["external_ref"], "E-3");
    assert!(lines[0]["id"].is_string());
    assert_eq!(count(&t, "/api/v1/contracts").await, 3);

    // Running it again is safe: the good lines are unchanged.
    let res = import(&t, "contracts", "", &body).await;
    assert_eq!((res.body["unchanged"].clone(), res.body["created"].clone()), (json!(3), json!(0)));
    assert_eq!(count(&t, "/api/v1/contracts").await, 3);

    let res = t.request("POST", "/api/v1/imports/contracts").bearer(&crm(&t)).json(json!({})).await;
    res.assert_problem(415, "unsupported_media_type");
    let res = t
        .request("POST", "/api/v1/imports/contracts")
        .bearer(&t.viewer())
        .body("application/x-ndjson", b"{}".to_vec())
        .await;
    res.assert_problem(403, "forbidden");
}

#[actix_rt::test]
async fn installations_import_from_ndjson() {
    let t = TestApp::spawn().await;
    let mut first = lift("S-1");
    first["external_ref"] = json!("I-1");
    let mut second = lift("S-2");
    second["external_ref"] = json!("I-2");
    let mut clash = lift("S-1");
    clash["external_ref"] = json!("I-3");
    let body = format!("{first}\r\n{second}\r\n{clash}\r\n");
    let res = import(&t, "installations", "", &body).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!((res.body["created"].clone(), res.body["failed"].clone()), (json!(2), json!(1)));
    assert_eq!(res.body["lines"][2]["problem"]["status"], 409);
    assert_eq!(count(&t, "/api/v1/installations").await, 2);
}

#[actix_rt::test]
async fn repeats_stay_unchanged_with_fine_timestamps_and_pushed_installations_are_adopted() {
    let t = TestApp::spawn().await;
    t.create_installation("LIFT-1", json!({})).await;
    let mut doc = framework();
    // .NET writes seven fractional digits; PostgreSQL keeps six.
    doc["signed_at"] = json!("2025-12-20T09:30:00.1234567Z");
    assert_eq!(put_contract(&t, "CRM-1", doc.clone()).await.status, 201);
    let again = put_contract(&t, "CRM-1", doc).await;
    assert_eq!(again.body["outcome"], "unchanged", "{}", again.text);
    assert_eq!(again.body["contract"]["signed_at"], "2025-12-20T09:30:00.123456Z");

    // LIFT-NEW was created by the contract document; the ERP's first push adopts it.
    let mut lift_doc = lift("LIFT-NEW");
    lift_doc["name"] = json!("New lift, hall B");
    let res = t.request("PUT", "/api/v1/installations/by-external-ref/ERP-NEW").bearer(&crm(&t)).json(lift_doc).await;
    assert_eq!((res.status, res.body["outcome"].clone()), (200, json!("updated")), "{}", res.text);
    assert_eq!(res.body["installation"]["external_ref"], "ERP-NEW");
    assert_eq!(count(&t, "/api/v1/installations").await, 2);

    // Obligations are matched by title, so titles must be unique within a contract.
    let mut doc = framework();
    let first = doc["children"][0]["obligations"][0].clone();
    doc["children"][0]["obligations"] = json!([first.clone(), first]);
    let res = put_contract(&t, "CRM-2", doc).await;
    assert_eq!((res.status, res.error_fields()), (422, vec!["children[0].obligations[1].title".to_string()]));
}

/// The contract fields a push decides, without what is generated (id, number, timestamps).
fn pushed_fields(c: &Value) -> Value {
    let mut c = c.clone();
    for generated in ["id", "number", "external_ref", "created_at", "updated_at", "version", "_links"] {
        c.as_object_mut().unwrap().remove(generated);
    }
    c
}

#[actix_rt::test]
async fn an_import_creates_new_contracts_at_once_exactly_as_single_pushes_would() {
    let t = TestApp::spawn().await;
    t.define_attribute(json!({"entity_kind": "contract", "scope": "maintenance", "key": "region", "label": "Region",
                              "data_type": "enum", "options": ["north", "south"]}))
        .await;
    let doc = |title: &str| {
        json!({"title": title, "contract_type": "maintenance", "customer_ref": "CUST-9", "status": "active",
               "start_date": "2026-01-01", "term_months": 12,
               "renewal": {"auto_renew": true, "term_months": 12, "notice_period": "P3M"},
               "attributes": {"region": "north"}})
    };
    let line = |ext: &str, mut d: Value| {
        d["external_ref"] = json!(ext);
        d.to_string()
    };
    let stored = put_contract(&t, "E-0", doc("Stored before")).await;
    assert_eq!(stored.status, 201, "{}", stored.text);
    // The next generated number is already taken by hand: the import must skip it.
    let next = stored.body["contract"]["number"].as_str().unwrap().replace("000001", "000002");
    let taken = t.create_contract(json!({"number": next, "title": "By hand"})).await;

    let mut bad_attribute = doc("Bad region");
    bad_attribute["attributes"] = json!({"region": "east"});
    let mut numbered = doc("Numbered");
    numbered["number"] = json!("N-1");
    let mut with_child = doc("Framework");
    with_child["children"] = json!([{"external_ref": "E-8", "title": "Call-off", "contract_type": "maintenance",
                                     "customer_ref": "CUST-9", "start_date": "2026-02-01"}]);
    let body = [
        line("E-1", doc("First")),
        line("E-2", numbered.clone()),
        line("E-3", numbered),
        line("E-4", bad_attribute),
        line("E-5", doc("Five")),
        line("E-5", doc("Five again")),
        line("E-0", doc("Stored after")),
        line("E-7", with_child),
        line("E-9", doc("Last")),
    ]
    .join("\n");
    let events_before = event_count(&t).await;
    let res = import(&t, "contracts", "", &body).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let lines = res.body["lines"].as_array().unwrap();
    let outcomes: Vec<(u64, &str)> =
        lines.iter().map(|l| (l["line"].as_u64().unwrap(), l["outcome"].as_str().unwrap())).collect();
    assert_eq!(
        outcomes,
        [
            (1, "created"),
            (2, "created"),
            (3, "failed"),
            (4, "failed"),
            (5, "created"),
            (6, "updated"),
            (7, "updated"),
            (8, "created"),
            (9, "created")
        ]
    );
    assert_eq!(lines[2]["problem"]["code"], "duplicate_number", "E-3 is new, its number is not");
    assert_eq!(lines[3]["problem"]["errors"][0]["field"], "attributes.region");
    assert_eq!(
        (res.body["created"].clone(), res.body["updated"].clone(), res.body["failed"].clone()),
        (json!(5), json!(2), json!(2))
    );

    // Each created contract is what a single push of its line makes, with a number of its own.
    let by_ref = |r: &str| {
        let t = &t;
        let r = r.to_string();
        async move {
            let res = t.get(&format!("/api/v1/contracts?external_ref={r}"), &t.viewer()).await;
            assert_eq!(res.status, 200, "{}", res.text);
            res.body["items"][0].clone()
        }
    };
    let first = by_ref("E-1").await;
    let pushed = put_contract(&t, "P-1", doc("First")).await;
    assert_eq!(pushed.status, 201, "{}", pushed.text);
    assert_eq!(pushed_fields(&first), pushed_fields(&pushed.body["contract"]));
    assert_eq!(first["end_date"], "2026-12-31");
    assert_eq!(first["notice_deadline"], "2026-09-30");
    assert_eq!(first["id"], lines[0]["id"]);
    // Numbers follow on as single creates would give them: the one taken by hand is skipped,
    // and refused lines (E-3, E-4) take none.
    let mut numbers = Vec::new();
    for r in ["E-1", "E-2", "E-5", "E-7", "E-8", "E-9"] {
        numbers.push(by_ref(r).await["number"].as_str().unwrap().to_string());
    }
    let seq = |n: u32| next.replace("000002", &format!("{n:06}"));
    if t.is_postgres() {
        // PostgreSQL hands numbers out from a sequence, which a refused line's number leaves
        // with a gap (the README says so): still unique, rising in line order, never the
        // taken one.
        assert_eq!(numbers[0], seq(3), "{taken}");
        assert_eq!(numbers[1], "N-1");
        let generated: Vec<&String> = numbers.iter().filter(|n| **n != "N-1").collect();
        assert!(generated.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
        assert!(generated.iter().all(|n| n.len() == next.len() && **n != next), "{numbers:?}");
    } else {
        assert_eq!(numbers, [seq(3), "N-1".to_string(), seq(4), seq(5), seq(6), seq(7)], "{taken}");
    }
    assert_eq!(by_ref("E-5").await["title"], "Five again", "the later line of a reference wins");
    assert_eq!(by_ref("E-0").await["title"], "Stored after");
    assert_eq!(by_ref("E-8").await["parent_id"], by_ref("E-7").await["id"]);
    assert!(by_ref("E-3").await.is_null() && by_ref("E-4").await.is_null(), "refused lines write nothing");

    // Attribute index rows and history events were written for the contracts made at once.
    let north = t.get("/api/v1/contracts?attr.region=north&external_ref=E-9", &t.viewer()).await;
    assert_eq!(north.body["items"].as_array().unwrap().len(), 1, "{}", north.text);
    let history = t.get(&format!("/api/v1/contracts/{}/history", first["id"].as_str().unwrap()), &t.viewer()).await;
    assert_eq!(history.status, 200, "{}", history.text);
    assert_eq!(history.body["items"][0]["action"], "created");
    assert_eq!(history.body["items"][0]["changes"]["title"]["new"], "First", "{}", history.text);
    // Five contracts created (E-8 too), two updated, one pushed after.
    assert_eq!(event_count(&t).await, events_before + 6 + 2 + 1);
}

#[actix_rt::test]
async fn an_import_over_the_line_cap_applies_the_first_lines_and_says_where_to_go_on() {
    let t = TestApp::spawn_with(|s| s.import_max_lines = 3).await;
    let line = |n: usize| {
        json!({"external_ref": format!("CAP-{n}"), "title": "T", "contract_type": "maintenance", "customer_ref": "C", "start_date": "2026-01-01"})
            .to_string()
    };
    // Five documents, a blank line between the second and the third: the cap counts documents.
    let body = [line(1), line(2), String::new(), line(3), line(4), line(5)].join("\n");
    let res = import(&t, "contracts", "", &body).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["created"], 3);
    assert_eq!(res.body["next_line"], 5, "the body's fifth line, CAP-4, was not read");
    let refs: Vec<&str> =
        res.body["lines"].as_array().unwrap().iter().map(|l| l["external_ref"].as_str().unwrap()).collect();
    assert_eq!(refs, ["CAP-1", "CAP-2", "CAP-3"]);
    assert_eq!(count(&t, "/api/v1/contracts").await, 3, "nothing after the cap was applied");

    // Going on from there finishes the import; a body within the cap reads to its end.
    let rest = [line(4), line(5)].join("\n");
    let res = import(&t, "contracts", "", &rest).await;
    assert_eq!((res.body["created"].clone(), res.body["next_line"].clone()), (json!(2), Value::Null));
    assert_eq!(count(&t, "/api/v1/contracts").await, 5);
}

#[actix_rt::test]
async fn a_large_import_report_is_streamed_whole_with_its_length() {
    let t = TestApp::spawn().await;
    // Refused lines make the longest report entries: 3,000 of them pass the in-memory spool.
    let body =
        (0..3000).map(|n| format!("{{\"external_ref\": \"BAD-{n}\", \"title\": ")).collect::<Vec<_>>().join("\n");
    let res = import(&t, "contracts", "", &body).await;
    assert_eq!(res.status, 200, "{}", &res.text[..res.text.len().min(500)]);
    assert!(res.text.len() > 256 * 1024, "the report is {} bytes", res.text.len());
    assert_eq!(res.header("content-length"), Some(res.text.len().to_string()));
    assert_eq!((res.body["failed"].clone(), res.body["lines_omitted"].clone()), (json!(3000), json!(false)));
    let lines = res.body["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3000);
    assert_eq!(lines[2999]["line"], 3000);
    assert_eq!(lines[2999]["problem"]["code"], "malformed_json");
}

/// A reference may be any word, also one that is a sub-resource's name elsewhere
/// (`/installations/{id}/components`, `/contracts/{id}/installations`): the fixed segment
/// `by-external-ref` wins over an id, whatever order the features register their routes in.
#[actix_rt::test]
async fn references_that_name_sub_resources_still_reach_the_push() {
    let t = TestApp::spawn().await;
    let url = "/api/v1/installations/by-external-ref/components";
    let res = t.request("PUT", url).bearer(&crm(&t)).json(lift("LIFT-C")).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["installation"]["external_ref"], "components");
    let res = t.request("GET", url).bearer(&crm(&t)).send().await;
    res.assert_problem(405, "method_not_allowed");
    assert_eq!(res.header("allow").as_deref(), Some("PUT"));

    let doc =
        json!({"title": "Lifts", "contract_type": "maintenance", "customer_ref": "CUST-1", "start_date": "2026-01-01"});
    let res = put_contract(&t, "installations", doc).await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["contract"]["external_ref"], "installations");
}
