//! ETags from resource versions and `If-Match` preconditions.

use super::errors::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use std::future::{ready, Ready};

/// The ETag of a resource at `version`.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// The `If-Match` header of a request, if any.
#[derive(Clone, Debug, Default)]
pub struct IfMatch(Option<Vec<String>>);

impl IfMatch {
    /// Fails with 412 when the header is present and names none of the current version.
    pub fn check(&self, current_version: i64) -> Result<(), ApiError> {
        match &self.0 {
            None => Ok(()),
            Some(tags) => {
                let current = etag(current_version);
                if tags.iter().any(|t| t == "*" || t.trim_start_matches("W/") == current) {
                    Ok(())
                } else {
                    Err(ApiError::precondition_failed(format!(
                        "If-Match does not match the current version (ETag {current}); fetch the resource again"
                    )))
                }
            }
        }
    }

    pub fn none() -> IfMatch {
        IfMatch(None)
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<IfMatch, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let values: Vec<String> = req
            .headers()
            .get_all(header::IF_MATCH)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(',').map(|t| t.trim().to_string()).collect::<Vec<_>>())
            .filter(|t| !t.is_empty())
            .collect();
        ready(Ok(IfMatch(if values.is_empty() { None } else { Some(values) })))
    }
}

/// A JSON response carrying the resource's ETag (and `Location` when created).
pub fn resource_response<T: serde::Serialize>(
    status: actix_web::http::StatusCode,
    body: &T,
    version: i64,
    location: Option<String>,
) -> actix_web::HttpResponse {
    let mut r = actix_web::HttpResponse::build(status);
    r.insert_header((header::ETAG, etag(version)));
    if let Some(loc) = location {
        r.insert_header((header::LOCATION, loc));
    }
    r.json(body)
}
