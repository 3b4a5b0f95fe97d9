//! Installations (the installed base) and coverage: which contracts cover which installations.

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
        api::components,
        api::history,
        api::contracts_of,
        api::coverage,
        api::add_coverage,
        api::list_coverage,
        api::update_coverage,
        api::delete_coverage
    ),
    components(schemas(
        api::InstallationIn,
        api::InstallationPatch,
        api::InstallationOut,
        api::CoverageItem,
        api::CoverageIn,
        api::CoveragePatch,
        api::CoverageOut,
        api::CoverageWithContract,
        api::CoverageWithInstallation,
        api::ContractSummary,
        api::InstallationSummary,
        api::Via,
        api::CoveringContract,
        api::CoverageAnswer,
        model::Status,
        model::Location
    ))
)]
pub struct InstallationsDoc;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/installations").route(web::get().to(api::list)).route(web::post().to(api::create)))
        .service(
            resource("/installations/{id}")
                .route(web::get().to(api::get))
                .route(web::patch().to(api::update))
                .route(web::delete().to(api::delete)),
        )
        .service(resource("/installations/{id}/components").route(web::get().to(api::components)))
        .service(resource("/installations/{id}/history").route(web::get().to(api::history)))
        .service(resource("/installations/{id}/contracts").route(web::get().to(api::contracts_of)))
        .service(resource("/installations/{id}/coverage").route(web::get().to(api::coverage)))
        .service(
            resource("/contracts/{id}/installations")
                .route(web::get().to(api::list_coverage))
                .route(web::post().to(api::add_coverage)),
        )
        .service(
            resource("/contracts/{id}/installations/{installation_id}")
                .route(web::patch().to(api::update_coverage))
                .route(web::delete().to(api::delete_coverage)),
        );
}
