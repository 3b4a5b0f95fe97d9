//! Service calls: unplanned work on an installation, its entitlement under a contract's service
//! level, the SLA clocks, and the service actions it is turned into.

pub mod api;
pub mod business_hours;
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
        api::create,
        api::list,
        api::get,
        api::history,
        api::acknowledge,
        api::start,
        api::hold,
        api::resume,
        api::resolve,
        api::close,
        api::cancel,
        api::add_actions,
        api::list_actions,
        api::of_installation,
        api::service_level
    ),
    components(schemas(
        api::ServiceCallIn,
        api::ServiceCallOut,
        api::Reporter,
        api::ActionIn,
        api::ActionsIn,
        api::NoteIn,
        api::ServiceLevelInForce,
        model::Priority,
        model::Status,
        model::Channel,
        model::ServiceLevel,
        model::Times,
        model::BusinessHours,
        model::Window,
        model::Day
    ))
)]
pub struct ServiceCallsDoc;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/service-calls").route(web::get().to(api::list)).route(web::post().to(api::create)))
        .service(resource("/service-calls/{id}").route(web::get().to(api::get)))
        .service(resource("/service-calls/{id}/history").route(web::get().to(api::history)))
        .service(resource("/service-calls/{id}/acknowledge").route(web::post().to(api::acknowledge)))
        .service(resource("/service-calls/{id}/start").route(web::post().to(api::start)))
        .service(resource("/service-calls/{id}/hold").route(web::post().to(api::hold)))
        .service(resource("/service-calls/{id}/resume").route(web::post().to(api::resume)))
        .service(resource("/service-calls/{id}/resolve").route(web::post().to(api::resolve)))
        .service(resource("/service-calls/{id}/close").route(web::post().to(api::close)))
        .service(resource("/service-calls/{id}/cancel").route(web::post().to(api::cancel)))
        .service(
            resource("/service-calls/{id}/actions")
                .route(web::get().to(api::list_actions))
                .route(web::post().to(api::add_actions)),
        )
        .service(resource("/installations/{id}/service-calls").route(web::get().to(api::of_installation)))
        .service(resource("/contracts/{id}/service-level").route(web::get().to(api::service_level)));
}
