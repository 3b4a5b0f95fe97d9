//! Liveness and readiness probes (no token needed).

use crate::db::Db;
use crate::error::ApiError;
use crate::http::Problem;
use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;
use serde::Serialize;
use utoipa::ToSchema;

/// Probe answer.
#[derive(Serialize, ToSchema)]
pub struct HealthOut {
    /// `live` or `ready`.
    pub status: String,
}

/// The process is up.
#[utoipa::path(get, operation_id = "get_liveness", path = "/health/live", tag = "health",
    responses((status = 200, description = "The process runs", body = HealthOut)))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(HealthOut { status: "live".into() })
}

/// The database is reachable.
#[utoipa::path(get, operation_id = "get_readiness", path = "/health/ready", tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = HealthOut),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn ready(db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    db.read(|c| c.batch_execute("SELECT 1").map_err(|_| ApiError::unavailable())).await?;
    Ok(HttpResponse::Ok().json(HealthOut { status: "ready".into() }))
}

/// The probes, each handler once: its route and its OpenAPI operation.
pub fn endpoints(e: &mut crate::http::routing::Endpoints) {
    e.add(__path_live, live).add(__path_ready, ready);
}
