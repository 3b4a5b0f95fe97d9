//! The problem answers that follow from an operation's shape are added to the OpenAPI document
//! here, once, instead of being repeated on every endpoint: 401 for a protected operation, 400
//! for one with query parameters or a body, 413 and 415 for one with a body, 412 for one that
//! takes `If-Match`. Endpoints document only the answers that say something about them.

use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

fn problem(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    RefOr::T(ResponseBuilder::new().description(description).content("application/problem+json", content).build())
}

fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses.responses.entry(status.to_string()).or_insert_with(|| problem(description));
}

fn complete(op: &mut Operation) {
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_query = params.iter().any(|p| matches!(p.parameter_in, ParameterIn::Query));
    let has_if_match = params.iter().any(|p| matches!(p.parameter_in, ParameterIn::Header) && p.name == "If-Match");
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
    if has_if_match {
        add(op, "412", "If-Match does not match the current ETag");
    }
}

/// Every POST takes an `Idempotency-Key` (see `crate::idempotency`).
fn idempotent(op: &mut Operation) {
    let param = ParameterBuilder::new()
        .name(crate::idempotency::HEADER)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes a retry safe: the first request with this key (1-255 visible ASCII characters, e.g. a UUID) \
             does the work; a retry with the same key and body gets the same answer again, marked \
             `Idempotent-Replayed: true`, without doing it twice. Keys are per caller and kept at least 24 hours.",
        ))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(255))))
        .build();
    op.parameters.get_or_insert_with(Vec::new).push(param);
    add(op, "400", "Bad request (for example an invalid Idempotency-Key)");
    add(op, "409", "Conflict, or a request with the same Idempotency-Key is still running");
    add(op, "422", "Invalid input, or the Idempotency-Key was used for a different request");
}

/// Adds the shape-given problem answers to every operation of the document.
pub fn add_standard_problems(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        if let Some(op) = item.post.as_mut() {
            idempotent(op);
        }
        for op in
            [&mut item.get, &mut item.put, &mut item.post, &mut item.patch, &mut item.delete].into_iter().flatten()
        {
            complete(op);
        }
    }
}
