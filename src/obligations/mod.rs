//! Obligations: what contracts commit to, their schedules, and task generation.

pub mod api;
pub mod generation;
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
        .add(api::__path_preview, api::preview)
        .add(api::__path_generate, api::generate)
        .add(api::__path_history, api::history);
}
