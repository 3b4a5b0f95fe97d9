//! Workflows: versioned definitions of steps, and instances running on dossiers whose active
//! step is a task in the worklist.

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
        api::create,
        api::list,
        api::get,
        api::get_version,
        api::update,
        api::start,
        api::list_instances,
        api::get_instance,
        api::cancel,
        api::instance_history
    ),
    components(schemas(
        api::WorkflowIn,
        api::WorkflowPatch,
        api::WorkflowOut,
        api::StartIn,
        api::StepOut,
        api::InstanceOut,
        api::InstanceWithSteps,
        model::Step,
        model::StepAssignee,
        model::Outcome,
        model::InstanceStatus,
        model::StepStatus
    ))
)]
pub struct WorkflowsDoc;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/workflows").route(web::get().to(api::list)).route(web::post().to(api::create)))
        .service(resource("/workflows/{id}").route(web::get().to(api::get)).route(web::patch().to(api::update)))
        .service(resource("/workflows/{id}/versions/{version}").route(web::get().to(api::get_version)))
        .service(resource("/dossiers/{id}/workflows").route(web::post().to(api::start)))
        .service(resource("/workflow-instances").route(web::get().to(api::list_instances)))
        .service(resource("/workflow-instances/{id}").route(web::get().to(api::get_instance)))
        .service(resource("/workflow-instances/{id}/cancel").route(web::post().to(api::cancel)))
        .service(resource("/workflow-instances/{id}/history").route(web::get().to(api::instance_history)));
}
