//! The JSON body extractor: checks the content type (415), the size (413), the syntax (400)
//! and the shape (422 naming the field), before a handler sees the body.

use super::errors::{ApiError, FieldError};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

/// Largest request body accepted, in bytes; registered as app data.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// A JSON request body. Use `ApiJson<Option<T>>` for endpoints whose body may be left out.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<ApiJson<T>, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<BodyLimit>().map(|l| l.0).unwrap_or(1024 * 1024);
        let content_type =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(|v| v.to_ascii_lowercase());
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared_len.is_some_and(|n| n > limit) {
                return Err(too_large(limit));
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| ApiError::bad_request("unreadable_body", e.to_string()))?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                body.extend_from_slice(&chunk);
            }
            // No bytes at all is a body left out; anything else, whitespace alone included, is
            // a document that must be JSON.
            let text: &[u8] = if body.is_empty() {
                b"null"
            } else {
                match content_type.as_deref() {
                    Some(ct) if is_json(ct) => &body,
                    Some(ct) => {
                        return Err(ApiError::new(
                            crate::error::Kind::UnsupportedMediaType,
                            "unsupported_media_type",
                            format!("the body must be application/json, not {ct}"),
                        ))
                    }
                    None => {
                        return Err(ApiError::new(
                            crate::error::Kind::UnsupportedMediaType,
                            "unsupported_media_type",
                            "the body must be sent with Content-Type: application/json",
                        ))
                    }
                }
            };
            parse(text).map(ApiJson)
        })
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        crate::error::Kind::PayloadTooLarge,
        "payload_too_large",
        format!("the body is larger than the limit of {limit} bytes"),
    )
}

/// Parses a JSON document; syntax errors are 400, shape errors 422 with the field path.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let document: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}")))?;
    if let Some(field) = super::sanitize::find_nul(&document, "") {
        return Err(ApiError::validation(vec![FieldError::new(
            field,
            "invalid_character",
            "text must not contain NUL characters",
        )]));
    }
    // Every body this service reads is an object. Serde would also fill a struct from a list,
    // and one whose fields all have defaults (a patch) from an empty list.
    if document.is_array() {
        return Err(ApiError::validation(vec![FieldError::new(
            "",
            "invalid_value",
            "the body must be a JSON object, not an array",
        )]));
    }
    let mut document = document;
    integral_floats_as_integers(&mut document);
    match serde_path_to_error::deserialize::<_, T>(document) {
        Ok(value) => Ok(value),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            {
                let field = if path == "." { String::new() } else { path };
                let message = clean_serde_message(&inner.to_string());
                let code = if message.starts_with("missing field") {
                    "required"
                } else if message.starts_with("unknown field") {
                    "unknown_field"
                } else {
                    "invalid_value"
                };
                let field = match (code, field.is_empty()) {
                    ("unknown_field", false) => field,
                    ("required" | "unknown_field", _) => {
                        let name = message.split('`').nth(1).unwrap_or("");
                        if field.is_empty() {
                            name.to_string()
                        } else {
                            format!("{field}.{name}")
                        }
                    }
                    _ => field,
                };
                Err(ApiError::validation(vec![FieldError::new(field, code, message)]))
            }
        }
    }
}

/// JSON Schema counts `12.0` as the integer 12, so generated clients may send it for an integer
/// field; serde would refuse it. Integral numbers are made integers before the typed read
/// (a float field takes an integer just as well). Opaque client data (`data`) is left as sent.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15) {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key != "data" {
                    integral_floats_as_integers(v);
                }
            }
        }
        _ => {}
    }
}

/// Drops serde's " at line X column Y" suffix, which means nothing to an API client.
fn clean_serde_message(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Checks the declarative constraints of a request body (`#[validate(...)]` on its fields);
/// every violation becomes a 422 field error with the field's path.
pub fn validate<T: validator::Validate>(body: &T) -> Result<(), ApiError> {
    body.validate().map_err(|e| {
        let mut errors = Vec::new();
        collect(&e, "", &mut errors);
        errors.sort_by(|a, b| a.field.cmp(&b.field));
        ApiError::validation(errors)
    })
}

fn collect(errors: &validator::ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    use validator::ValidationErrorsKind as Kind;
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
        match kind {
            Kind::Field(list) => out.extend(list.iter().map(|e| {
                let message = e.message.as_ref().map(|m| m.to_string()).unwrap_or_else(|| describe(e));
                // The codes this API uses elsewhere for the same faults.
                let code = match e.code.as_ref() {
                    "length" => "invalid_length",
                    "range" => "out_of_range",
                    other => other,
                };
                FieldError::new(path.clone(), code, message)
            })),
            Kind::Struct(inner) => collect(inner, &path, out),
            Kind::List(items) => {
                for (i, inner) in items {
                    collect(inner, &format!("{path}[{i}]"), out);
                }
            }
        }
    }
}

/// A readable message from a validator error's parameters (`min`, `max`).
fn describe(e: &validator::ValidationError) -> String {
    let param = |name: &str| e.params.get(name).map(|v| v.to_string());
    match (e.code.as_ref(), param("min"), param("max")) {
        ("length", Some(min), Some(max)) => format!("length must be from {min} to {max}"),
        ("length", None, Some(max)) => format!("length must be at most {max}"),
        ("range", Some(min), Some(max)) => format!("must be from {min} to {max}"),
        _ => format!("is invalid ({})", e.code),
    }
}
