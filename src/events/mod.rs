//! The event log: every write appends an event in its own transaction. It is each resource's
//! history and the change feed integrations poll.

pub mod api;
pub mod model;
pub mod positions;
pub mod store;

use crate::http::routing::Endpoints;
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

/// What one reader may see of the change feed beyond being authenticated. The kernel knows no
/// feature: a feature whose records are not open to every token gives one at start-up
/// ([`FeedScopes`]), and the feed applies them all.
#[derive(Clone, Copy)]
pub struct FeedScope {
    /// The condition the reader's events must meet, in SQL so the feed filters in its query;
    /// `None`: no limit for this reader.
    pub condition: fn(
        &mut crate::db::DbConnection,
        &crate::auth::Principal,
    ) -> Result<Option<store::EventCondition>, crate::error::ApiError>,
    /// Takes out of a listed event the values the reader may not see.
    pub redact: fn(&crate::auth::Principal, &mut api::EventOut),
}

/// The feed scopes of every feature, as app data of the feed endpoint.
#[derive(Clone, Default)]
pub struct FeedScopes(pub Vec<FeedScope>);

/// The feature's endpoints, each handler once: its route and its OpenAPI operation.
pub fn endpoints(e: &mut Endpoints) {
    e.add(api::__path_feed, api::feed);
}
