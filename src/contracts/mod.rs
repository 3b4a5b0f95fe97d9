//! Contracts: CRUD, lifecycle verbs, hierarchy and history.

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
        api::create,
        api::list,
        api::get,
        api::update,
        api::delete,
        api::activate,
        api::suspend,
        api::terminate,
        api::renew,
        api::children,
        api::ancestors,
        api::tree,
        api::history
    ),
    components(schemas(
        api::ContractIn,
        api::ContractPatch,
        api::ContractOut,
        api::RenewalTerms,
        api::RenewalPatch,
        api::RenewalOut,
        api::TerminateIn,
        api::RenewIn,
        api::TreeNode,
        model::Status,
        model::Reminder,
        model::Anchor
    ))
)]
pub struct ContractsDoc;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/contracts").route(web::get().to(api::list)).route(web::post().to(api::create)))
        .service(
            resource("/contracts/{id}")
                .route(web::get().to(api::get))
                .route(web::patch().to(api::update))
                .route(web::delete().to(api::delete)),
        )
        .service(resource("/contracts/{id}/activate").route(web::post().to(api::activate)))
        .service(resource("/contracts/{id}/suspend").route(web::post().to(api::suspend)))
        .service(resource("/contracts/{id}/terminate").route(web::post().to(api::terminate)))
        .service(resource("/contracts/{id}/renew").route(web::post().to(api::renew)))
        .service(resource("/contracts/{id}/children").route(web::get().to(api::children)))
        .service(resource("/contracts/{id}/ancestors").route(web::get().to(api::ancestors)))
        .service(resource("/contracts/{id}/tree").route(web::get().to(api::tree)))
        .service(resource("/contracts/{id}/history").route(web::get().to(api::history)));
}
