//! HTTP plumbing shared by every feature: problem+json errors, the JSON body and query
//! extractors, cursor pagination, ETags, request ids, and the endpoints' registration (each
//! handler's route and OpenAPI operation at once, 405 with `Allow`).

pub mod connection;
pub mod errors;
pub mod etag;
pub mod json;
pub mod openapi;
pub mod pagination;
pub mod patch;
pub mod push;
pub mod query;
pub mod request_id;
pub mod routing;
pub mod sanitize;

pub use errors::{check_text, check_year, ApiError, FieldError, Problem};
pub use etag::IfMatch;
pub use json::ApiJson;
pub use pagination::{Cursor, Page};
pub use patch::Patch;
pub use query::QueryPairs;
