//! Contracts: CRUD, lifecycle verbs, hierarchy and history.

pub mod api;
pub mod business_hours;
pub mod input;
pub mod model;
pub mod service;
pub mod service_level;
pub mod store;

use crate::http::routing::Endpoints;

/// The feature's endpoints, each handler once: its route and its OpenAPI operation.
pub fn endpoints(e: &mut Endpoints) {
    e.add(api::__path_create, api::create)
        .add(api::__path_list, api::list)
        .add(api::__path_get, api::get)
        .add(api::__path_update, api::update)
        .add(api::__path_delete, api::delete)
        .add(api::__path_activate, api::activate)
        .add(api::__path_suspend, api::suspend)
        .add(api::__path_terminate, api::terminate)
        .add(api::__path_renew, api::renew)
        .add(api::__path_children, api::children)
        .add(api::__path_ancestors, api::ancestors)
        .add(api::__path_tree, api::tree)
        .add(api::__path_history, api::history);
}
