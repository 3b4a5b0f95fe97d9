//! RFC 9457 problem details: how an [`ApiError`] (the kernel's error, `crate::error`) is
//! answered. Every error a client sees is one of these; internal causes are logged and never
//! returned.

pub use crate::error::{check_text, check_year, ApiError, FieldError, Kind};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document (`application/problem+json`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    /// URI reference identifying the problem type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Explanation specific to this occurrence.
    pub detail: String,
    /// Stable snake_case code to branch on, e.g. `validation_failed`, `not_found`, `conflict`.
    pub code: String,
    /// For `422`: every invalid field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ApiError {
    /// The problem document that answers this error.
    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        Problem {
            type_: format!("/problems/{}", self.code.replace('_', "-")),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        for (name, value) in &self.headers {
            response.insert_header((header::HeaderName::from_static(name), value.clone()));
        }
        response.json(self.problem())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> ApiError {
        ApiError::internal(e)
    }
}

/// Answers requests to paths that exist nowhere.
pub async fn not_found_fallback(req: actix_web::HttpRequest) -> HttpResponse {
    ApiError::not_found(format!("no resource at {}", req.path())).error_response()
}
