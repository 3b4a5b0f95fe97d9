//! Documents attached to contracts, installations, service calls and dossiers: uploads
//! (streamed into an object store, content-addressed), versions, downloads with ranges, and
//! documents pushed with their contract.

pub mod api;
pub mod blobs;
pub mod model;
pub mod retention;
pub mod service;
pub mod storage;
pub mod store;
pub mod templates;
pub mod upload;

use crate::http::routing::resource;
use actix_web::web;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(
        api::upload_contract_document,
        api::list_contract_documents,
        api::upload_installation_document,
        api::list_installation_documents,
        api::upload_service_call_document,
        api::list_service_call_documents,
        api::upload_dossier_document,
        api::list_dossier_documents,
        api::get,
        api::delete,
        api::history,
        api::versions,
        api::add_version,
        api::content,
        api::version_content,
        api::push,
        api::create_template,
        api::list_templates,
        api::get_template,
        api::update_template,
        api::delete_template,
        api::generate
    ),
    components(schemas(
        api::DocumentOut,
        api::DocumentVersionOut,
        api::DocumentPushOut,
        api::DocumentForm,
        api::FileBytes,
        api::TemplateIn,
        api::TemplatePatch,
        api::TemplateOut,
        api::GenerateIn,
        model::OwnerType
    ))
)]
pub struct DocumentsDoc;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/contracts/by-external-ref/{external_ref}/documents/{document_ref}").route(web::put().to(api::push)),
    )
    .service(resource("/contracts/{id}/documents/generate").route(web::post().to(api::generate)))
    .service(
        resource("/document-templates")
            .route(web::get().to(api::list_templates))
            .route(web::post().to(api::create_template)),
    )
    .service(
        resource("/document-templates/{id}")
            .route(web::get().to(api::get_template))
            .route(web::patch().to(api::update_template))
            .route(web::delete().to(api::delete_template)),
    )
    .service(
        resource("/contracts/{id}/documents")
            .route(web::get().to(api::list_contract_documents))
            .route(web::post().to(api::upload_contract_document)),
    )
    .service(
        resource("/installations/{id}/documents")
            .route(web::get().to(api::list_installation_documents))
            .route(web::post().to(api::upload_installation_document)),
    )
    .service(
        resource("/service-calls/{id}/documents")
            .route(web::get().to(api::list_service_call_documents))
            .route(web::post().to(api::upload_service_call_document)),
    )
    .service(
        resource("/dossiers/{id}/documents")
            .route(web::get().to(api::list_dossier_documents))
            .route(web::post().to(api::upload_dossier_document)),
    )
    .service(resource("/documents/{id}").route(web::get().to(api::get)).route(web::delete().to(api::delete)))
    .service(resource("/documents/{id}/history").route(web::get().to(api::history)))
    .service(
        resource("/documents/{id}/versions")
            .route(web::get().to(api::versions))
            .route(web::post().to(api::add_version)),
    )
    .service(resource("/documents/{id}/content").route(web::get().to(api::content)))
    .service(resource("/documents/{id}/versions/{number}/content").route(web::get().to(api::version_content)));
}
