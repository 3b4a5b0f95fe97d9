//! Dossiers: user-modelled, versioned dossier types with their attribute schema and rules;
//! dossiers (long-lived customer case files) with history and `as_of`; posted business events;
//! rule firings (exactly once per rule, dossier and occurrence) and date triggers.

pub mod api;
pub mod input;
pub mod model;
pub mod service;
pub mod store;

use crate::http::routing::resource;
use actix_web::web;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(
        api::create_type,
        api::list_types,
        api::get_type,
        api::get_type_version,
        api::update_type,
        api::create,
        api::list,
        api::get,
        api::update,
        api::close,
        api::reopen,
        api::history,
        api::post_event,
        api::list_events,
        api::list_firings,
        api::list_triggers
    ),
    components(schemas(
        api::DossierTypeIn,
        api::DossierTypePatch,
        api::DossierTypeOut,
        api::DossierIn,
        api::DossierPatch,
        api::DossierStatus,
        api::DossierOut,
        api::EventIn,
        api::BusinessEventOut,
        api::FiringOut,
        api::PostedOut,
        api::TriggerOut,
        model::AttributeDef,
        model::RuleDef,
        model::Trigger,
        model::Condition,
        model::Side,
        model::Op,
        model::TriggerKind,
        model::TriggerStatus
    ))
)]
pub struct DossiersDoc;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/dossier-types").route(web::get().to(api::list_types)).route(web::post().to(api::create_type)),
    )
    .service(
        resource("/dossier-types/{id}").route(web::get().to(api::get_type)).route(web::patch().to(api::update_type)),
    )
    .service(resource("/dossier-types/{id}/versions/{version}").route(web::get().to(api::get_type_version)))
    .service(resource("/dossiers").route(web::get().to(api::list)).route(web::post().to(api::create)))
    .service(resource("/dossiers/{id}").route(web::get().to(api::get)).route(web::patch().to(api::update)))
    .service(resource("/dossiers/{id}/close").route(web::post().to(api::close)))
    .service(resource("/dossiers/{id}/reopen").route(web::post().to(api::reopen)))
    .service(resource("/dossiers/{id}/history").route(web::get().to(api::history)))
    .service(
        resource("/dossiers/{id}/events").route(web::get().to(api::list_events)).route(web::post().to(api::post_event)),
    )
    .service(resource("/dossiers/{id}/rule-firings").route(web::get().to(api::list_firings)))
    .service(resource("/dossiers/{id}/date-triggers").route(web::get().to(api::list_triggers)));
}
