//! The committed OpenAPI document must match what the code generates.

const REGENERATE: &str = "cargo run --quiet -- openapi > openapi/openapi.json";

#[test]
fn committed_openapi_matches_the_code() {
    let generated = pactum::startup::openapi().to_pretty_json().unwrap() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if committed != generated {
        panic!("openapi/openapi.json is out of date with the code; regenerate it with:\n    {REGENERATE}\nand commit the result");
    }
}

#[test]
fn every_operation_is_documented_and_protected() {
    let doc: serde_json::Value = serde_json::from_str(&pactum::startup::openapi().to_json().unwrap()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 15, "paths: {:?}", paths.keys());
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let summary = op["summary"].as_str().unwrap_or("");
            assert!(!summary.is_empty(), "{method} {path} has no summary");
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path} documents no response");
            if path.starts_with("/api/v1") {
                assert!(op["security"].is_array(), "{method} {path} does not declare its bearer token");
                assert!(responses.contains_key("401"), "{method} {path} does not document 401");
            }
        }
    }
}

/// Merging the features' parts keeps one schema per name, so two types with the same name
/// (every feature has a `Status`) would silently describe one with the other's values.
#[test]
fn no_two_features_define_a_schema_of_the_same_name_differently() {
    let mut seen: std::collections::HashMap<String, serde_json::Value> = std::collections::HashMap::new();
    for part in pactum::startup::feature_docs() {
        let Some(components) = part.components else { continue };
        for (name, schema) in components.schemas {
            let schema = serde_json::to_value(schema).unwrap();
            if let Some(other) = seen.insert(name.clone(), schema.clone()) {
                assert_eq!(other, schema, "two different schemas are named {name}; give one `#[schema(as = …)]`");
            }
        }
    }
}

/// Every `$ref` names a schema the document defines: generators stop at a dangling one.
#[test]
fn every_reference_resolves() {
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r.to_string());
                }
                m.values().for_each(|x| refs(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let doc: serde_json::Value = serde_json::from_str(&pactum::startup::openapi().to_json().unwrap()).unwrap();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(doc["components"]["schemas"][name].is_object(), "{r} is not defined");
    }
}

