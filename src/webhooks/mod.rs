//! Webhooks: admin subscriptions fed from the event log through a transactional outbox, signed
//! with HMAC-SHA256, delivered at least once and in order, retried with exponential backoff,
//! each webhook in its own lane; paused after failing for too long; a delivery may be skipped
//! on purpose.

pub mod api;
pub mod dispatcher;
pub mod model;
pub mod service;
pub mod store;

use crate::http::routing::resource;
use actix_web::web;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(api::create, api::list, api::get, api::update, api::delete, api::deliveries, api::redeliver, api::skip),
    components(schemas(
        api::WebhookIn,
        api::WebhookPatch,
        api::WebhookOut,
        api::WebhookCreated,
        api::WebhookStatus,
        api::DeliveryOut,
        api::DeliveryStatus,
        model::WebhookPayload
    ))
)]
pub struct WebhooksDoc;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/webhooks").route(web::get().to(api::list)).route(web::post().to(api::create)))
        .service(
            resource("/webhooks/{id}")
                .route(web::get().to(api::get))
                .route(web::patch().to(api::update))
                .route(web::delete().to(api::delete)),
        )
        .service(resource("/webhooks/{id}/deliveries").route(web::get().to(api::deliveries)))
        .service(resource("/webhooks/{id}/deliveries/{delivery_id}/redeliver").route(web::post().to(api::redeliver)))
        .service(resource("/webhooks/{id}/deliveries/{delivery_id}/skip").route(web::post().to(api::skip)));
}
