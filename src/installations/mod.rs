//! Installations (the installed base) and coverage: which contracts cover which installations.

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
        .add(api::__path_update, api::update)
        .add(api::__path_delete, api::delete)
        .add(api::__path_components, api::components)
        .add(api::__path_history, api::history)
        .add(api::__path_contracts_of, api::contracts_of)
        .add(api::__path_coverage, api::coverage)
        .add(api::__path_add_coverage, api::add_coverage)
        .add(api::__path_list_coverage, api::list_coverage)
        .add(api::__path_update_coverage, api::update_coverage)
        .add(api::__path_delete_coverage, api::delete_coverage);
}
