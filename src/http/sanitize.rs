//! Input that no database accepts, or that no client needs, is refused up front as a client
//! error. PostgreSQL cannot store the NUL character in text, so a `%00` in the path or query,
//! or a `\u0000` in a JSON body, would otherwise surface as a database error; a URL longer
//! than any real request needs would be echoed back and carried through every layer.

use super::errors::ApiError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::ResponseError;
use serde_json::Value;

/// Longest path and query accepted, in bytes. Beyond 64 KiB the HTTP layer itself answers a
/// bare 400 before the service sees the request.
pub const MAX_URL_BYTES: usize = 8 * 1024;

/// Refuses requests whose path and query are longer than [`MAX_URL_BYTES`] (414) or carry an
/// encoded NUL byte (400).
pub async fn check_url(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let uri = req.uri().to_string().to_ascii_lowercase();
    let problem = if uri.len() > MAX_URL_BYTES {
        Some(ApiError::new(
            crate::error::Kind::UriTooLong,
            "uri_too_long",
            format!("the path and query are {} bytes; at most {MAX_URL_BYTES} are accepted", uri.len()),
        ))
    } else if uri.contains("%00") || uri.contains('\0') {
        Some(ApiError::bad_request("invalid_character", "the URL must not contain NUL characters (%00)"))
    } else {
        None
    };
    if let Some(problem) = problem {
        let (req, _) = req.into_parts();
        return Ok(ServiceResponse::new(req, problem.error_response()).map_into_right_body());
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

/// The path of the first string (or key) in a JSON document that contains NUL, if any.
pub fn find_nul(value: &Value, path: &str) -> Option<String> {
    let join = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
    match value {
        Value::String(s) if s.contains('\0') => Some(path.to_string()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| find_nul(v, &format!("{path}[{i}]"))),
        Value::Object(map) => {
            map.iter().find_map(|(k, v)| if k.contains('\0') { Some(join(k)) } else { find_nul(v, &join(k)) })
        }
        _ => None,
    }
}
