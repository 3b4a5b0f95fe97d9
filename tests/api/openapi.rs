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
