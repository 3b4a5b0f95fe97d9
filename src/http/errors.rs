//! RFC 9457 problem details. Every error a client sees is one of these; internal causes are
//! logged and never returned.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field of a request.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct FieldError {
    /// Path of the offending field, e.g. `attributes.region` or `renewal.notice_period`.
    pub field: String,
    /// Stable machine-readable reason, e.g. `required`, `invalid_type`, `unknown_attribute`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> FieldError {
        FieldError { field: field.into(), code: code.to_string(), message: message.into() }
    }
}

/// Adds an error when a required text is blank or longer than `max` characters.
pub fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors.push(FieldError::new(field, "required", "must not be empty"));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(field, "too_long", format!("at most {max} characters")));
    }
}

/// Adds an error when a date lies outside the years a contract system can mean (1900–2999).
pub fn check_year(errors: &mut Vec<FieldError>, field: &str, year: i32) {
    if !(1900..=2999).contains(&year) {
        errors.push(FieldError::new(field, "out_of_range", "must be between the years 1900 and 2999"));
    }
}

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

/// The error type of every handler.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub detail: String,
    pub errors: Vec<FieldError>,
    headers: Vec<(header::HeaderName, String)>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> ApiError {
        ApiError { status, code: code.to_string(), detail: detail.into(), errors: Vec::new(), headers: Vec::new() }
    }

    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> ApiError {
        self.headers.push((name, value.into()));
        self
    }

    pub fn bad_request(code: &str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        let detail = detail.into();
        let challenge = format!(
            "Bearer realm=\"pactum\", error=\"invalid_token\", error_description=\"{}\"",
            detail.replace('"', "'")
        );
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail).with_header(header::WWW_AUTHENTICATE, challenge)
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn conflict(code: &str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn precondition_failed(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PRECONDITION_FAILED, "precondition_failed", detail)
    }

    /// `422` listing every invalid field.
    pub fn validation(errors: Vec<FieldError>) -> ApiError {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", errors.len()),
        };
        let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", detail);
        e.errors = errors;
        e
    }

    /// `422` for a single field.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> ApiError {
        ApiError::validation(vec![FieldError::new(field, code, message)])
    }

    pub fn unavailable() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database cannot be reached; try again shortly",
        )
        .with_header(header::RETRY_AFTER, "5")
    }

    /// A fault on our side: logged with its cause, answered without it.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(cause = %cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an internal error occurred; it has been logged",
        )
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_: format!("/problems/{}", self.code.replace('_', "-")),
            title: self.status.canonical_reason().unwrap_or("Error").to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.content_type("application/problem+json");
        for (name, value) in &self.headers {
            response.insert_header((name.clone(), value.clone()));
        }
        response.json(self.problem())
    }
}

impl From<crate::db::Unavailable> for ApiError {
    fn from(e: crate::db::Unavailable) -> ApiError {
        tracing::warn!(error = %e, "database unavailable");
        ApiError::unavailable()
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> ApiError {
        ApiError::internal(e)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> ApiError {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match &e {
            E::NotFound => ApiError::not_found("the resource does not exist"),
            E::DatabaseError(K::UniqueViolation, info) => ApiError::conflict(
                "duplicate",
                format!(
                    "a record with the same unique value already exists ({})",
                    info.constraint_name().unwrap_or(info.message())
                ),
            ),
            E::DatabaseError(K::ForeignKeyViolation, _) => {
                ApiError::conflict("referenced", "the change conflicts with records that refer to this one")
            }
            E::DatabaseError(K::SerializationFailure, _) => {
                ApiError::conflict("concurrent_update", "a concurrent change got in the way; retry the request")
            }
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, _) => {
                tracing::warn!(error = %e, "database connection lost");
                ApiError::unavailable()
            }
            E::DatabaseError(K::Unknown, info) if info.message().contains("deadlock detected") => {
                ApiError::conflict("concurrent_update", "a concurrent change got in the way; retry the request")
            }
            E::DatabaseError(K::Unknown, info)
                if info.message().contains("database is locked")
                    || info.message().contains("terminating connection")
                    || info.message().contains("server closed the connection") =>
            {
                tracing::warn!(error = %e, "database busy or gone");
                ApiError::unavailable()
            }
            _ => ApiError::internal(e),
        }
    }
}

/// Answers requests to paths that exist nowhere.
pub async fn not_found_fallback(req: actix_web::HttpRequest) -> HttpResponse {
    ApiError::not_found(format!("no resource at {}", req.path())).error_response()
}
