//! What the OpenAPI document says once for every operation, where the derives cannot say it:
//! the problem answers that follow from an operation's shape (401 for a protected operation,
//! 403 for a role-gated one, 404 for one on a resource named by its `{id}`, 400 for one with
//! query parameters or a body, 413 and 415 for one with a body, 414 for one with path or query
//! parameters, 412 for one that takes `If-Match`), the header patterns, what generated clients
//! need (pages by reference, required answer fields, both patch media types), and the schemas
//! of open JSON maps. Endpoints document only the answers that say something about them; an
//! answer an endpoint documents itself is kept as it is.

use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::Required;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

fn problem(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    RefOr::T(ResponseBuilder::new().description(description).content("application/problem+json", content).build())
}

fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses.responses.entry(status.to_string()).or_insert_with(|| problem(description));
}

/// Documents the 403 of an operation whose handler takes a role gate: `roles` (besides admin)
/// pass it. Called when the handler is registered (`routing::Endpoints::add`), the one place
/// that sees the handler's extractors.
pub fn role_gated(op: &mut Operation, roles: &[&str]) {
    add(op, "403", if roles.is_empty() { "Not an admin" } else { "Role not allowed" });
}

/// "No such contract" for `/api/v1/contracts/{id}…`: the resource the path's `{id}` names,
/// after the collection segment before it.
fn not_found(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    let at = segments.iter().position(|s| *s == "{id}")?;
    let collection = segments[..at].last()?;
    Some(format!("No such {}", collection.strip_suffix('s').unwrap_or(collection).replace('-', " ")))
}

fn complete(path: &str, op: &mut Operation) {
    if let Some(description) = not_found(path) {
        add(op, "404", &description);
    }
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_query = params.iter().any(|p| matches!(p.parameter_in, ParameterIn::Query));
    let has_if_match = params.iter().any(|p| matches!(p.parameter_in, ParameterIn::Header) && p.name == "If-Match");
    let has_url_params = params.iter().any(|p| matches!(p.parameter_in, ParameterIn::Query | ParameterIn::Path));
    if op.security.is_some() {
        add(op, "401", "Missing or invalid token");
    }
    if op.request_body.is_some() {
        add(op, "400", "Malformed JSON");
        add(op, "413", "Body too large");
        add(op, "415", "Not JSON");
    } else if has_query {
        add(op, "400", "Bad query parameter");
    }
    if has_url_params {
        add(op, "414", "Path and query longer than 8 KiB");
    }
    if has_if_match {
        for p in op.parameters.iter_mut().flatten().filter(|p| p.name == "If-Match") {
            p.schema = Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(IF_MATCH_PATTERN))
                    .min_length(Some(1))
                    .into(),
            );
        }
        add(op, "412", "If-Match does not match the current ETag");
    }
}

/// `*` or a comma-separated list of entity tags (RFC 9110 13.1.1); anything else matches no
/// version (412).
const IF_MATCH_PATTERN: &str = r#"^\s*(\*|(W/)?"[\x21\x23-\x7e]*"(\s*,\s*(W/)?"[\x21\x23-\x7e]*")*)\s*$"#;

/// The header that makes a POST safe to retry (read by `crate::idempotency`, which sits above
/// the kernel's HTTP layer and takes the name from here).
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// What `crate::idempotency` accepts as a key: 1-255 visible ASCII characters.
const IDEMPOTENCY_KEY_PATTERN: &str = r"^[\x21-\x7e]{1,255}$";

/// Every POST takes an `Idempotency-Key` (see `crate::idempotency`).
fn idempotent(op: &mut Operation) {
    let param = ParameterBuilder::new()
        .name(IDEMPOTENCY_KEY)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes a retry safe: the first request with this key (1-255 visible ASCII characters, e.g. a UUID) \
             does the work; a retry with the same key and body gets the same answer again, marked \
             `Idempotent-Replayed: true`, without doing it twice. Keys are per caller and kept at least 24 hours.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some(IDEMPOTENCY_KEY_PATTERN)),
        ))
        .build();
    op.parameters.get_or_insert_with(Vec::new).push(param);
    add(op, "400", "Bad request (for example an invalid Idempotency-Key)");
    add(op, "409", "Conflict, or a request with the same Idempotency-Key is still running");
    add(op, "422", "Invalid input, or the Idempotency-Key was used for a different request");
}

/// Adds the shape-given problem answers to every operation of the document.
pub fn add_standard_problems(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        if let Some(op) = item.post.as_mut() {
            idempotent(op);
        }
        for op in
            [&mut item.get, &mut item.put, &mut item.post, &mut item.patch, &mut item.delete].into_iter().flatten()
        {
            complete(path, op);
        }
    }
}

/// The spec of a JSON object whose keys are the client's own: every value allowed. Generated
/// clients read `{"type": "object"}` alone as "no properties", so the open map is spelled out.
pub struct JsonObject;

