//! The one worklist: tasks from planned obligations, service actions and workflow steps, with
//! a calendar feed.

pub mod api;
pub mod input;
pub mod model;
pub mod service;
pub mod store;

use crate::http::routing::resource;
use actix_web::web;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(
        api::list,
        api::get,
        api::update,
        api::start,
        api::complete,
        api::skip,
        api::cancel,
        api::history,
        api::calendar,
        api::create_feed_token,
        api::list_feed_tokens,
        api::revoke_feed_token
    ),
    components(schemas(
        api::TaskOut,
        api::TaskPatch,
        api::ActIn,
        api::NoteIn,
        api::FeedTokenOut,
        api::FeedTokenCreated,
        api::AssigneeFilter,
        model::Assignee,
        model::Status,
        model::Kind
    ))
)]
pub struct TasksDoc;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/tasks").route(web::get().to(api::list)))
        .service(resource("/tasks.ics").route(web::get().to(api::calendar)))
        .service(resource("/tasks/{id}").route(web::get().to(api::get)).route(web::patch().to(api::update)))
        .service(resource("/tasks/{id}/start").route(web::post().to(api::start)))
        .service(resource("/tasks/{id}/complete").route(web::post().to(api::complete)))
        .service(resource("/tasks/{id}/skip").route(web::post().to(api::skip)))
        .service(resource("/tasks/{id}/cancel").route(web::post().to(api::cancel)))
        .service(resource("/tasks/{id}/history").route(web::get().to(api::history)))
        .service(
            resource("/feed-tokens")
                .route(web::get().to(api::list_feed_tokens))
                .route(web::post().to(api::create_feed_token)),
        )
        .service(resource("/feed-tokens/{id}").route(web::delete().to(api::revoke_feed_token)));
}
