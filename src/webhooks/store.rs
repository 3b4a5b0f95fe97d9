//! Queries on webhooks, their deliveries (the outbox) and the markers of derived events.

use crate::db::schema::{event_markers, events, service_calls, tasks, webhook_deliveries, webhooks};
use crate::db::DbConnection;
use crate::events::store::EventRow;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    /// JSON array of subscription patterns.
    pub event_types: crate::db::column::Json<Vec<String>>,
    pub secret: String,
    pub active: bool,
    /// The outbox cursor: every event up to this feed position has been considered (positions
    /// of events written before migration 20 are their ids).
    pub last_event_id: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The first failed attempt since the last delivery the receiver accepted; `None` while
    /// it accepts them.
    pub failing_since: Option<NaiveDateTime>,
    /// When the dispatcher paused the webhook after continuous failure; cleared on resuming.
    pub paused_at: Option<NaiveDateTime>,
}

impl WebhookRow {
    pub fn patterns(&self) -> Vec<String> {
        (*self.event_types).clone()
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub event_id: i64,
    pub event_type: String,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    /// When an admin skipped it on purpose, and who.
    pub skipped_at: Option<NaiveDateTime>,
    pub skipped_by: Option<String>,
}

pub fn get(conn: &mut DbConnection, id: &str) -> QueryResult<Option<WebhookRow>> {
    webhooks::table.find(id).select(WebhookRow::as_select()).first(conn).optional()
}

pub fn insert(conn: &mut DbConnection, row: &WebhookRow) -> QueryResult<()> {
    diesel::insert_into(webhooks::table).values(row).execute(conn).map(|_| ())
}

/// Writes the subscription fields of `row` if the stored version is still `expected_version`.
pub fn update(conn: &mut DbConnection, row: &WebhookRow, expected_version: i64) -> QueryResult<bool> {
    diesel::update(webhooks::table.filter(webhooks::id.eq(&row.id)).filter(webhooks::version.eq(expected_version)))
        .set((
            webhooks::url.eq(&row.url),
            webhooks::description.eq(&row.description),
            webhooks::event_types.eq(&row.event_types),
            webhooks::secret.eq(&row.secret),
            webhooks::active.eq(row.active),
            webhooks::version.eq(row.version),
            webhooks::updated_at.eq(row.updated_at),
            webhooks::failing_since.eq(row.failing_since),
            webhooks::paused_at.eq(row.paused_at),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(id))).execute(conn)?;
    diesel::delete(webhooks::table.find(id)).execute(conn).map(|_| ())
}

/// One page of webhooks in id (creation) order after `after`.
pub fn list(conn: &mut DbConnection, after: Option<&str>, limit: i64) -> QueryResult<Vec<WebhookRow>> {
    let mut q = webhooks::table.select(WebhookRow::as_select()).order(webhooks::id.asc()).limit(limit).into_boxed();
    if let Some(a) = after {
        q = q.filter(webhooks::id.gt(a.to_string()));
    }
    q.load(conn)
}

/// Ids of the active webhooks in the order a pass serves them: those whose receiver accepts
/// deliveries first, then the failing ones, each in id order. When more receivers hang than
/// there are lanes, the healthy webhooks are not the ones left waiting for a lane.
pub fn dispatch_order(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    let mut rows: Vec<(String, Option<NaiveDateTime>)> = webhooks::table
        .filter(webhooks::active.eq(true))
        .order(webhooks::id.asc())
        .select((webhooks::id, webhooks::failing_since))
        .load(conn)?;
    rows.sort_by_key(|(_, failing_since)| failing_since.is_some());
    Ok(rows.into_iter().map(|(id, _)| id).collect())
}

/// Records that the receiver failed at `at`: the start of its failure, unless it was failing
/// already. Returns since when it fails.
pub fn note_failure(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<Option<NaiveDateTime>> {
    diesel::update(webhooks::table.filter(webhooks::id.eq(id)).filter(webhooks::failing_since.is_null()))
        .set(webhooks::failing_since.eq(at))
        .execute(conn)?;
    webhooks::table.find(id).select(webhooks::failing_since).first(conn).optional().map(Option::flatten)
}

/// Records that the receiver accepted a delivery: it no longer fails.
pub fn note_success(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::update(webhooks::table.filter(webhooks::id.eq(id)).filter(webhooks::failing_since.is_not_null()))
        .set(webhooks::failing_since.eq(None::<NaiveDateTime>))
        .execute(conn)
        .map(|_| ())
}

/// Moves the outbox cursor of a webhook.
pub fn set_cursor(conn: &mut DbConnection, id: &str, last_event_id: i64) -> QueryResult<()> {
    diesel::update(webhooks::table.find(id)).set(webhooks::last_event_id.eq(last_event_id)).execute(conn).map(|_| ())
}

/// Adds deliveries of events (id, type) for a webhook, due at `now`.
pub fn add_deliveries(
    conn: &mut DbConnection,
    webhook_id: &str,
    list: &[(i64, String)],
    now: NaiveDateTime,
) -> QueryResult<()> {
    let rows: Vec<_> = list
        .iter()
        .map(|(event_id, event_type)| {
            (
                webhook_deliveries::id.eq(uuid::Uuid::now_v7().to_string()),
                webhook_deliveries::webhook_id.eq(webhook_id),
                webhook_deliveries::event_id.eq(*event_id),
                webhook_deliveries::event_type.eq(event_type.as_str()),
                webhook_deliveries::attempts.eq(0),
                webhook_deliveries::next_attempt_at.eq(now),
                webhook_deliveries::created_at.eq(now),
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        crate::on_backend!(conn, |c| diesel::insert_into(webhook_deliveries::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// Takes the delivery lease of an active webhook for `owner` until `until`, when nobody holds
/// it (or the holder's lease ran out) — or renews it when `owner` holds it. False: someone else
/// delivers for this webhook now.
pub fn take_lease(
    conn: &mut DbConnection,
    id: &str,
    owner: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        webhooks::table.filter(webhooks::id.eq(id)).filter(webhooks::active.eq(true)).filter(
            webhooks::lease_owner
                .is_null()
                .or(webhooks::lease_owner.eq(owner))
                .or(webhooks::lease_until.is_null())
                .or(webhooks::lease_until.lt(now)),
        ),
    )
    .set((webhooks::lease_owner.eq(owner), webhooks::lease_until.eq(until)))
    .execute(conn)
    .map(|n| n == 1)
}

/// Gives the lease back (only when `owner` still holds it).
pub fn release_lease(conn: &mut DbConnection, id: &str, owner: &str) -> QueryResult<()> {
    diesel::update(webhooks::table.filter(webhooks::id.eq(id)).filter(webhooks::lease_owner.eq(owner)))
        .set((webhooks::lease_owner.eq(None::<String>), webhooks::lease_until.eq(None::<NaiveDateTime>)))
        .execute(conn)
        .map(|_| ())
}

/// The oldest pending (neither delivered nor skipped) delivery of a webhook with its event, in
/// feed order: the head of its queue.
pub fn head(conn: &mut DbConnection, webhook_id: &str) -> QueryResult<Option<(DeliveryRow, EventRow)>> {
    webhook_deliveries::table
        .inner_join(events::table)
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .filter(webhook_deliveries::delivered_at.is_null())
        .filter(webhook_deliveries::skipped_at.is_null())
        .order(events::position.asc())
        .select((DeliveryRow::as_select(), EventRow::as_select()))
        .first(conn)
        .optional()
}

/// The outcome of one attempt.
pub struct Attempt<'a> {
    pub at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<&'a str>,
    /// `None`: delivered; otherwise when to try again.
    pub retry_at: Option<NaiveDateTime>,
}

/// Records an attempt of a delivery.
pub fn record_attempt(conn: &mut DbConnection, id: &str, a: &Attempt<'_>) -> QueryResult<()> {
    let delivered = a.retry_at.is_none().then_some(a.at);
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
            webhook_deliveries::last_status_code.eq(a.status_code),
            webhook_deliveries::last_error.eq(a.error),
            webhook_deliveries::last_attempt_at.eq(a.at),
            webhook_deliveries::next_attempt_at.eq(a.retry_at),
            webhook_deliveries::delivered_at.eq(delivered),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn get_delivery(conn: &mut DbConnection, webhook_id: &str, id: &str) -> QueryResult<Option<DeliveryRow>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .filter(webhook_deliveries::id.eq(id))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()
}

/// Queues a delivery again, due at `at` (a redelivery of a delivered or skipped one, or a
/// retry now).
pub fn requeue(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::next_attempt_at.eq(at),
            webhook_deliveries::delivered_at.eq(None::<NaiveDateTime>),
            webhook_deliveries::skipped_at.eq(None::<NaiveDateTime>),
            webhook_deliveries::skipped_by.eq(None::<String>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Takes a pending delivery out of the queue on purpose: it is not sent (again). False when it
/// was not pending (any more).
pub fn skip(conn: &mut DbConnection, id: &str, by: &str, at: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(id))
            .filter(webhook_deliveries::delivered_at.is_null())
            .filter(webhook_deliveries::skipped_at.is_null()),
    )
    .set((
        webhook_deliveries::skipped_at.eq(at),
        webhook_deliveries::skipped_by.eq(by),
        webhook_deliveries::next_attempt_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Which deliveries a listing shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    Skipped,
}

/// One page of a webhook's deliveries, newest event first, before the event id `before`.
pub fn deliveries(
    conn: &mut DbConnection,
    webhook_id: &str,
    state: Option<DeliveryState>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    let mut q = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id.to_string()))
        .select(DeliveryRow::as_select())
        .order(webhook_deliveries::event_id.desc())
        .limit(limit)
        .into_boxed();
    match state {
        Some(DeliveryState::Pending) => {
            q = q.filter(webhook_deliveries::delivered_at.is_null()).filter(webhook_deliveries::skipped_at.is_null())
        }
        Some(DeliveryState::Delivered) => q = q.filter(webhook_deliveries::delivered_at.is_not_null()),
        Some(DeliveryState::Skipped) => {
            q = q
                .filter(webhook_deliveries::delivered_at.is_null())
                .filter(webhook_deliveries::skipped_at.is_not_null())
        }
        None => {}
    }
    if let Some(b) = before {
        q = q.filter(webhook_deliveries::event_id.lt(b));
    }
    q.load(conn)
}

/// Records that the derived events `(entity id, kind, event id)` of `entity_type` fired. The key
/// makes a second firing fail, so none can ever be appended twice.
pub fn insert_markers(conn: &mut DbConnection, entity_type: &str, rows: &[(String, String, i64)]) -> QueryResult<()> {
    let values: Vec<_> = rows
        .iter()
        .map(|(id, kind, event_id)| {
            (
                event_markers::entity_type.eq(entity_type),
                event_markers::entity_id.eq(id),
                event_markers::kind.eq(kind),
                event_markers::event_id.eq(*event_id),
            )
        })
        .collect();
    for chunk in values.chunks(500) {
        crate::on_backend!(conn, |c| diesel::insert_into(event_markers::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// The markers of `kind`s among `entity_ids` of `entity_type`: (entity id, kind).
///
/// On PostgreSQL this is an unnamed statement, planned for its actual ids each time. A cached
/// prepared statement soon switches to a generic plan, and with statistics taken while the
/// table was small (or never refreshed) that plan scans every marker for each batch: 3 s a
/// batch at 90,000 markers, measured on the full set during a catch-up pass.
pub fn markers_of(
    conn: &mut DbConnection,
    entity_type: &str,
    entity_ids: &[String],
) -> QueryResult<Vec<(String, String)>> {
    #[derive(QueryableByName)]
    struct Marker {
        #[diesel(sql_type = diesel::sql_types::Text)]
        entity_id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
    }
    match conn {
        DbConnection::Postgres(c) => diesel::sql_query(
            "SELECT entity_id, kind FROM event_markers WHERE entity_type = $1 AND entity_id = ANY($2)",
        )
        .bind::<diesel::sql_types::Text, _>(entity_type)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(entity_ids)
        .load::<Marker>(c)
        .map(|rows| rows.into_iter().map(|m| (m.entity_id, m.kind)).collect()),
        DbConnection::Sqlite(c) => event_markers::table
            .filter(event_markers::entity_type.eq(entity_type))
            .filter(event_markers::entity_id.eq_any(entity_ids))
            .select((event_markers::entity_id, event_markers::kind))
            .load(c),
    }
}

/// Refreshes PostgreSQL's statistics of the markers (SQLite keeps none to refresh). A sweep that
/// fires many events calls it as it goes: planned with the sizes of a smaller table, the
/// lookup above reads every marker of the entity type instead of probing the ids (80 ms instead
/// of a few for 1,000 ids at 350,000 markers, by `EXPLAIN ANALYZE` on the full set), and where
/// autovacuum is off or behind nothing else would refresh them.
pub fn refresh_marker_statistics(conn: &mut DbConnection) -> QueryResult<()> {
    if let DbConnection::Postgres(c) = conn {
        diesel::sql_query("ANALYZE event_markers").execute(c)?;
    }
    Ok(())
}

/// The marker kind of a task's overdue event: one per due date, so a task moved to a later
/// date and missed again fires again.
pub fn overdue_kind(due: NaiveDate) -> String {
    format!("overdue:{}", due.format("%Y-%m-%d"))
}

/// Where a sweep over rows in (date or time, id) order has got to.
pub type Cursor<T> = Option<(T, String)>;

/// Open tasks of `status` due from `from` and before `today` (id, due date), oldest first, after
/// `after`. One status at a time, so the scan follows the `(status, due_date, id)` index from
/// the cursor on and a pass reads each task once; `from` is the sweep's mark, before which every
/// task has been looked at. Which of them already fired is asked separately ([`markers_of`]):
/// an anti-join with the markers is at the mercy of the planner's estimates, which a table
/// filling up during one pass outruns.
pub fn overdue_candidates(
    conn: &mut DbConnection,
    (from, today): (NaiveDate, NaiveDate),
    status: &str,
    after: &Cursor<NaiveDate>,
    limit: i64,
) -> QueryResult<Vec<(String, NaiveDate)>> {
    let mut q = tasks::table
        .filter(tasks::status.eq(status.to_string()))
        .filter(tasks::due_date.lt(today))
        .order((tasks::due_date.asc(), tasks::id.asc()))
        .limit(limit)
        .select((tasks::id, tasks::due_date))
        .into_boxed();
    match after {
        Some((date, id)) => {
            q = q.filter(crate::row_cmp!("tasks.due_date, tasks.id" ">" (diesel::sql_types::Date, *date), id.clone()))
        }
        None => q = q.filter(tasks::due_date.ge(from)),
    }
    q.load(conn)
}

/// Service calls past a deadline of this kind (id, deadline), in deadline order from `from` (the
/// sweep's mark) and after `after`; which of them already fired is asked separately, as for
/// overdue tasks.
pub fn breached_candidates(
    conn: &mut DbConnection,
    breach: crate::service_calls::store::Breach,
    (from, now): (NaiveDateTime, NaiveDateTime),
    after: &Cursor<NaiveDateTime>,
    limit: i64,
) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    use crate::service_calls::store::Breach;
    macro_rules! walk {
        ($deadline:expr, $columns:literal) => {{
            let mut q = service_calls::table
                .filter(breach.condition(now))
                .filter($deadline.lt(now))
                .order(($deadline.asc(), service_calls::id.asc()))
                .limit(limit)
                .select((service_calls::id, $deadline.assume_not_null()))
                .into_boxed();
            match after {
                Some((at, id)) => {
                    q = q.filter(crate::row_cmp!($columns ">" (diesel::sql_types::Timestamp, *at), id.clone()))
                }
                None => q = q.filter($deadline.ge(from)),
            }
            q.load(conn)
        }};
    }
    match breach {
        Breach::Response => walk!(service_calls::respond_by, "service_calls.respond_by, service_calls.id"),
        Breach::Resolution => walk!(service_calls::resolve_by, "service_calls.resolve_by, service_calls.id"),
    }
}
