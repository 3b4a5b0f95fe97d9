//! The problem answers that follow from an operation's shape are added to the OpenAPI document
//! here, once, instead of being repeated on every endpoint: 401 for a protected operation, 400
//! for one with query parameters or a body, 413 and 415 for one with a body, 412 for one that
//! takes `If-Match`. Endpoints document only the answers that say something about them.

use utoipa::openapi::path::{Operation, ParameterIn};
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

/// Adds the shape-given problem answers to every operation of the document.
pub fn add_standard_problems(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for op in
            [&mut item.get, &mut item.put, &mut item.post, &mut item.patch, &mut item.delete].into_iter().flatten()
        {
            complete(op);
        }
    }
}
