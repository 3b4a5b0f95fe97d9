//! Attribute definitions (user-defined characteristics) and validation of attribute values.

pub mod api;
pub mod model;
pub mod service;
pub mod store;

use crate::http::routing::resource;
use actix_web::web;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(api::create, api::list, api::get, api::update, api::delete),
    components(schemas(
        api::DefinitionIn,
        api::DefinitionPatch,
        api::DefinitionOut,
        api::AttributeOption,
        model::EntityKind,
        model::DataType
    ))
)]
pub struct AttributesDoc;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/attribute-definitions").route(web::get().to(api::list)).route(web::post().to(api::create)))
        .service(
            resource("/attribute-definitions/{id}")
                .route(web::get().to(api::get))
                .route(web::patch().to(api::update))
                .route(web::delete().to(api::delete)),
        );
}
