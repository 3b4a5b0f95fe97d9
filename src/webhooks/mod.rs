//! Webhooks: admin subscriptions fed from the event log through a transactional outbox, signed
//! with HMAC-SHA256, delivered at least once and in order, retried with exponential backoff,
//! each webhook in its own lane; paused after failing for too long; a delivery may be skipped
//! on purpose.

pub mod api;
pub mod dispatcher;
pub mod input;
pub mod model;
pub mod service;
pub mod store;

use crate::http::routing::Endpoints;

/// The feature's endpoints, each handler once: its route and its OpenAPI operation.
pub fn endpoints(e: &mut Endpoints) {
    e.add(api::__path_create, api::create)
        .add(api::__path_list, api::list)
        .add(api::__path_get, api::get)
        .add(api::__path_update, api::update)
        .add(api::__path_delete, api::delete)
        .add(api::__path_deliveries, api::deliveries)
        .add(api::__path_redeliver, api::redeliver)
        .add(api::__path_skip, api::skip)
        .schema::<model::WebhookPayload>();
}