impl utoipa::PartialSchema for JsonObject {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("A JSON object with keys of the client's choosing."))
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .into()
    }
}

impl utoipa::ToSchema for JsonObject {
    fn name() -> std::borrow::Cow<'static, str> {
        "JsonObject".into()
    }
}

/// User-defined attribute values by key (see attribute definitions): each a string (text,
/// enum, date, date-time), a number (integer, decimal), a boolean, or `null` (in a patch: clear).
pub struct AttributeValues;

impl utoipa::PartialSchema for AttributeValues {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        let value = ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Number, Type::Boolean, Type::Null]))
            .description(Some("Text, enum, date (YYYY-MM-DD) and date-time values are strings; integers and decimals are numbers; booleans; null clears in a patch."));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "User-defined attribute values by key, validated against the attribute definitions of the entity's kind and type.",
            ))
            .property_names(Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some(ATTRIBUTE_KEY_PATTERN))))
            .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(value.into()))))
            .into()
    }
}

impl utoipa::ToSchema for AttributeValues {
    fn name() -> std::borrow::Cow<'static, str> {
        "AttributeValues".into()
    }
}

/// Attribute keys: snake_case, starting with a letter.
pub const ATTRIBUTE_KEY_PATTERN: &str = "^[a-z][a-z0-9_]{0,62}$";

/// Fields of answers that are left out rather than sent as `null` in some answers:
/// (schema, field). Every other field of a schema that only answers use is always sent.
const SOMETIMES_ABSENT: &[(&str, &str)] = &[("Problem", "errors")];

/// Makes the document say what generated clients need to know, where the derives cannot:
/// pages refer to their item schema instead of copying it; every field that answers always
/// carry is required (nullable where it can be `null`); merge-patch bodies also accept plain
/// `application/json`, as the service does.
pub fn refine_for_clients(doc: &mut OpenApi) {
    use utoipa::openapi::schema::{ArrayItems, Schema};
    // Which schemas requests use and which answers use, read off the document as JSON.
    let json = serde_json::to_value(&*doc).unwrap_or_default();
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    for item in json["paths"].as_object().into_iter().flat_map(|m| m.values()) {
        for op in item.as_object().into_iter().flat_map(|m| m.values()) {
            collect_refs(&op["requestBody"], &mut inputs);
            collect_refs(&op["parameters"], &mut inputs);
            collect_refs(&op["responses"], &mut outputs);
        }
    }
    let closure = |mut seeds: Vec<String>| {
        let mut seen = std::collections::BTreeSet::new();
        while let Some(name) = seeds.pop() {
            if seen.insert(name.clone()) {
                collect_refs(&json["components"]["schemas"][name.as_str()], &mut seeds);
            }
        }
        seen
    };
    let (inputs, outputs) = (closure(inputs), closure(outputs));

    let Some(components) = doc.components.as_mut() else { return };
    let names: Vec<String> = components.schemas.keys().cloned().collect();
    for (name, schema) in components.schemas.iter_mut() {
        let RefOr::T(Schema::Object(object)) = schema else { continue };
        if let Some(item) = name.strip_prefix("Page_").filter(|item| names.iter().any(|n| n == item)) {
            // A page: items by reference; `next_cursor` is always there (null on the last page).
            if let Some(RefOr::T(Schema::Array(array))) = object.properties.get_mut("items") {
                array.items = ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(item))));
            }
        }
    }
    // A page's item schema is an answer's schema too, also when no other answer names it
    // (the derives copy it into the page, so the walk above does not see it).
    let page_items: Vec<String> = outputs
        .iter()
        .filter_map(|name| name.strip_prefix("Page_"))
        .filter(|item| names.iter().any(|n| n == item))
        .map(str::to_string)
        .collect();
    let outputs = outputs.into_iter().chain(closure(page_items)).collect::<std::collections::BTreeSet<_>>();
    for (name, schema) in components.schemas.iter_mut() {
        let RefOr::T(Schema::Object(object)) = schema else { continue };
        if outputs.contains(name) && !inputs.contains(name) {
            object.required = object
                .properties
                .keys()
                .filter(|field| !SOMETIMES_ABSENT.contains(&(name.as_str(), field.as_str())))
                .cloned()
                .collect();
        }
    }
    for item in doc.paths.paths.values_mut() {
        for op in [&mut item.put, &mut item.post, &mut item.patch].into_iter().flatten() {
            if let Some(body) = op.request_body.as_mut() {
                if let Some(patch) = body.content.get("application/merge-patch+json").cloned() {
                    body.content.entry("application/json".to_string()).or_insert(patch);
                }
            }
        }
    }
}

/// Adds the names of the component schemas `value` refers to.
fn collect_refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(name) =
                map.get("$ref").and_then(|r| r.as_str()).and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                out.push(name.to_string());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
