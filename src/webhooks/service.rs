//! Webhook use cases, each inside the caller's transaction: subscription changes with their
//! event, filling the outbox from the event log, recording attempts (and pausing a webhook
//! whose receiver fails for too long), skipping a delivery on purpose, and the events that the
//! passing of time derives (a task overdue, a service-level deadline breached).

use super::model::{self, event_type};
use super::store::{self, Attempt, DeliveryRow, WebhookRow};
use crate::clock::as_utc;
use crate::db::Expected;
use crate::db::{DbConnection, Hold};
use crate::error::ApiError;
use crate::events::model::{Change, Changes};
use crate::events::store::{self as events, NewEvent};
use crate::events::Ctx;
use crate::service_calls::store::Breach;
use chrono::{NaiveDate, NaiveDateTime};
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
        "secret_hint": model::secret_hint(&r.secret), "paused_at": r.paused_at.map(as_utc),
    })
}

pub fn load(conn: &mut DbConnection, id: &str) -> Result<WebhookRow, ApiError> {
    store::get(conn, id)?.ok_or_else(|| ApiError::not_found(format!("webhook {id} does not exist")))
}

/// Stores a new webhook. It starts after the newest event: it hears what happens from now on.
/// The events committed so far get their feed positions first, so none of them comes after
/// its cursor.
pub fn create(conn: &mut DbConnection, ctx: &Ctx, mut row: WebhookRow) -> Result<WebhookRow, ApiError> {
    events::settle(conn)?;
    row.last_event_id = events::last_position(conn)?;
    store::insert(conn, &row)?;
    events::record(conn, ctx, ENTITY, &row.id, "created", &Value::Null, &snapshot(&row))?;
    Ok(row)
}

