//! The event log: every write appends an event in its own transaction. It is each resource's
//! history and the change feed integrations poll.

pub mod api;
pub mod model;
pub mod store;

use actix_web::web;
use chrono::{DateTime, NaiveDate, Utc};

/// Who acts and when: what every change records, so every use case takes it.
pub struct Ctx<'a> {
    /// The token's `sub`, or `system` for background jobs.
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

impl Ctx<'_> {
    pub fn today(&self) -> NaiveDate {
        self.now.date_naive()
    }
}
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(api::feed), components(schemas(api::EventOut, model::Change)))]
pub struct EventsDoc;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(crate::http::routing::resource("/events").route(web::get().to(api::feed)));
}
