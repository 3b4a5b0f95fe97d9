//! Service calls: unplanned work on an installation, its entitlement under a contract's service
//! level, the SLA clocks, and the service actions it is turned into.

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
        .add(api::__path_history, api::history)
        .add(api::__path_acknowledge, api::acknowledge)
        .add(api::__path_start, api::start)
        .add(api::__path_hold, api::hold)
        .add(api::__path_resume, api::resume)
        .add(api::__path_resolve, api::resolve)
        .add(api::__path_close, api::close)
        .add(api::__path_cancel, api::cancel)
        .add(api::__path_add_actions, api::add_actions)
        .add(api::__path_list_actions, api::list_actions)
        .add(api::__path_of_installation, api::of_installation)
        .add(api::__path_service_level, api::service_level);
}
