//! Documents attached to contracts, installations, service calls and dossiers: uploads
//! (streamed into an object store, content-addressed), versions, downloads with ranges, and
//! documents pushed with their contract.

pub mod api;
pub mod blobs;
pub mod input;
pub mod model;
pub mod retention;
pub mod service;
pub mod storage;
pub mod store;
pub mod templates;
pub mod upload;

use crate::http::routing::Endpoints;

/// The feature's endpoints, each handler once: its route and its OpenAPI operation.
pub fn endpoints(e: &mut Endpoints) {
    e.add(api::__path_upload_contract_document, api::upload_contract_document)
        .add(api::__path_list_contract_documents, api::list_contract_documents)
        .add(api::__path_upload_installation_document, api::upload_installation_document)
        .add(api::__path_list_installation_documents, api::list_installation_documents)
        .add(api::__path_upload_service_call_document, api::upload_service_call_document)
        .add(api::__path_list_service_call_documents, api::list_service_call_documents)
        .add(api::__path_upload_dossier_document, api::upload_dossier_document)
        .add(api::__path_list_dossier_documents, api::list_dossier_documents)
        .add(api::__path_get, api::get)
        .add(api::__path_delete, api::delete)
        .add(api::__path_history, api::history)
        .add(api::__path_versions, api::versions)
        .add(api::__path_add_version, api::add_version)
        .add(api::__path_content, api::content)
        .add(api::__path_version_content, api::version_content)
        .add(api::__path_push, api::push)
        .add(api::__path_create_template, api::create_template)
        .add(api::__path_list_templates, api::list_templates)
        .add(api::__path_get_template, api::get_template)
        .add(api::__path_update_template, api::update_template)
        .add(api::__path_delete_template, api::delete_template)
        .add(api::__path_generate, api::generate);
}