/// Stores a changed webhook (`change` edits a copy of the stored one and validates it).
pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    expected: &Expected,
    change: impl FnOnce(&mut WebhookRow) -> Result<(), ApiError>,
) -> Result<WebhookRow, ApiError> {
    Hold::Update.row(conn, "webhooks", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    let mut new = old.clone();
    change(&mut new)?;
    if new.active && !old.active {
        // Resuming gives the receiver a fresh start: the time it failed before does not count
        // towards the next pause.
        new.paused_at = None;
        new.failing_since = None;
    }
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
pub fn delete(conn: &mut DbConnection, ctx: &Ctx, id: &str, expected: &Expected) -> Result<(), ApiError> {
    Hold::Update.row(conn, "webhooks", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    store::delete(conn, id)?;
    events::record(conn, ctx, ENTITY, id, "deleted", &snapshot(&old), &Value::Null)?;
    Ok(())
}

/// Records an attempt at the head of a webhook's queue. A failure starts (or continues) the
/// receiver's failing time; a success ends it. A webhook whose receiver has failed for
/// `pause_after` without a success is paused (`webhook.paused`, by `system`): it keeps its
/// queue, and the later deliveries wait until an admin resumes it. True when it was paused.
pub fn record_attempt(
    conn: &mut DbConnection,
    webhook_id: &str,
    delivery_id: &str,
    attempt: &Attempt<'_>,
    pause_after: std::time::Duration,
) -> Result<bool, ApiError> {
    store::record_attempt(conn, delivery_id, attempt)?;
    if attempt.retry_at.is_none() {
        store::note_success(conn, webhook_id)?;
        return Ok(false);
    }
    let Some(since) = store::note_failure(conn, webhook_id, attempt.at)? else {
        return Ok(false);
    };
    if !model::pause_due(as_utc(since), as_utc(attempt.at), pause_after) {
        return Ok(false);
    }
    let Some(old) = store::get(conn, webhook_id)?.filter(|h| h.active) else {
        return Ok(false);
    };
    let new = WebhookRow {
        active: false,
        paused_at: Some(attempt.at),
        version: old.version + 1,
        updated_at: attempt.at,
        ..old.clone()
    };
    if !store::update(conn, &new, old.version)? {
        return Ok(false);
    }
    let ctx = Ctx { actor: "system", now: as_utc(attempt.at) };
    events::record(conn, &ctx, ENTITY, webhook_id, "paused", &snapshot(&old), &snapshot(&new))?;
    Ok(true)
}

/// Takes a pending delivery out of a webhook's queue on purpose, so the later ones flow: it is
/// never sent again unless redelivered by hand. The skip is recorded on the delivery (who,
/// when) and as a `webhook.delivery_skipped` event of the webhook.
pub fn skip_delivery(
    conn: &mut DbConnection,
    ctx: &Ctx,
    webhook_id: &str,
    delivery_id: &str,
) -> Result<DeliveryRow, ApiError> {
    Hold::Update.row(conn, "webhooks", webhook_id)?;
    load(conn, webhook_id)?;
    let missing = || ApiError::not_found(format!("webhook {webhook_id} has no delivery {delivery_id}"));
    let delivery = store::get_delivery(conn, webhook_id, delivery_id)?.ok_or_else(missing)?;
    if !store::skip(conn, delivery_id, ctx.actor, ctx.now.naive_utc())? {
        let state = if delivery.delivered_at.is_some() { "delivered" } else { "skipped" };
        return Err(ApiError::conflict(
            "delivery_not_pending",
            format!("delivery {delivery_id} is {state} already; only a pending delivery can be skipped"),
        ));
    }
    let skipped = json!({
        "delivery_id": delivery.id, "event_id": delivery.event_id, "event_type": delivery.event_type,
        "attempts": delivery.attempts, "last_error": delivery.last_error,
    });
    let changes = Changes::from([("skipped_delivery".to_string(), Change { old: Value::Null, new: skipped })]);
    let at = ctx.now.naive_utc();
    let event = NewEvent {
        entity_type: ENTITY,
        entity_id: webhook_id,
        action: "delivery_skipped",
        actor: ctx.actor,
        at,
        changes: &changes,
    };
    events::append(conn, event)?;
    store::get_delivery(conn, webhook_id, delivery_id)?.ok_or_else(missing)
}

/// What one outbox step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// Events read from the log.
    pub scanned: usize,
    /// Deliveries made for the subscribed ones.
    pub queued: usize,
}

/// Moves up to [`OUTBOX_BATCH`] events past a webhook's cursor (a feed position) into its
/// outbox: a delivery for each subscribed type, and the cursor after the last one read, in one
/// transaction. Positions are given in commit order ([`events::settle`]), so none can appear
/// behind the cursor later.
/// Inactive webhooks keep their cursor and catch up when activated again.
pub fn enqueue(conn: &mut DbConnection, id: &str, now: chrono::NaiveDateTime) -> Result<Enqueued, ApiError> {
    // Two enqueues of one webhook (its lease ran out midway) take turns: the later one reads
    // the cursor the earlier one moved and adds no delivery twice.
    Hold::Update.row(conn, "webhooks", id)?;
    let Some(hook) = store::get(conn, id)?.filter(|h| h.active) else {
        return Ok(Enqueued::default());
    };
    let rows = events::feed(conn, hook.last_event_id, None, OUTBOX_BATCH)?;
    let Some(last) = rows.last().and_then(|r| r.position) else {
        return Ok(Enqueued::default());
    };
    let patterns = hook.patterns();
    // Documents attached to dossiers are case files: their own types, delivered only when named.
    let documents: Vec<String> =
        rows.iter().filter(|r| r.entity_type == "document").map(|r| r.entity_id.clone()).collect();
    let on_dossiers = crate::documents::store::on_dossiers(conn, &documents)?;
    let wanted: Vec<(i64, String)> = rows
        .iter()
        .map(|r| match on_dossiers.contains(&r.entity_id) && r.entity_type == "document" {
            true => (r.id, format!("dossier_document.{}", r.action)),
            false => (r.id, event_type(&r.entity_type, &r.action)),
        })
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

/// What one batch of a derived-event sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Rows looked at; fewer than the batch size means the sweep is through.
    pub scanned: usize,
    /// Events appended.
    pub fired: usize,
}

/// Appends one derived event per `(entity id, marker kind)` of `entity_type` that has no
/// marker yet, all in one statement, and their markers in another, in one write transaction.
/// Two passes beside each other (two instances) may both find a row unmarked: the marker's key
/// then refuses the second firing, and that batch rolls back whole, events included.
fn fire_unmarked(
    conn: &mut DbConnection,
    ctx: &Ctx,
    (entity_type, action): (&str, &str),
    candidates: Vec<(String, String)>,
    changes: &Changes,
) -> Result<Swept, ApiError> {
    let scanned = candidates.len();
    let ids: Vec<String> = candidates.iter().map(|(id, _)| id.clone()).collect();
    let marked: std::collections::HashSet<(String, String)> =
        store::markers_of(conn, entity_type, &ids)?.into_iter().collect();
    let items: Vec<(String, String)> = candidates.into_iter().filter(|c| !marked.contains(c)).collect();
    let at = ctx.now.naive_utc();
    let list: Vec<NewEvent> = items
        .iter()
        .map(|(id, _)| NewEvent { entity_type, entity_id: id, action, actor: ctx.actor, at, changes })
        .collect();
    let event_ids: std::collections::HashMap<String, i64> = events::append_many(conn, &list)?.into_iter().collect();
    let markers: Vec<(String, String, i64)> =
        items.into_iter().filter_map(|(id, kind)| event_ids.get(&id).map(|e| (id, kind, *e))).collect();
    store::insert_markers(conn, entity_type, &markers)?;
    Ok(Swept { scanned, fired: markers.len() })
}

/// Appends `task.overdue` for the open tasks of `status` whose due date passed among the next
/// `limit` from `from` (the sweep's mark) after `cursor` (which moves past them).
pub fn fire_overdue_tasks(
    conn: &mut DbConnection,
    ctx: &Ctx,
    (status, from): (&str, NaiveDate),
    cursor: &mut store::Cursor<NaiveDate>,
    limit: i64,
) -> Result<Swept, ApiError> {
    let due = store::overdue_candidates(conn, (from, ctx.today()), status, cursor, limit)?;
    if let Some((id, date)) = due.last() {
        *cursor = Some((*date, id.clone()));
    }
    let candidates = due.into_iter().map(|(id, date)| (id, store::overdue_kind(date))).collect();
    fire_unmarked(conn, ctx, (crate::tasks::service::ENTITY, "overdue"), candidates, &flag_raised("overdue"))
}

/// Appends `service_call.breached` for the calls past a deadline of this kind among the next
/// `limit` from `from` (the sweep's mark) after `cursor` (which moves past them); its changes
/// name the deadline: `response_breached` or `resolution_breached`.
pub fn fire_breaches(
    conn: &mut DbConnection,
    ctx: &Ctx,
    (breach, from): (Breach, NaiveDateTime),
    cursor: &mut store::Cursor<NaiveDateTime>,
    limit: i64,
) -> Result<Swept, ApiError> {
    let calls = store::breached_candidates(conn, breach, (from, ctx.now.naive_utc()), cursor, limit)?;
    if let Some((id, at)) = calls.last() {
        *cursor = Some((*at, id.clone()));
    }
    let candidates = calls.into_iter().map(|(id, _)| (id, breach.as_str().to_string())).collect();
    let entity = (crate::service_calls::service::ENTITY, "breached");
    fire_unmarked(conn, ctx, entity, candidates, &flag_raised(breach.as_str()))
}
