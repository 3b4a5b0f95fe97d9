//! Attribute definitions: CRUD, validation of definitions, validation of contract attributes on
//! every write, definition changes guarded by the stored values, and `attr.*` list filters.

use crate::common::{Res, TestApp};
use serde_json::{json, Value};

const DEFS: &str = "/api/v1/attribute-definitions";

fn contract_url(c: &Value) -> String {
    format!("/api/v1/contracts/{}", c["id"].as_str().unwrap())
}

fn def_url(d: &Value) -> String {
    format!("{DEFS}/{}", d["id"].as_str().unwrap())
}

/// The `(field, code)` pairs of a 422.
fn field_codes(res: &Res) -> Vec<(String, String)> {
    res.body["errors"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| (e["field"].as_str().unwrap_or("").to_string(), e["code"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(f, c)| (f.to_string(), c.to_string())).collect()
}

/// A contract body for POST /contracts with the given type and attributes.
fn contract_body(contract_type: &str, attributes: Value) -> Value {
    json!({"title": "Lifts", "contract_type": contract_type, "customer_ref": "CUST-1",
           "start_date": "2026-01-01", "term_months": 12, "attributes": attributes})
}

/// The `number`s of the items of a list answer, asserting it is a 200.
async fn numbers(t: &TestApp, query: &str) -> Vec<String> {
    let res = t.get(&format!("/api/v1/contracts?{query}"), &t.viewer()).await;
    assert_eq!(res.status, 200, "{query}: {}", res.text);
    res.body["items"].as_array().unwrap().iter().map(|c| c["number"].as_str().unwrap().to_string()).collect()
}

#[actix_web::test]
async fn definition_crud() {
    let t = TestApp::spawn().await;
    let res = t
        .post(
            DEFS,
            &t.admin(),
            json!({"entity_kind": "contract", "key": "region", "label": "Region", "data_type": "enum",
                   "options": ["north", "south"], "description": "Sales region"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let id = res.body["id"].as_str().unwrap().to_string();
    assert_eq!(res.header("location").unwrap(), format!("{DEFS}/{id}"));
    assert_eq!(res.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(res.body["entity_kind"], "contract");
    assert_eq!(res.body["scope"], Value::Null);
    assert_eq!(res.body["key"], "region");
    assert_eq!(res.body["data_type"], "enum");
    assert_eq!(res.body["required"], false);
    assert_eq!(res.body["options"], json!(["north", "south"]));
    assert_eq!(res.body["description"], "Sales region");
    assert_eq!(res.body["version"], 1);

    // GET one: same body and ETag.
    let got = t.get(&format!("{DEFS}/{id}"), &t.viewer()).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(got.body, res.body);

    // PATCH label and description.
    let res = t.patch(&format!("{DEFS}/{id}"), &t.admin(), json!({"label": "Sales region", "description": null})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(res.body["label"], "Sales region");
    assert_eq!(res.body["description"], Value::Null);
    assert_eq!(res.body["options"], json!(["north", "south"]), "absent options stay");
    let got = t.get(&format!("{DEFS}/{id}"), &t.viewer()).await;
    assert_eq!(got.body["label"], "Sales region");
    assert_eq!(got.body["version"], 2);

    // Stale If-Match is refused; modelling is for admins only.
    let res = t
        .request("PATCH", &format!("{DEFS}/{id}"))
        .bearer(&t.admin())
        .header("If-Match", "\"1\"")
        .json(json!({"label": "x"}))
        .await;
    res.assert_problem(412, "precondition_failed");
    t.patch(&format!("{DEFS}/{id}"), &t.manager(), json!({"label": "x"})).await.assert_problem(403, "forbidden");
    t.delete(&format!("{DEFS}/{id}"), &t.manager()).await.assert_problem(403, "forbidden");

    // DELETE: 204, then gone.
    let res = t.delete(&format!("{DEFS}/{id}"), &t.admin()).await;
    assert_eq!(res.status, 204, "{}", res.text);
    assert_eq!(res.text, "");
    t.get(&format!("{DEFS}/{id}"), &t.viewer()).await.assert_problem(404, "not_found");
    t.delete(&format!("{DEFS}/{id}"), &t.admin()).await.assert_problem(404, "not_found");
    let list = t.get(DEFS, &t.viewer()).await;
    assert_eq!(list.body["items"], json!([]));
}

#[actix_web::test]
async fn definitions_list_filters_by_kind_and_scope_and_paginates() {
    let t = TestApp::spawn().await;
    t.define_attribute(json!({"entity_kind": "contract", "key": "region", "label": "R", "data_type": "text"})).await;
    t.define_attribute(json!({"entity_kind": "contract", "scope": "maintenance", "key": "visits", "label": "V", "data_type": "integer"}))
        .await;
    t.define_attribute(
        json!({"entity_kind": "contract", "scope": "lease", "key": "plate", "label": "P", "data_type": "text"}),
    )
    .await;
    t.define_attribute(json!({"entity_kind": "installation", "key": "colour", "label": "C", "data_type": "text"}))
        .await;
    t.define_attribute(
        json!({"entity_kind": "dossier", "scope": "mortgage", "key": "address", "label": "A", "data_type": "text"}),
    )
    .await;

    let keys = |res: &Res| -> Vec<String> {
        assert_eq!(res.status, 200, "{}", res.text);
        res.body["items"].as_array().unwrap().iter().map(|d| d["key"].as_str().unwrap().to_string()).collect()
    };
    let all = t.get(DEFS, &t.viewer()).await;
    assert_eq!(keys(&all), vec!["region", "visits", "plate", "colour", "address"]);
    assert_eq!(all.body["next_cursor"], Value::Null);
    assert_eq!(
        keys(&t.get(&format!("{DEFS}?entity_kind=contract"), &t.viewer()).await),
        vec!["region", "visits", "plate"]
    );
    assert_eq!(keys(&t.get(&format!("{DEFS}?entity_kind=installation"), &t.viewer()).await), vec!["colour"]);
    assert_eq!(keys(&t.get(&format!("{DEFS}?scope=maintenance"), &t.viewer()).await), vec!["visits"]);
    assert_eq!(keys(&t.get(&format!("{DEFS}?entity_kind=contract&scope=lease"), &t.viewer()).await), vec!["plate"]);
    assert_eq!(
        keys(&t.get(&format!("{DEFS}?entity_kind=dossier&scope=lease"), &t.viewer()).await),
        Vec::<String>::new()
    );
    t.get(&format!("{DEFS}?entity_kind=planet"), &t.viewer()).await.assert_problem(400, "invalid_query");
    t.get(&format!("{DEFS}?kind=contract"), &t.viewer()).await.assert_problem(400, "unknown_parameter");

    // Pagination: 2 + 2 + 1, nothing repeated or missed.
    let mut seen = Vec::new();
    let mut url = format!("{DEFS}?limit=2");
    let mut pages = 0;
    loop {
        let res = t.get(&url, &t.viewer()).await;
        let page = keys(&res);
        assert!(page.len() <= 2);
        seen.extend(page);
        pages += 1;
        match res.body["next_cursor"].as_str() {
            Some(c) => url = format!("{DEFS}?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, vec!["region", "visits", "plate", "colour", "address"]);
    t.get(&format!("{DEFS}?limit=0"), &t.viewer()).await.assert_problem(400, "invalid_query");
}

#[actix_web::test]
async fn invalid_definitions_are_422_with_the_field() {
    let t = TestApp::spawn().await;
    for key in ["Region", "2x", "re-gion", ""] {
        let res = t
            .post(DEFS, &t.admin(), json!({"entity_kind": "contract", "key": key, "label": "L", "data_type": "text"}))
            .await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(field_codes(&res), pairs(&[("key", "invalid_key")]), "key {key:?}");
    }
    let res = t
        .post(DEFS, &t.admin(), json!({"entity_kind": "contract", "key": "region", "label": "L", "data_type": "enum"}))
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(field_codes(&res), pairs(&[("options", "required")]));
    let res = t
        .post(
            DEFS,
            &t.admin(),
            json!({"entity_kind": "contract", "key": "region", "label": "L", "data_type": "enum", "options": []}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["options"]);
    let res = t
        .post(DEFS, &t.admin(), json!({"entity_kind": "contract", "key": "region", "label": "L", "data_type": "enum", "options": ["a", "a"]}))
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(field_codes(&res), pairs(&[("options[1]", "duplicate")]));
    let res = t
        .post(
            DEFS,
            &t.admin(),
            json!({"entity_kind": "contract", "key": "note", "label": "L", "data_type": "text", "options": ["a"]}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(field_codes(&res), pairs(&[("options", "not_allowed")]));
    let res = t
        .post(DEFS, &t.admin(), json!({"entity_kind": "contract", "key": "note", "label": " ", "data_type": "text"}))
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["label"]);
    let res = t
        .post(DEFS, &t.admin(), json!({"entity_kind": "contract", "key": "note", "label": "L", "data_type": "colour"}))
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["data_type"]);
    let res = t
        .post(DEFS, &t.admin(), json!({"entity_kind": "planet", "key": "note", "label": "L", "data_type": "text"}))
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["entity_kind"]);
    // Only admins model.
    let res = t
        .post(DEFS, &t.manager(), json!({"entity_kind": "contract", "key": "note", "label": "L", "data_type": "text"}))
        .await;
    res.assert_problem(403, "forbidden");
    // Nothing was created by any of these.
    assert_eq!(t.get(DEFS, &t.viewer()).await.body["items"], json!([]));
}

#[actix_web::test]
async fn keys_are_unique_per_kind_and_scope_and_unscoped_keys_clash_with_scoped_ones() {
    let t = TestApp::spawn().await;
    let body = |scope: Value, kind: &str| json!({"entity_kind": kind, "scope": scope, "key": "size", "label": "Size", "data_type": "integer"});
    t.define_attribute(body(json!("maintenance"), "contract")).await;
    // The same key for the same kind and scope.
    t.post(DEFS, &t.admin(), body(json!("maintenance"), "contract"))
        .await
        .assert_problem(409, "attribute_key_conflict");
    // The same key scoped to another type, or for another kind, is fine.
    t.define_attribute(body(json!("lease"), "contract")).await;
    t.define_attribute(body(Value::Null, "installation")).await;
    // An unscoped key would clash with the scoped ones.
    t.post(DEFS, &t.admin(), body(Value::Null, "contract")).await.assert_problem(409, "attribute_key_conflict");

    // And a scoped key clashes with an unscoped one of the same kind.
    t.define_attribute(json!({"entity_kind": "contract", "key": "region", "label": "R", "data_type": "text"})).await;
    let res = t
        .post(
            DEFS,
            &t.admin(),
            json!({"entity_kind": "contract", "scope": "lease", "key": "region", "label": "R", "data_type": "text"}),
        )
        .await;
    res.assert_problem(409, "attribute_key_conflict");
    t.post(DEFS, &t.admin(), json!({"entity_kind": "contract", "key": "region", "label": "R", "data_type": "text"}))
        .await
        .assert_problem(409, "attribute_key_conflict");
    let list = t.get(&format!("{DEFS}?entity_kind=contract"), &t.viewer()).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 3);
}

/// Defines the attributes most tests use: region (enum, required), size (integer), price
/// (decimal), since (date), vip (boolean), note (text), and visits scoped to `maintenance`.
async fn define_common(t: &TestApp) {
    t.define_attribute(json!({"entity_kind": "contract", "key": "region", "label": "Region", "data_type": "enum",
        "options": ["north", "south"], "required": true}))
        .await;
    for (key, data_type) in
        [("size", "integer"), ("price", "decimal"), ("since", "date"), ("vip", "boolean"), ("note", "text")]
    {
        t.define_attribute(json!({"entity_kind": "contract", "key": key, "label": key, "data_type": data_type})).await;
    }
    t.define_attribute(
        json!({"entity_kind": "contract", "scope": "maintenance", "key": "visits", "label": "Visits per year",
        "data_type": "integer"}),
    )
    .await;
}

#[actix_web::test]
async fn contract_attributes_are_validated_on_create() {
    let t = TestApp::spawn().await;
    define_common(&t).await;
    let post = |attrs: Value, contract_type: &'static str| {
        let t = &t;
        async move { t.post("/api/v1/contracts", &t.manager(), contract_body(contract_type, attrs)).await }
    };

    let res = post(json!({"region": "north", "colour": "red"}), "maintenance").await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(field_codes(&res), pairs(&[("attributes.colour", "unknown_attribute")]));

    for (bad, why) in
        [(json!("five"), "text for integer"), (json!(1.5), "fraction for integer"), (json!(true), "bool for integer")]
    {
        let res = post(json!({"region": "north", "size": bad}), "maintenance").await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(field_codes(&res), pairs(&[("attributes.size", "invalid_type")]), "{why}");
    }
    for bad in [json!("2026-02-30"), json!("31-01-2026"), json!(20260101)] {
        let res = post(json!({"region": "north", "since": bad}), "maintenance").await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(field_codes(&res), pairs(&[("attributes.since", "invalid_type")]), "date {bad}");
    }
    for bad in [json!("yes"), json!(1), json!("true")] {
        let res = post(json!({"region": "north", "vip": bad}), "maintenance").await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(field_codes(&res), pairs(&[("attributes.vip", "invalid_type")]), "bool {bad}");
    }
    let res = post(json!({"region": "north", "price": "9.50"}), "maintenance").await;
    assert_eq!(field_codes(&res), pairs(&[("attributes.price", "invalid_type")]));
    let res = post(json!({"region": "north", "note": 7}), "maintenance").await;
    assert_eq!(field_codes(&res), pairs(&[("attributes.note", "invalid_type")]));

    // Required: absent, null, or no attributes at all.
    for attrs in [json!({"size": 1}), json!({"region": null}), json!({})] {
        let res = post(attrs, "maintenance").await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(field_codes(&res), pairs(&[("attributes.region", "required")]));
    }
    let res = t
        .post(
            "/api/v1/contracts",
            &t.manager(),
            json!({"title": "x", "contract_type": "lease", "customer_ref": "c", "start_date": "2026-01-01"}),
        )
        .await;
    assert_eq!(field_codes(&res), pairs(&[("attributes.region", "required")]));

    let res = post(json!({"region": "east"}), "maintenance").await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(field_codes(&res), pairs(&[("attributes.region", "invalid_option")]));
    let res = post(json!({"region": "North"}), "maintenance").await;
    assert_eq!(field_codes(&res), pairs(&[("attributes.region", "invalid_option")]), "options are case-sensitive");

    // Scoped definitions apply only to their type.
    let res = post(json!({"region": "north", "visits": 2}), "lease").await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(field_codes(&res), pairs(&[("attributes.visits", "unknown_attribute")]));

    // Every problem at once, sorted by field.
    let res = post(json!({"colour": "red", "size": "x", "vip": "no"}), "maintenance").await;
    assert_eq!(
        field_codes(&res),
        pairs(&[
            ("attributes.colour", "unknown_attribute"),
            ("attributes.region", "required"),
            ("attributes.size", "invalid_type"),
            ("attributes.vip", "invalid_type"),
        ])
    );

    // None of these created anything.
    assert_eq!(t.get("/api/v1/contracts", &t.viewer()).await.body["items"], json!([]));

    // A valid set is stored in canonical form.
    let res = post(
        json!({"region": "north", "size": 3, "price": 9.5, "since": "2026-01-31", "vip": true, "note": "x", "visits": 4}),
        "maintenance",
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(
        res.body["attributes"],
        json!({"region": "north", "size": 3, "price": 9.5, "since": "2026-01-31", "vip": true, "note": "x", "visits": 4})
    );
    let res = post(json!({"region": "south", "vip": false}), "lease").await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["attributes"], json!({"region": "south", "vip": false}));
}

#[actix_web::test]
async fn patch_merges_attributes_key_by_key_and_rejected_writes_change_nothing() {
    let t = TestApp::spawn().await;
    define_common(&t).await;
    let c = t.create_contract(json!({"attributes": {"region": "north", "size": 2, "note": "first"}})).await;
    let url = contract_url(&c);

    // Merge: absent keys stay, given keys replace, null removes.
    let res = t.patch(&url, &t.manager(), json!({"attributes": {"size": 5, "note": null, "vip": true}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["attributes"], json!({"region": "north", "size": 5, "vip": true}));
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));
    // The index follows: the removed value no longer matches, the new one does.
    assert_eq!(numbers(&t, "attr.size=5").await.len(), 1);
    assert_eq!(numbers(&t, "attr.size=2").await.len(), 0);
    assert_eq!(numbers(&t, "attr.note=first").await.len(), 0);

    // A patch without attributes keeps them.
    let res = t.patch(&url, &t.manager(), json!({"title": "Renamed"})).await;
    assert_eq!(res.body["attributes"], json!({"region": "north", "size": 5, "vip": true}));

    // Rejected patches: unknown key, wrong type, bad option, removing a required value, a key
    // scoped to another type.
    let bad = [
        (json!({"colour": "red"}), "attributes.colour", "unknown_attribute"),
        (json!({"size": "big"}), "attributes.size", "invalid_type"),
        (json!({"size": 1.5}), "attributes.size", "invalid_type"),
        (json!({"since": "2026-13-01"}), "attributes.since", "invalid_type"),
        (json!({"vip": "yes"}), "attributes.vip", "invalid_type"),
        (json!({"region": "east"}), "attributes.region", "invalid_option"),
        (json!({"region": null}), "attributes.region", "required"),
    ];
    for (attrs, field, code) in bad {
        let res = t.patch(&url, &t.manager(), json!({"title": "Should not stick", "attributes": attrs})).await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(field_codes(&res), pairs(&[(field, code)]), "{attrs}");
    }
    let lease = t.create_contract(json!({"contract_type": "lease", "attributes": {"region": "south"}})).await;
    let res = t.patch(&contract_url(&lease), &t.manager(), json!({"attributes": {"visits": 3}})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(field_codes(&res), pairs(&[("attributes.visits", "unknown_attribute")]));
    // Changing the type re-validates: `visits` is unknown for a lease.
    let m = t.create_contract(json!({"attributes": {"region": "south", "visits": 2}})).await;
    let res = t.patch(&contract_url(&m), &t.manager(), json!({"contract_type": "lease"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(field_codes(&res), pairs(&[("attributes.visits", "unknown_attribute")]));
    let res = t
        .patch(&contract_url(&m), &t.manager(), json!({"contract_type": "lease", "attributes": {"visits": null}}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["attributes"], json!({"region": "south"}));

    // Nothing of the rejected writes stuck.
    let now = t.get(&url, &t.viewer()).await;
    assert_eq!(now.body["version"], 3);
    assert_eq!(now.header("etag").as_deref(), Some("\"3\""));
    assert_eq!(now.body["title"], "Renamed");
    assert_eq!(now.body["attributes"], json!({"region": "north", "size": 5, "vip": true}));
    assert_eq!(numbers(&t, "attr.size=5").await, vec![c["number"].as_str().unwrap().to_string()]);
    assert_eq!(numbers(&t, "attr.region=east").await.len(), 0);
    // The deep-object form that generated clients send means the same; both at once is a repeat.
    assert_eq!(numbers(&t, "attr%5Bsize%5D=5").await, vec![c["number"].as_str().unwrap().to_string()]);
    assert_eq!(numbers(&t, "attr%5Bsize.gte%5D=5&attr%5Bsize.lte%5D=5").await.len(), 1);
    assert_eq!(numbers(&t, "attr%5Bsize.gte%5D=6").await.len(), 0);
    t.get("/api/v1/contracts?attr.size=5&attr%5Bsize%5D=5", &t.viewer()).await.assert_problem(400, "invalid_query");
    let history = t.get(&format!("{url}/history"), &t.viewer()).await;
    let actions: Vec<&str> =
        history.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["created", "updated", "updated"]);
}

#[actix_web::test]
async fn changing_the_type_is_refused_while_values_exist() {
    let t = TestApp::spawn().await;
    let size = t
        .define_attribute(json!({"entity_kind": "contract", "key": "size", "label": "Size", "data_type": "integer"}))
        .await;
    let spare = t
        .define_attribute(json!({"entity_kind": "contract", "key": "spare", "label": "Spare", "data_type": "integer"}))
        .await;
    let c = t.create_contract(json!({"attributes": {"size": 3}})).await;

    let res = t.patch(&def_url(&size), &t.admin(), json!({"data_type": "text"})).await;
    res.assert_problem(409, "attribute_in_use");
    let got = t.get(&def_url(&size), &t.viewer()).await;
    assert_eq!(got.body["data_type"], "integer");
    assert_eq!(got.body["version"], 1);

    // Without values the same change succeeds.
    let res = t.patch(&def_url(&spare), &t.admin(), json!({"data_type": "text"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["data_type"], "text");
    assert_eq!(res.header("etag").as_deref(), Some("\"2\""));

    // Once the value is gone, `size` can change too; new writes follow the new type.
    let res = t.patch(&contract_url(&c), &t.manager(), json!({"attributes": {"size": null}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = t.patch(&def_url(&size), &t.admin(), json!({"data_type": "date"})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = t.patch(&contract_url(&c), &t.manager(), json!({"attributes": {"size": 3}})).await;
    assert_eq!(field_codes(&res), pairs(&[("attributes.size", "invalid_type")]));
    let res = t.patch(&contract_url(&c), &t.manager(), json!({"attributes": {"size": "2026-05-01"}})).await;
    assert_eq!(res.status, 200, "{}", res.text);

    // Turning it into an enum needs options; the type cannot be cleared.
    let res = t.patch(&def_url(&spare), &t.admin(), json!({"data_type": "enum"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["options"]);
    let res = t.patch(&def_url(&spare), &t.admin(), json!({"data_type": null})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["data_type"]);
    let res = t.patch(&def_url(&spare), &t.admin(), json!({"options": ["a"]})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(field_codes(&res), pairs(&[("options", "not_allowed")]));
    let res = t.patch(&def_url(&spare), &t.admin(), json!({"key": "other"})).await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.error_fields(), vec!["key"]);
}

#[actix_web::test]
async fn removing_an_enum_option_in_use_is_refused() {
    let t = TestApp::spawn().await;
    let region = t
        .define_attribute(json!({"entity_kind": "contract", "key": "region", "label": "Region", "data_type": "enum",
            "options": ["north", "south", "east"]}))
        .await;
    t.create_contract(json!({"attributes": {"region": "north"}})).await;
    t.create_contract(json!({"attributes": {"region": "south"}})).await;

    let res = t.patch(&def_url(&region), &t.admin(), json!({"options": ["north", "east"]})).await;
    res.assert_problem(409, "attribute_in_use");
    assert!(res.body["detail"].as_str().unwrap().contains("south"), "{}", res.text);
    assert_eq!(t.get(&def_url(&region), &t.viewer()).await.body["options"], json!(["north", "south", "east"]));

    // An unused option can go, and new ones can come.
    let res = t.patch(&def_url(&region), &t.admin(), json!({"options": ["north", "south", "west"]})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["options"], json!(["north", "south", "west"]));
    let res = t.post("/api/v1/contracts", &t.manager(), contract_body("maintenance", json!({"region": "east"}))).await;
    assert_eq!(field_codes(&res), pairs(&[("attributes.region", "invalid_option")]));
    let res = t.post("/api/v1/contracts", &t.manager(), contract_body("maintenance", json!({"region": "west"}))).await;
    assert_eq!(res.status, 201, "{}", res.text);

    // Changing an enum with values to text is a type change.
    t.patch(&def_url(&region), &t.admin(), json!({"data_type": "text", "options": null}))
        .await
        .assert_problem(409, "attribute_in_use");
}

#[actix_web::test]
async fn making_an_attribute_required_needs_every_contract_in_scope_to_have_it() {
    let t = TestApp::spawn().await;
    let size = t
        .define_attribute(json!({"entity_kind": "contract", "key": "size", "label": "Size", "data_type": "integer"}))
        .await;
    let visits = t
        .define_attribute(json!({"entity_kind": "contract", "scope": "maintenance", "key": "visits", "label": "V", "data_type": "integer"}))
        .await;
    let a = t.create_contract(json!({"attributes": {"size": 1, "visits": 2}})).await;
    let b = t.create_contract(json!({"contract_type": "lease"})).await;

    let res = t.patch(&def_url(&size), &t.admin(), json!({"required": true})).await;
    res.assert_problem(409, "attribute_values_missing");
    assert_eq!(t.get(&def_url(&size), &t.viewer()).await.body["required"], false);

    // The lease contract lacks `visits`, but `visits` only applies to maintenance contracts.
    let res = t.patch(&def_url(&visits), &t.admin(), json!({"required": true})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["required"], true);

    // Fill in the missing value, then it works.
    let res = t.patch(&contract_url(&b), &t.manager(), json!({"attributes": {"size": 7}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = t.patch(&def_url(&size), &t.admin(), json!({"required": true})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["required"], true);

    // From now on it is enforced, and a new required definition cannot be added over contracts
    // that lack it.
    let res = t.patch(&contract_url(&a), &t.manager(), json!({"attributes": {"size": null}})).await;
    assert_eq!(field_codes(&res), pairs(&[("attributes.size", "required")]));
    let res = t
        .post(
            DEFS,
            &t.admin(),
            json!({"entity_kind": "contract", "key": "tier", "label": "T", "data_type": "text", "required": true}),
        )
        .await;
    res.assert_problem(409, "attribute_values_missing");
    // Making it optional again is always allowed.
    let res = t.patch(&def_url(&size), &t.admin(), json!({"required": false})).await;
    assert_eq!(res.status, 200, "{}", res.text);
}

#[actix_web::test]
async fn deleting_a_definition_in_use_is_refused() {
    let t = TestApp::spawn().await;
    let size = t
        .define_attribute(json!({"entity_kind": "contract", "key": "size", "label": "Size", "data_type": "integer"}))
        .await;
    let c = t.create_contract(json!({"attributes": {"size": 1}})).await;
    let res = t.delete(&def_url(&size), &t.admin()).await;
    res.assert_problem(409, "attribute_in_use");
    assert_eq!(t.get(&def_url(&size), &t.viewer()).await.status, 200);

    // Deleting the contract that held the value frees the definition.
    assert_eq!(t.delete(&contract_url(&c), &t.manager()).await.status, 204);
    let res = t.delete(&def_url(&size), &t.admin()).await;
    assert_eq!(res.status, 204, "{}", res.text);
    // With the definition gone, the key is unknown again.
    let res = t.post("/api/v1/contracts", &t.manager(), contract_body("maintenance", json!({"size": 1}))).await;
    assert_eq!(field_codes(&res), pairs(&[("attributes.size", "unknown_attribute")]));
}

#[actix_web::test]
async fn there_is_no_fixed_limit_on_attributes() {
    let t = TestApp::spawn().await;
    let mut attrs = serde_json::Map::new();
    for i in 0..60 {
        t.define_attribute(
            json!({"entity_kind": "contract", "key": format!("attr_{i:02}"), "label": format!("Attribute {i}"),
            "data_type": "integer"}),
        )
        .await;
        attrs.insert(format!("attr_{i:02}"), json!(i));
    }
    let c = t.create_contract(json!({"attributes": attrs.clone()})).await;
    assert_eq!(c["attributes"], Value::Object(attrs.clone()));
    let got = t.get(&contract_url(&c), &t.viewer()).await;
    assert_eq!(got.body["attributes"].as_object().unwrap().len(), 60);
    assert_eq!(numbers(&t, "attr.attr_59=59").await.len(), 1);
    assert_eq!(numbers(&t, "attr.attr_00.gte=0&attr.attr_59.lte=59").await.len(), 1);

    // The definitions page through: 50 + 10.
    let first = t.get(&format!("{DEFS}?entity_kind=contract"), &t.viewer()).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 50);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = t.get(&format!("{DEFS}?entity_kind=contract&cursor={cursor}"), &t.viewer()).await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 10);
    assert_eq!(second.body["next_cursor"], Value::Null);

    let res = t.patch(&contract_url(&c), &t.manager(), json!({"attributes": {"attr_30": null, "attr_31": 1000}})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["attributes"].as_object().unwrap().len(), 59);
    assert_eq!(res.body["attributes"]["attr_31"], 1000);
}

#[actix_web::test]
async fn list_filters_on_attributes() {
    let t = TestApp::spawn().await;
    t.define_attribute(json!({"entity_kind": "contract", "key": "region", "label": "Region", "data_type": "enum",
        "options": ["north", "south"]}))
        .await;
    for (key, data_type) in
        [("size", "integer"), ("price", "decimal"), ("since", "date"), ("vip", "boolean"), ("note", "text")]
    {
        t.define_attribute(json!({"entity_kind": "contract", "key": key, "label": key, "data_type": data_type})).await;
    }
    let mk = |number: &'static str, status: &'static str, attrs: Value| {
        let t = &t;
        async move {
            t.create_contract(json!({"number": number, "status": status, "attributes": attrs})).await;
        }
    };
    mk(
        "A",
        "active",
        json!({"region": "north", "size": 5, "price": 10.5, "since": "2026-01-15", "vip": true, "note": "alpha"}),
    )
    .await;
    mk("B", "draft", json!({"region": "south", "size": 3, "price": 2.25, "since": "2026-02-01", "vip": false})).await;
    mk("C", "draft", json!({"region": "north", "size": 4, "since": "2026-03-01"})).await;
    mk("D", "active", json!({"size": -2})).await;
    mk("E", "active", json!({})).await;

    let cases: &[(&str, &[&str])] = &[
        ("attr.region=north", &["A", "C"]),
        ("attr.region=south", &["B"]),
        ("attr.size=5", &["A"]),
        ("attr.size.gte=3", &["A", "B", "C"]),
        ("attr.size.lte=4", &["B", "C", "D"]),
        ("attr.size.gte=3&attr.size.lte=4", &["B", "C"]),
        ("attr.size.lte=-2", &["D"]),
        ("attr.price.gte=2.25", &["A", "B"]),
        ("attr.price.gte=2.26", &["A"]),
        ("attr.since.gte=2026-02-01", &["B", "C"]),
        ("attr.since.lte=2026-02-01", &["A", "B"]),
        ("attr.since=2026-03-01", &["C"]),
        ("attr.vip=true", &["A"]),
        ("attr.vip=false", &["B"]),
        ("attr.note=alpha", &["A"]),
        ("attr.note=Alpha", &[]),
        ("attr.region=north&attr.size.lte=4", &["C"]),
        ("attr.region=north&attr.since.gte=2026-02-01", &["C"]),
        ("attr.region=north&status=active", &["A"]),
        ("attr.size.gte=3&status=draft", &["B", "C"]),
        ("attr.size.gte=100", &[]),
        ("attr.region=west", &[]),
    ];
    for (query, expected) in cases {
        assert_eq!(numbers(&t, query).await, *expected, "{query}");
    }

    // Paging through a filtered list.
    let page = t.get("/api/v1/contracts?attr.size.gte=3&limit=2", &t.viewer()).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
    let cursor = page.body["next_cursor"].as_str().unwrap();
    assert_eq!(numbers(&t, &format!("attr.size.gte=3&limit=2&cursor={cursor}")).await, vec!["C"]);

    for bad in [
        "attr.colour=red",
        "attr.note.gte=x",
        "attr.region.lte=north",
        "attr.vip.gte=true",
        "attr.size=abc",
        "attr.size=1.5",
        "attr.size.between=1",
        "attr.since.gte=2026-13-01",
        "attr.vip=yes",
        "attr.price=cheap",
    ] {
        let res = t.get(&format!("/api/v1/contracts?{bad}"), &t.viewer()).await;
        res.assert_problem(400, "invalid_attribute_filter");
        assert!(res.body["detail"].as_str().unwrap().contains("attr."), "{bad}: {}", res.text);
    }
}

#[actix_web::test]
async fn long_texts_are_refused_and_one_key_keeps_one_type() {
    let t = TestApp::spawn().await;
    t.define_attribute(
        json!({"entity_kind": "contract", "scope": "maintenance", "key": "note", "label": "Note", "data_type": "text"}),
    )
    .await;
    let res = t
        .post(
            "/api/v1/contracts",
            &t.manager(),
            json!({"title": "x", "contract_type": "maintenance", "customer_ref": "c", "start_date": "2026-01-01",
                   "attributes": {"note": "é".repeat(501)}}),
        )
        .await;
    res.assert_problem(422, "validation_failed");
    assert_eq!(res.body["errors"][0]["code"], "too_long");
    let ok = t
        .post(
            "/api/v1/contracts",
            &t.manager(),
            json!({"title": "x", "contract_type": "maintenance", "customer_ref": "c", "start_date": "2026-01-01",
                   "attributes": {"note": "é".repeat(500)}}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);

    // The same key for another contract type must keep the type, so filters mean one thing.
    let res = t
        .post(
            "/api/v1/attribute-definitions",
            &t.admin(),
            json!({"entity_kind": "contract", "scope": "lease", "key": "note", "label": "Note", "data_type": "integer"}),
        )
        .await;
    res.assert_problem(409, "attribute_key_conflict");
    let res = t
        .post(
            "/api/v1/attribute-definitions",
            &t.admin(),
            json!({"entity_kind": "contract", "scope": "lease", "key": "note", "label": "Note", "data_type": "text"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
}

#[actix_web::test]
async fn datetime_ranges_compare_as_time_even_with_fractions() {
    let t = TestApp::spawn().await;
    t.define_attribute(json!({"entity_kind": "contract", "key": "seen", "label": "Seen", "data_type": "datetime"}))
        .await;
    let early = t.create_contract(json!({"attributes": {"seen": "2026-03-01T10:00:00.5+01:00"}})).await;
    let late = t.create_contract(json!({"attributes": {"seen": "2026-03-01T09:00:01Z"}})).await;
    assert_eq!(early["attributes"]["seen"], "2026-03-01T09:00:00.500000Z");
    let res = t.get("/api/v1/contracts?attr.seen.gte=2026-03-01T09:00:01Z", &t.viewer()).await;
    let ids: Vec<&str> = res.body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![late["id"].as_str().unwrap()]);
    let res = t.get("/api/v1/contracts?attr.seen.lte=2026-03-01T09:00:00.600Z", &t.viewer()).await;
    let ids: Vec<&str> = res.body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![early["id"].as_str().unwrap()]);
}

#[actix_web::test]
async fn a_type_change_must_keep_the_key_one_type_across_scopes() {
    let t = TestApp::spawn().await;
    let a = t
        .define_attribute(
            json!({"entity_kind": "contract", "scope": "lease", "key": "level", "label": "Level", "data_type": "text"}),
        )
        .await;
    t.define_attribute(json!({"entity_kind": "contract", "scope": "maintenance", "key": "level", "label": "Level", "data_type": "text"})).await;
    let url = format!("/api/v1/attribute-definitions/{}", a["id"].as_str().unwrap());
    t.patch(&url, &t.admin(), json!({"data_type": "integer"})).await.assert_problem(409, "attribute_key_conflict");
    assert_eq!(t.get(&url, &t.viewer()).await.body["data_type"], "text");
}

#[actix_web::test]
async fn date_values_keep_to_the_years_1900_to_2999_and_nothing_is_stored() {
    let t = TestApp::spawn().await;
    t.define_attribute(
        json!({"entity_kind": "contract", "key": "inspected", "label": "Inspected", "data_type": "date"}),
    )
    .await;
    for bad in ["0000-01-01", "9999-12-31", "+12026-01-01"] {
        let res = t
            .post(
                "/api/v1/contracts",
                &t.manager(),
                json!({"title": "x", "contract_type": "m", "customer_ref": "c",
                  "start_date": "2026-01-01", "attributes": {"inspected": bad}}),
            )
            .await;
        res.assert_problem(422, "validation_failed");
        assert_eq!(res.error_fields(), ["attributes.inspected"], "{bad}: {}", res.text);
    }
    assert_eq!(t.get("/api/v1/contracts", &t.viewer()).await.body["items"], json!([]));
    let ok = t.create_contract(json!({"attributes": {"inspected": "2999-12-31"}})).await;
    assert_eq!(ok["attributes"]["inspected"], "2999-12-31");
}

#[actix_web::test]
async fn a_required_definition_racing_creates_never_leaves_a_contract_without_its_value() {
    let t = TestApp::spawn().await;
    for round in 0..4 {
        let key = format!("cost_centre_{round}");
        let contract_type = format!("racing-{round}");
        let creates = (0..6).map(|_| {
            let t = &t;
            let body = contract_body(&contract_type, json!({}));
            async move { t.post("/api/v1/contracts", &t.manager(), body).await }
        });
        let admin = t.admin();
        let define = t.post(
            DEFS,
            &admin,
            json!({"entity_kind": "contract", "scope": contract_type, "key": key, "label": "Cost centre",
                   "data_type": "text", "required": true}),
        );
        let (answers, defined) = futures_util::future::join(futures_util::future::join_all(creates), define).await;
        for a in &answers {
            assert!(a.status == 201 || a.status == 422, "{}", a.text);
        }
        let created = answers.iter().filter(|a| a.status == 201).count();
        // Either the definition came first (every create after it lacked the value: 422) or
        // some contract came first without it (the definition is refused): never both.
        match defined.status {
            201 => assert_eq!(created, 0, "contracts without the required {key} exist beside it"),
            409 => assert!(created > 0, "{}", defined.text),
            other => panic!("defining answered {other}: {}", defined.text),
        }
        let stored = numbers(&t, &format!("contract_type={contract_type}&limit=100")).await;
        assert_eq!(stored.len(), created);
    }
}
