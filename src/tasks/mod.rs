//! The one worklist: tasks from planned obligations, service actions and workflow steps, with
//! a calendar feed.

pub mod api;
pub mod input;
pub mod model;
pub mod service;
pub mod store;

use crate::http::routing::Endpoints;

/// The feature's endpoints, each handler once: its route and its OpenAPI operation.
pub fn endpoints(e: &mut Endpoints) {
    e.add(api::__path_list, api::list)
        .add(api::__path_get, api::get)
        .add(api::__path_update, api::update)
        .add(api::__path_start, api::start)
        .add(api::__path_complete, api::complete)
        .add(api::__path_skip, api::skip)
        .add(api::__path_cancel, api::cancel)
        .add(api::__path_history, api::history)
        .add(api::__path_calendar, api::calendar)
        .add(api::__path_create_feed_token, api::create_feed_token)
        .add(api::__path_list_feed_tokens, api::list_feed_tokens)
        .add(api::__path_revoke_feed_token, api::revoke_feed_token)
        .schema::<api::AssigneeFilter>();
}
