//! Obligations: what contracts commit to, their schedules, and task generation.

pub mod api;
pub mod generation;
pub mod input;
pub mod model;
pub mod service;
pub mod store;

use crate::http::routing::resource;
use actix_web::web;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(api::create, api::list, api::get, api::update, api::delete, api::preview, api::generate, api::history),
    components(schemas(
        api::ScheduleIn,
        api::ObligationIn,
        api::ObligationPatch,
        api::ObligationOut,
        api::OccurrenceOut,
        api::PreviewOut,
        service::GenerationReport,
        model::Scope
    ))
)]
pub struct ObligationsDoc;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/contracts/{id}/obligations").route(web::get().to(api::list)).route(web::post().to(api::create)),
    )
    .service(
        resource("/obligations/{id}")
            .route(web::get().to(api::get))
            .route(web::patch().to(api::update))
            .route(web::delete().to(api::delete)),
    )
    .service(resource("/obligations/{id}/preview").route(web::get().to(api::preview)))
    .service(resource("/obligations/{id}/generate").route(web::post().to(api::generate)))
    .service(resource("/obligations/{id}/history").route(web::get().to(api::history)));
}
