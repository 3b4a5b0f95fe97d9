//! Resources with a proper 405: a wrong method on a known path answers 405 with the `Allow`
//! header listing the methods the OpenAPI document declares for that path.

use super::errors::ApiError;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, Resource, ResponseError};
use std::collections::HashMap;

/// Path template (as in the OpenAPI document) → allowed methods.
#[derive(Clone, Debug, Default)]
pub struct AllowedMethods(pub HashMap<String, Vec<&'static str>>);

impl AllowedMethods {
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> AllowedMethods {
        let mut map = HashMap::new();
        for (path, item) in doc.paths.paths.iter() {
            let mut methods = Vec::new();
            let ops = [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ];
            for (name, present) in ops {
                if present {
                    methods.push(name);
                }
            }
            map.insert(path.clone(), methods);
        }
        AllowedMethods(map)
    }
}

/// A resource whose unmatched methods get a 405 problem with `Allow`.
pub fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed(req: HttpRequest) -> actix_web::HttpResponse {
    let pattern = req.match_pattern().unwrap_or_else(|| req.path().to_string());
    let allowed =
        req.app_data::<web::Data<AllowedMethods>>().and_then(|a| a.0.get(&pattern).cloned()).unwrap_or_default();
    let allow = allowed.join(", ");
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not supported on {}; allowed: {}", req.method(), req.path(), allow),
    )
    .with_header(header::ALLOW, allow)
    .error_response()
}
