//! Dossiers: user-modelled, versioned dossier types with their attribute schema and rules;
//! dossiers (long-lived customer case files) with history and `as_of`; posted business events;
//! rule firings (exactly once per rule, dossier and occurrence) and date triggers.

pub mod api;
pub mod input;
pub mod model;
pub mod service;
pub mod store;

use crate::http::routing::Endpoints;

/// The feature's endpoints, each handler once: its route and its OpenAPI operation.
pub fn endpoints(e: &mut Endpoints) {
    e.add(api::__path_create_type, api::create_type)
        .add(api::__path_list_types, api::list_types)
        .add(api::__path_get_type, api::get_type)
        .add(api::__path_get_type_version, api::get_type_version)
        .add(api::__path_update_type, api::update_type)
        .add(api::__path_create, api::create)
        .add(api::__path_list, api::list)
        .add(api::__path_get, api::get)
        .add(api::__path_update, api::update)
        .add(api::__path_close, api::close)
        .add(api::__path_reopen, api::reopen)
        .add(api::__path_history, api::history)
        .add(api::__path_post_event, api::post_event)
        .add(api::__path_list_events, api::list_events)
        .add(api::__path_list_firings, api::list_firings)
        .add(api::__path_list_triggers, api::list_triggers);
}
