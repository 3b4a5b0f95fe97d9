//! Machine pushes from CRM and ERP systems: upserts of whole documents by external reference
//! and streamed NDJSON bulk imports. (Idempotency-Key handling for every POST lives in
//! `crate::idempotency`.)

pub mod api;
pub mod import;
pub mod input;
pub mod model;
pub mod service;

use crate::http::routing::resource;
use actix_web::web;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(api::put_contract, api::put_installation, api::import_contracts, api::import_installations),
    components(schemas(
        api::ContractDocument,
        api::CoveredInstallation,
        api::InstallationDocument,
        api::ContractPushOut,
        api::InstallationPushOut,
        model::Outcome,
        model::LineOutcome,
        model::LineReport,
        model::ImportReport
    ))
)]
pub struct IntegrationDoc;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/contracts/by-external-ref/{external_ref}").route(web::put().to(api::put_contract)))
        .service(resource("/installations/by-external-ref/{external_ref}").route(web::put().to(api::put_installation)))
        .service(resource("/imports/contracts").route(web::post().to(api::import_contracts)))
        .service(resource("/imports/installations").route(web::post().to(api::import_installations)));
}
