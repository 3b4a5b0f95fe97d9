//! Workflows: versioned definitions of steps, and instances running on dossiers whose active
//! step is a task in the worklist.

pub mod api;
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
        .add(api::__path_get_version, api::get_version)
        .add(api::__path_update, api::update)
        .add(api::__path_start, api::start)
        .add(api::__path_list_instances, api::list_instances)
        .add(api::__path_get_instance, api::get_instance)
        .add(api::__path_cancel, api::cancel)
        .add(api::__path_instance_history, api::instance_history);
}