/// Every field an answer always carries is required, so generated clients need no guards;
/// fields a request may leave out are not.
#[test]
fn answers_require_what_they_always_carry_and_pages_refer_to_their_items() {
    let doc: serde_json::Value = serde_json::from_str(&pactum::startup::openapi().to_json().unwrap()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let required = |name: &str| -> Vec<String> {
        schemas[name]["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
    };
    for (name, nullable_field) in
        [("ContractOut", "end_date"), ("TaskOut", "installation_id"), ("ServiceCallOut", "contract_id")]
    {
        let props = schemas[name]["properties"].as_object().unwrap();
        assert_eq!(required(name).len(), props.len(), "{name}: {:?}", required(name));
        assert!(required(name).contains(&nullable_field.to_string()));
        assert!(props[nullable_field].to_string().contains("null"), "{name}.{nullable_field} stays nullable");
    }
    assert_eq!(required("FeedTokenCreated"), ["id", "token", "url", "created_at", "expires_at"]);
    assert!(schemas["ContractPatch"].get("required").is_none(), "a merge patch leaves every field out at will");
    assert_eq!(schemas["Page_ContractOut"]["properties"]["items"]["items"]["$ref"], "#/components/schemas/ContractOut");
    assert_eq!(required("Page_ContractOut"), ["items", "next_cursor"]);
    assert_eq!(schemas["FeedPage"]["properties"]["next_cursor"]["type"], "string");
    assert_eq!(
        schemas["AttributeValues"]["additionalProperties"]["type"],
        serde_json::json!(["string", "number", "boolean", "null"])
    );
    let patch = &doc["paths"]["/api/v1/contracts/{id}"]["patch"]["requestBody"]["content"];
    assert!(patch["application/json"].is_object() && patch["application/merge-patch+json"].is_object());
}

/// Where answers of one resource differ, each has its own schema, whose fields are all required:
/// the created webhook with its secret, an instance with its steps, a coverage link with the
/// side it is listed from; a page's item schema is an answer's schema like any other.
#[test]
fn answers_that_differ_have_their_own_schemas() {
    let doc: serde_json::Value = serde_json::from_str(&pactum::startup::openapi().to_json().unwrap()).unwrap();
    let schemas = &doc["components"]["schemas"];
    // Properties and required fields of a schema, its `allOf` parts (references included) merged.
    fn fields(schemas: &serde_json::Value, name: &str) -> (Vec<String>, Vec<String>) {
        let schema = &schemas[name];
        assert!(schema.is_object(), "no schema {name}");
        let mut parts = vec![schema.clone()];
        parts.extend(schema["allOf"].as_array().cloned().unwrap_or_default());
        let (mut props, mut required) = (Vec::new(), Vec::new());
        for part in parts {
            if let Some(r) = part["$ref"].as_str() {
                let (p, q) = fields(schemas, r.trim_start_matches("#/components/schemas/"));
                props.extend(p);
                required.extend(q);
                continue;
            }
            props.extend(part["properties"].as_object().into_iter().flat_map(|m| m.keys().cloned()));
            required.extend(part["required"].as_array().into_iter().flatten().map(|v| v.as_str().unwrap().to_string()));
        }
        (props, required)
    }
    let all_required = |name: &str| {
        let (mut props, mut required) = fields(schemas, name);
        props.sort();
        required.sort();
        assert_eq!(props, required, "{name}: every field is required");
        props
    };
    let has = |name: &str, field: &str| all_required(name).contains(&field.to_string());
    assert!(has("WebhookCreated", "secret") && !has("WebhookOut", "secret"), "the secret only where it is sent");
    assert!(has("InstanceWithSteps", "steps") && !has("InstanceOut", "steps"), "steps only on one instance");
    assert!(has("CoverageWithContract", "contract") && !has("CoverageWithContract", "installation"));
    assert!(has("CoverageWithInstallation", "installation") && !has("CoverageWithInstallation", "contract"));
    assert!(!has("CoverageOut", "contract") && !has("CoverageOut", "installation"));
    assert!(has("DossierOut", "as_of"), "as_of is always sent, null without ?as_of=");
    assert!(has("FeedTokenOut", "expires_at"), "an item of a page only");
    assert!(has("TriggerOut", "fired_at"), "an item of a page only");
    let answer = |path: &str, method: &str, status: &str| {
        doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]["$ref"].clone()
    };
    assert_eq!(answer("/api/v1/webhooks", "post", "201"), "#/components/schemas/WebhookCreated");
    assert_eq!(answer("/api/v1/workflow-instances/{id}", "get", "200"), "#/components/schemas/InstanceWithSteps");
    assert_eq!(answer("/api/v1/workflow-instances", "get", "200"), "#/components/schemas/Page_InstanceOut");
    assert_eq!(
        answer("/api/v1/installations/{id}/contracts", "get", "200"),
        "#/components/schemas/Page_CoverageWithContract"
    );
    assert_eq!(
        answer("/api/v1/contracts/{id}/installations", "get", "200"),
        "#/components/schemas/Page_CoverageWithInstallation"
    );
}

/// `assignee` takes only `me` on the service-call lists as on the worklist; the schema says so.
#[test]
fn assignee_filters_are_the_enum_me() {
    let doc: serde_json::Value = serde_json::from_str(&pactum::startup::openapi().to_json().unwrap()).unwrap();
    assert_eq!(doc["components"]["schemas"]["AssigneeFilter"]["enum"], serde_json::json!(["me"]));
    for path in
        ["/api/v1/tasks", "/api/v1/tasks.ics", "/api/v1/service-calls", "/api/v1/installations/{id}/service-calls"]
    {
        let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        let assignee = params.iter().find(|p| p["name"] == "assignee").unwrap_or_else(|| panic!("{path}"));
        assert_eq!(assignee["schema"]["$ref"], "#/components/schemas/AssigneeFilter", "{path}");
    }
}

/// What the service checks of a webhook's secret, URL and description, the schemas say, in the
/// patch as in the creation.
#[test]
fn webhook_rules_are_in_the_schemas() {
    let doc: serde_json::Value = serde_json::from_str(&pactum::startup::openapi().to_json().unwrap()).unwrap();
    let schemas = &doc["components"]["schemas"];
    for name in ["WebhookIn", "WebhookPatch"] {
        let props = &schemas[name]["properties"];
        assert_eq!(props["secret"]["pattern"], r"^[\x21-\x7e]{16,200}$", "{name}");
        assert_eq!((&props["secret"]["minLength"], &props["secret"]["maxLength"]), (&16.into(), &200.into()), "{name}");
        assert_eq!(props["url"]["pattern"], "^[hH][tT][tT][pP][sS]?://[^/?#@ ]+", "{name}");
        assert_eq!(props["url"]["maxLength"], 2000, "{name}");
        assert_eq!(props["description"]["pattern"], r"\S", "{name}");
        assert_eq!((&props["description"]["minLength"], &props["description"]["maxLength"]), (&1.into(), &1000.into()));
    }
}

/// An enum attribute's options are at least one, each 1 to 200 characters, without repeats: the
/// service refuses anything else and the schemas say so.
#[test]
fn attribute_option_rules_are_in_the_schemas() {
    let doc: serde_json::Value = serde_json::from_str(&pactum::startup::openapi().to_json().unwrap()).unwrap();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["AttributeOption"]["minLength"], 1);
    assert_eq!(schemas["AttributeOption"]["maxLength"], 200);
    for name in ["DefinitionIn", "DefinitionPatch"] {
        let options = &schemas[name]["properties"]["options"];
        assert_eq!(options["items"]["$ref"], "#/components/schemas/AttributeOption", "{name}: {options}");
        assert_eq!(options["minItems"], 1, "{name}: {options}");
        assert_eq!(options["uniqueItems"], true, "{name}: {options}");
        assert!(options["type"].to_string().contains("null"), "{name}: options may be left out or null");
    }
    let options = &schemas["AttributeDef"]["properties"]["options"];
    assert_eq!(options["items"]["$ref"], "#/components/schemas/AttributeOption", "a dossier type's: {options}");
    assert_eq!(options["minItems"], 1, "a dossier type's: {options}");
}
