//! Webhook use cases, each inside the caller's transaction: subscription changes with their
//! event, filling the outbox from the event log, and the events that the passing of time
//! derives (a task overdue, a service-level deadline breached).

use super::model::{self, event_type};
use super::store::{self, WebhookRow};
use crate::db::DbConnection;
use crate::events::model::{Change, Changes};
use crate::events::store::{self as events, NewEvent};
use crate::events::Ctx;
use crate::http::{ApiError, IfMatch};
use crate::service_calls::store::Breach;
use serde_json::{json, Value};

pub const ENTITY: &str = "webhook";

/// Events read from the log per outbox step.
pub const OUTBOX_BATCH: i64 = 500;

/// A webhook as its history records it (readable by anyone who reads the change feed): never
/// the secret, only its hint, and the URL without its query, which may carry a token.
pub fn snapshot(r: &WebhookRow) -> Value {
    let url = match r.url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => r.url.clone(),
    };
    json!({
        "url": url, "description": r.description, "event_types": r.patterns(), "active": r.active,
        "secret_hint": model::secret_hint(&r.secret),
    })
}

pub fn load(conn: &mut DbConnection, id: &str) -> Result<WebhookRow, ApiError> {
    store::get(conn, id)?.ok_or_else(|| ApiError::not_found(format!("webhook {id} does not exist")))
}

/// Stores a new webhook. It starts after the newest event: it hears what happens from now on.
pub fn create(conn: &mut DbConnection, ctx: &Ctx, mut row: WebhookRow) -> Result<WebhookRow, ApiError> {
    row.last_event_id = store::last_event_id(conn)?;
    store::insert(conn, &row)?;
    events::record(conn, ctx, ENTITY, &row.id, "created", &Value::Null, &snapshot(&row))?;
    Ok(row)
}

/// Stores a changed webhook (`change` edits a copy of the stored one and validates it).
pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    if_match: &IfMatch,
    change: impl FnOnce(&mut WebhookRow) -> Result<(), ApiError>,
) -> Result<WebhookRow, ApiError> {
    let old = load(conn, id)?;
    if_match.check(old.version)?;
    let mut new = old.clone();
    change(&mut new)?;
    if new == old {
        return Ok(old);
    }
    new.version = old.version + 1;
    new.updated_at = ctx.now.naive_utc();
    if !store::update(conn, &new, old.version)? {
        return Err(ApiError::conflict("concurrent_update", "the webhook changed meanwhile; retry"));
    }
    events::record(conn, ctx, ENTITY, id, "updated", &snapshot(&old), &snapshot(&new))?;
    Ok(new)
}

/// Deletes a webhook with its delivery records.
pub fn delete(conn: &mut DbConnection, ctx: &Ctx, id: &str, if_match: &IfMatch) -> Result<(), ApiError> {
    let old = load(conn, id)?;
    if_match.check(old.version)?;
    store::delete(conn, id)?;
    events::record(conn, ctx, ENTITY, id, "deleted", &snapshot(&old), &Value::Null)?;
    Ok(())
}

/// What one outbox step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// Events read from the log.
    pub scanned: usize,
    /// Deliveries made for the subscribed ones.
    pub queued: usize,
}

/// Moves up to [`OUTBOX_BATCH`] events past a webhook's cursor into its outbox: a delivery for
/// each subscribed type, and the cursor after the last one read — in one transaction, which on
/// PostgreSQL holds the write lock, so no event with a smaller id can still commit later.
/// Inactive webhooks keep their cursor and catch up when activated again.
pub fn enqueue(conn: &mut DbConnection, id: &str, now: chrono::NaiveDateTime) -> Result<Enqueued, ApiError> {
    let Some(hook) = store::get(conn, id)?.filter(|h| h.active) else {
        return Ok(Enqueued::default());
    };
    let rows = events::feed(conn, hook.last_event_id, None, OUTBOX_BATCH)?;
    let Some(last) = rows.last().map(|r| r.id) else {
        return Ok(Enqueued::default());
    };
    let patterns = hook.patterns();
    let wanted: Vec<(i64, String)> = rows
        .iter()
        .map(|r| (r.id, event_type(&r.entity_type, &r.action)))
        .filter(|(_, t)| model::matches(&patterns, t))
        .collect();
    store::add_deliveries(conn, id, &wanted, now)?;
    store::set_cursor(conn, id, last)?;
    Ok(Enqueued { scanned: rows.len(), queued: wanted.len() })
}

/// The change a derived event records: `field` went from false to true.
fn flag_raised(field: &str) -> Changes {
    Changes::from([(field.to_string(), Change { old: Value::Bool(false), new: Value::Bool(true) })])
}

/// Appends a derived event once: the marker (entity, kind) is written in the same transaction,
/// and its key refuses a second one.
fn fire_once(
    conn: &mut DbConnection,
    ctx: &Ctx,
    (entity_type, entity_id, action): (&str, &str, &str),
    kind: &str,
    changes: &Changes,
) -> Result<bool, ApiError> {
    if store::marked(conn, entity_type, entity_id, kind)? {
        return Ok(false);
    }
    let event_id = events::append(
        conn,
        NewEvent { entity_type, entity_id, action, actor: ctx.actor, at: ctx.now.naive_utc(), changes },
    )?;
    store::insert_marker(conn, entity_type, entity_id, kind, event_id)?;
    Ok(true)
}

/// Appends `task.overdue` for up to `limit` open tasks whose due date passed; returns how many.
pub fn fire_overdue_tasks(conn: &mut DbConnection, ctx: &Ctx, limit: i64) -> Result<usize, ApiError> {
    let due = store::overdue_unmarked(conn, ctx.today(), limit)?;
    let changes = flag_raised("overdue");
    let mut fired = 0;
    for (id, date) in &due {
        let key = (crate::tasks::service::ENTITY, id.as_str(), "overdue");
        fired += usize::from(fire_once(conn, ctx, key, &store::overdue_kind(*date), &changes)?);
    }
    Ok(fired)
}

/// Appends `service_call.breached` for up to `limit` calls that passed a deadline of this kind
/// (its changes name the deadline: `response_breached` or `resolution_breached`).
pub fn fire_breaches(conn: &mut DbConnection, ctx: &Ctx, breach: Breach, limit: i64) -> Result<usize, ApiError> {
    let ids = store::breached_unmarked(conn, breach, ctx.now.naive_utc(), limit)?;
    let changes = flag_raised(breach.as_str());
    let mut fired = 0;
    for id in &ids {
        let key = (crate::service_calls::service::ENTITY, id.as_str(), "breached");
        fired += usize::from(fire_once(conn, ctx, key, breach.as_str(), &changes)?);
    }
    Ok(fired)
}
