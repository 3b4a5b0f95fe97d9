//! The change feed endpoint and the history response every resource shares.

use super::model::Changes;
use super::store::{self, EventRow};
use crate::auth::Principal;
use crate::clock::as_utc;
use crate::db::Db;
use crate::http::pagination::{within_budget, PageRequest, PAGE_BYTES};
use crate::http::{ApiError, Cursor, QueryPairs};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// One page of the change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedPage {
    /// The events of this page, in `sequence` order.
    pub items: Vec<EventOut>,
    /// Pass as `after` to read on. Never `null`: on an empty page it is the position you read
    /// from, so keep polling with it.
    pub next_cursor: String,
}

/// One recorded change of a resource.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    /// Position of the event in the log. The feed lists events by it, and no event ever
    /// appears in the feed behind one already listed.
    pub sequence: i64,
    /// Kind of resource, e.g. `contract`, `attribute_definition`.
    pub entity_type: String,
    /// Id of the resource.
    pub entity_id: String,
    /// What happened: `created`, `updated`, `deleted`, `activated`, `renewed`, …
    pub action: String,
    /// The `sub` of the user (or `system` for background jobs) who did it.
    pub actor: String,
    /// When it happened (UTC).
    pub occurred_at: DateTime<Utc>,
    /// Changed fields with their old and new values.
    #[schema(value_type = std::collections::BTreeMap<String, super::model::Change>)]
    pub changes: Changes,
}

impl EventOut {
    /// The event at its feed position (only settled events are shown, see
    /// [`super::store::settle`]).
    fn at(row: EventRow, position: i64) -> EventOut {
        EventOut {
            sequence: position,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            action: row.action,
            actor: row.actor,
            occurred_at: as_utc(row.occurred_at),
            changes: row.changes.into_inner(),
        }
    }
}

/// The events of a read with their feed positions, up to the first that has none yet. The
/// feed reads only positioned events; a history may end in events that committed after the
/// positions were given, which per resource are its newest: they come with the next read.
fn positioned(rows: Vec<EventRow>) -> Vec<(i64, EventRow)> {
    rows.into_iter().map_while(|r| Some((r.position?, r))).collect()
}

fn decode_position(raw: Option<String>) -> Result<i64, ApiError> {
    match raw {
        None => Ok(0),
        Some(c) => Cursor::decode(&c)?
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request("invalid_cursor", "the cursor is not one this service handed out")),
    }
}

/// The change feed for integrations.
///
/// Events in the order of their `sequence`, each once its write has committed. Poll with the
/// `next_cursor` of the previous answer as `after`: no event is ever missed or repeated.
/// `next_cursor` is never `null` here; on an empty page it is the position you asked from, so
/// keep polling with it.
///
/// The feed carries what the caller may see: the entries of a case file (`dossier`,
/// `dossier_event`, `rule_firing`) only to those who may read the dossier now, and a service
/// call reporter's phone and e-mail only to admin, viewer, service_agent and integration.
#[utoipa::path(
    get, operation_id = "list_events",
    path = "/api/v1/events",
    tag = "events",
    params(
        ("after" = Option<String>, Query, description = "Position to continue after: the `next_cursor` of the previous page. Absent: from the beginning."),
        ("entity_type" = Option<String>, Query, description = "Only events of this resource kind, e.g. `contract`."),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50).", minimum = 1, maximum = 500),
    ),
    responses(
        (status = 200, description = "A page of events", body = FeedPage),
    ),
    security(("bearer" = []))
)]
pub async fn feed(
    who: Principal,
    db: web::Data<Db>,
    scopes: web::Data<super::FeedScopes>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let after = decode_position(q.take("after"))?;
    let entity_type = q.take("entity_type");
    let page = PageRequest::take(&mut q)?;
    if page.after.is_some() {
        return Err(ApiError::bad_request("unknown_parameter", "the feed takes `after`, not `cursor`"));
    }
    q.finish()?;
    let (in_query, reader) = (scopes.0.clone(), who.clone());
    super::positions::settled(&db).await?;
    let rows = db
        .read(move |c| {
            let mut conditions = Vec::new();
            for scope in &in_query {
                conditions.extend((scope.condition)(c, &reader)?);
            }
            store::feed_where(c, after, entity_type.as_deref(), conditions, page.limit).map_err(ApiError::from)
        })
        .await?;
    let redacted = |(position, r): (i64, EventRow)| {
        let mut e = EventOut::at(r, position);
        for scope in &scopes.0 {
            (scope.redact)(&who, &mut e);
        }
        e
    };
    let (items, last) = within_budget(positioned(rows), PAGE_BYTES, |(p, _)| p.to_string(), redacted);
    let last = last.unwrap_or_else(|| after.to_string());
    Ok(HttpResponse::Ok().json(FeedPage { items, next_cursor: Cursor::encode(&last) }))
}

/// The history page of one resource, oldest first. `exists` tells whether the resource is
/// there now; a resource that never existed is a 404, a deleted one keeps its history.
pub async fn history(
    db: &Db,
    req: &HttpRequest,
    entity_type: &'static str,
    entity_id: String,
    exists: fn(&mut crate::db::DbConnection, &str) -> diesel::QueryResult<bool>,
) -> Result<HttpResponse, ApiError> {
    history_redacted(db, req, entity_type, entity_id, exists, |_| {}).await
}

/// [`history`], with `redact` taking out of each event the values the reader may not see.
pub async fn history_redacted(
    db: &Db,
    req: &HttpRequest,
    entity_type: &'static str,
    entity_id: String,
    exists: fn(&mut crate::db::DbConnection, &str) -> diesel::QueryResult<bool>,
    redact: impl Fn(&mut EventOut),
) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(req)?;
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let after = match &page.after {
        None => 0,
        Some(p) => p
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request("invalid_cursor", "the cursor is not one this service handed out"))?,
    };
    let limit = page.limit;
    super::positions::settled(db).await?;
    let rows = db
        .read(move |c| {
            let rows = store::history(c, entity_type, &entity_id, after, limit + 1)?;
            if rows.is_empty() && after == 0 && !exists(c, &entity_id)? {
                return Err(ApiError::not_found(format!("{entity_type} {entity_id} does not exist")));
            }
            Ok(rows)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page_within(
        positioned(rows),
        PAGE_BYTES,
        |(_, r)| r.id.to_string(),
        |(position, r)| {
            let mut e = EventOut::at(r, position);
            redact(&mut e);
            e
        },
    )))
}
