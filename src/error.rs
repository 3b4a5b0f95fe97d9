//! The error every use case returns, with no HTTP in it: what went wrong (its [`Kind`]), a
//! stable code to branch on, an explanation and, for invalid input, every invalid field.
//! `http::errors` answers it as RFC 9457 problem+json; internal causes are logged and never
//! returned.

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

/// What kind of failure an error is; `http::errors` gives each its status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The request is malformed (a query parameter, a header, a body that is not JSON).
    BadRequest,
    /// No valid credentials.
    Unauthorized,
    /// The caller may not do this.
    Forbidden,
    /// What the request names does not exist.
    NotFound,
    /// The resource does not take this method.
    MethodNotAllowed,
    /// The request contradicts the current state (a rule, a duplicate, a concurrent change).
    Conflict,
    /// What the request names existed and is gone for good.
    Gone,
    /// The version the write expected is not the current one.
    PreconditionFailed,
    /// A body over its limit.
    PayloadTooLarge,
    /// A request line over its limit.
    UriTooLong,
    /// A body of a media type not accepted here.
    UnsupportedMediaType,
    /// A byte range outside the content.
    RangeNotSatisfiable,
    /// Well-formed input that breaks the rules of its fields.
    Invalid,
    /// The request must name the version it expects (or an idempotency key).
    PreconditionRequired,
    /// A fault on our side.
    Internal,
    /// Something we depend on cannot be reached for now.
    Unavailable,
}

/// The error of every use case and handler.
#[derive(Debug)]
pub struct ApiError {
    pub kind: Kind,
    pub code: String,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Response headers the answer carries (lowercase names), e.g. `retry-after`.
    pub headers: Vec<(&'static str, String)>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.kind.status(), self.code, self.detail)
    }
}

impl Kind {
    /// The HTTP status code that answers this kind of failure.
    pub fn status(self) -> u16 {
        match self {
            Kind::BadRequest => 400,
            Kind::Unauthorized => 401,
            Kind::Forbidden => 403,
            Kind::NotFound => 404,
            Kind::MethodNotAllowed => 405,
            Kind::Conflict => 409,
            Kind::Gone => 410,
            Kind::PreconditionFailed => 412,
            Kind::PayloadTooLarge => 413,
            Kind::UriTooLong => 414,
            Kind::UnsupportedMediaType => 415,
            Kind::RangeNotSatisfiable => 416,
            Kind::Invalid => 422,
            Kind::PreconditionRequired => 428,
            Kind::Internal => 500,
            Kind::Unavailable => 503,
        }
    }
}

impl ApiError {
    pub fn new(kind: Kind, code: &str, detail: impl Into<String>) -> ApiError {
        ApiError { kind, code: code.to_string(), detail: detail.into(), errors: Vec::new(), headers: Vec::new() }
    }

    /// Adds a response header (`name` in lowercase) to the answer.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> ApiError {
        self.headers.push((name, value.into()));
        self
    }

    pub fn bad_request(code: &str, detail: impl Into<String>) -> ApiError {
        ApiError::new(Kind::BadRequest, code, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        let detail = detail.into();
        let challenge = format!(
            "Bearer realm=\"pactum\", error=\"invalid_token\", error_description=\"{}\"",
            detail.replace('"', "'")
        );
        ApiError::new(Kind::Unauthorized, "unauthorized", detail).with_header("www-authenticate", challenge)
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(Kind::Forbidden, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(Kind::NotFound, "not_found", detail)
    }

    pub fn conflict(code: &str, detail: impl Into<String>) -> ApiError {
        ApiError::new(Kind::Conflict, code, detail)
    }

    pub fn precondition_failed(detail: impl Into<String>) -> ApiError {
        ApiError::new(Kind::PreconditionFailed, "precondition_failed", detail)
    }

    /// Invalid input, listing every invalid field.
    pub fn validation(errors: Vec<FieldError>) -> ApiError {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", errors.len()),
        };
        let mut e = ApiError::new(Kind::Invalid, "validation_failed", detail);
        e.errors = errors;
        e
    }

    /// Invalid input in a single field.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> ApiError {
        ApiError::validation(vec![FieldError::new(field, code, message)])
    }

    pub fn unavailable() -> ApiError {
        ApiError::new(Kind::Unavailable, "database_unavailable", "the database cannot be reached; try again shortly")
            .with_header("retry-after", "5")
    }

    /// A fault on our side: logged with its cause, answered without it.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(cause = %cause, "internal error");
        ApiError::new(Kind::Internal, "internal_error", "an internal error occurred; it has been logged")
    }
}

/// The code of a conflict with a concurrent write that running the request again would get past.
pub const CONCURRENT_UPDATE: &str = "concurrent_update";

/// A failure that running the whole transaction again may cure: the database broke a
/// deadlock or refused a serialization, or a conditional write found its row changed by a
/// concurrent one. `db::Db` runs such a transaction again (a bounded number of times).
pub trait Transient {
    fn is_transient(&self) -> bool;
}

impl Transient for ApiError {
    fn is_transient(&self) -> bool {
        self.kind == Kind::Conflict && self.code == CONCURRENT_UPDATE
    }
}

impl Transient for diesel::result::Error {
    fn is_transient(&self) -> bool {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match self {
            E::DatabaseError(K::SerializationFailure, _) => true,
            E::DatabaseError(K::Unknown, info) => info.message().contains("deadlock detected"),
            _ => false,
        }
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
                ApiError::conflict(CONCURRENT_UPDATE, "a concurrent change got in the way; retry the request")
            }
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, _) => {
                tracing::warn!(error = %e, "database connection lost");
                ApiError::unavailable()
            }
            E::DatabaseError(K::Unknown, info) if info.message().contains("deadlock detected") => {
                ApiError::conflict(CONCURRENT_UPDATE, "a concurrent change got in the way; retry the request")
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
