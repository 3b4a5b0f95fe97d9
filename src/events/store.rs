//! Queries on the event log.

use super::model::Changes;
use crate::db::schema::events;
use crate::db::{DbConnection, SqlBackend};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bool;

/// A condition on the event log: which events one reader may see (see [`super::FeedScope`]).
pub type EventCondition = Box<dyn BoxableExpression<events::table, SqlBackend, SqlType = Bool>>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: i64,
    pub entity_type: String,
    pub entity_id: String,
    pub action: String,
    pub actor: String,
    pub occurred_at: NaiveDateTime,
    pub changes: crate::db::column::Json<crate::events::model::Changes>,
    /// The event's place in the change feed; `None` until [`settle`] gives it one.
    pub position: Option<i64>,
}

/// An event to append.
pub struct NewEvent<'a> {
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub action: &'a str,
    pub actor: &'a str,
    pub at: NaiveDateTime,
    pub changes: &'a Changes,
}

thread_local! {
    /// How many events this thread has appended. A transaction runs on one thread from
    /// `BEGIN` to `COMMIT`, so the difference across a piece of it counts the events that
    /// piece appended, whatever other transactions commit meanwhile.
    static APPENDED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The count of events this thread has appended so far: compare it before and after some
/// work inside a transaction to learn whether that work appended any.
pub fn appended_here() -> u64 {
    APPENDED.with(std::cell::Cell::get)
}

fn count_appended(n: usize) {
    APPENDED.with(|a| a.set(a.get() + n as u64));
}

/// Appends an event inside the caller's transaction. It has no feed position yet: [`settle`]
/// gives it one once it has committed (SQLite gives it its id as it is written).
pub fn append(conn: &mut DbConnection, e: NewEvent<'_>) -> QueryResult<i64> {
    let changes = serde_json::to_string(e.changes).unwrap_or_else(|_| "{}".into());
    diesel::insert_into(events::table)
        .values((
            events::entity_type.eq(e.entity_type),
            events::entity_id.eq(e.entity_id),
            events::action.eq(e.action),
            events::actor.eq(e.actor),
            events::occurred_at.eq(e.at),
            events::changes.eq(changes),
        ))
        .returning(events::id)
        .get_result(conn)
        .inspect(|_| count_appended(1))
}

/// Appends the event of one change: `old` and `new` are JSON snapshots of the resource
/// (`Value::Null` where it did not or no longer exists); the event records their difference.
pub fn record(
    conn: &mut DbConnection,
    ctx: &super::Ctx,
    entity_type: &str,
    entity_id: &str,
    action: &str,
    old: &serde_json::Value,
    new: &serde_json::Value,
) -> QueryResult<i64> {
    let changes = super::model::diff(old, new);
    append(
        conn,
        NewEvent { entity_type, entity_id, action, actor: ctx.actor, at: ctx.now.naive_utc(), changes: &changes },
    )
}

/// Events of one resource, oldest first, after the event id `after`.
pub fn history(
    conn: &mut DbConnection,
    entity_type: &str,
    entity_id: &str,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    events::table
        .filter(events::entity_type.eq(entity_type))
        .filter(events::entity_id.eq(entity_id))
        .filter(events::id.gt(after))
        .order(events::id.asc())
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
}

/// Whether any event exists for a resource (its history outlives its deletion).
pub fn has_history(conn: &mut DbConnection, entity_type: &str, entity_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        events::table.filter(events::entity_type.eq(entity_type)).filter(events::entity_id.eq(entity_id)),
    ))
    .get_result(conn)
}

/// The key of the advisory lock that lets one [`settle`] pass run at a time.
const SETTLE_LOCK: i64 = 0x5041_4354_0004;

/// How many events one [`settle_batch`] positions at most: one pass stays one short
/// transaction however far the feed has fallen behind (about 0.1 s for 10,000 events).
pub const SETTLE_BATCH: i64 = 10_000;

/// Gives feed positions to the committed events that have none, in id order, after every
/// position handed out before: the first `max` of them; returns how many. Runs in its
/// caller's transaction, one pass at a time (an advisory lock held to its end).
///
/// Why this keeps the feed's promises on PostgreSQL, where writes commit in any order:
/// - no reader skips an event: a pass positions only events that have committed, each after
///   every position already visible, and commits them all at once; a reader paging by position
///   can only find new events after its cursor;
/// - per resource, events keep the order of the changes: a change takes its resource's row
///   lock before it appends its event, so the next change of that resource appends (a larger
///   id) and commits only after it; by then the earlier event is visible to any pass that sees
///   the later one, and a pass takes the smallest ids first;
/// - a writer never waits for the feed (only creating a webhook runs a pass inside its write,
///   to start after every committed event): a pass only sets `position` on events that have
///   committed, rows no writer touches again.
///
/// Both reads of unpositioned events name `position IS NULL` and walk `events_unsettled` in
/// id order, so PostgreSQL takes that small partial index whatever its statistics say: with
/// statistics from a moment when most events waited (no autovacuum, or a backlog), the plain
/// join read the whole table on every pass.
///
/// SQLite has one writer at a time, so its events commit in id order and a trigger gives each
/// its id as position when it is written; there is nothing to do.
pub fn settle_batch(conn: &mut DbConnection, max: i64) -> QueryResult<usize> {
    let DbConnection::Postgres(pg) = conn else { return Ok(0) };
    diesel::sql_query(format!("SELECT pg_advisory_xact_lock({SETTLE_LOCK})")).execute(pg)?;
    diesel::sql_query(
        "UPDATE events SET position = s.position FROM ( \
             SELECT id, (SELECT COALESCE(MAX(position), 0) FROM events) \
                 + row_number() OVER (ORDER BY id) AS position \
             FROM (SELECT id FROM events WHERE position IS NULL ORDER BY id LIMIT $1) AS waiting \
         ) AS s WHERE events.id = s.id AND events.position IS NULL",
    )
    .bind::<diesel::sql_types::BigInt, _>(max)
    .execute(pg)
}

/// Gives every committed event its feed position, in batches inside the caller's
/// transaction; returns how many.
pub fn settle(conn: &mut DbConnection) -> QueryResult<usize> {
    until_settled(|| settle_batch(conn, SETTLE_BATCH))
}

/// Runs `batch` (one [`settle_batch`] of [`SETTLE_BATCH`], in whatever transaction the caller
/// gives it) until one positions fewer: then every event committed before it has its
/// position. Returns how many were positioned in all.
pub fn until_settled<E>(mut batch: impl FnMut() -> Result<usize, E>) -> Result<usize, E> {
    let mut total = 0;
    loop {
        let n = batch()?;
        total += n;
        if (n as i64) < SETTLE_BATCH {
            return Ok(total);
        }
    }
}

/// Whether some committed event still waits for its feed position (never on SQLite).
pub fn unsettled(conn: &mut DbConnection) -> QueryResult<bool> {
    // In id order with a limit, as in [`settle_batch`]: the partial index, whatever the
    // statistics.
    events::table
        .filter(events::position.is_null())
        .order(events::id.asc())
        .select(events::id)
        .first::<i64>(conn)
        .optional()
        .map(|first| first.is_some())
}

/// The change feed: every event after position `after`, optionally of one entity type, in
/// position order.
pub fn feed(conn: &mut DbConnection, after: i64, entity_type: Option<&str>, limit: i64) -> QueryResult<Vec<EventRow>> {
    feed_where(conn, after, entity_type, Vec::new(), limit)
}

/// [`feed`], of the events that meet every one of `conditions` (one reader's view).
pub fn feed_where(
    conn: &mut DbConnection,
    after: i64,
    entity_type: Option<&str>,
    conditions: Vec<EventCondition>,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    let mut q = events::table
        .filter(events::position.gt(after))
        .order(events::position.asc())
        .limit(limit)
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(t) = entity_type {
        q = q.filter(events::entity_type.eq(t.to_string()));
    }
    for c in conditions {
        q = q.filter(c);
    }
    q.load(conn)
}

/// Appends several events in one statement per 500 (same ordering guarantee as [`append`]);
/// returns each new event's (entity id, event id).
pub fn append_many(conn: &mut DbConnection, list: &[NewEvent<'_>]) -> QueryResult<Vec<(String, i64)>> {
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<_> = list
        .iter()
        .map(|e| {
            (
                events::entity_type.eq(e.entity_type),
                events::entity_id.eq(e.entity_id),
                events::action.eq(e.action),
                events::actor.eq(e.actor),
                events::occurred_at.eq(e.at),
                events::changes.eq(serde_json::to_string(e.changes).unwrap_or_else(|_| "{}".into())),
            )
        })
        .collect();
    let mut ids = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(500) {
        ids.extend(crate::on_backend!(conn, |c| diesel::insert_into(events::table)
            .values(chunk)
            .returning((events::entity_id, events::id))
            .get_results::<(String, i64)>(c))?);
    }
    count_appended(ids.len());
    Ok(ids)
}

/// Appends the events of many changes to resources of one type at once, each given as
/// `(entity id, action, old JSON snapshot, new JSON snapshot)` as for [`record`] (same ordering
/// guarantee as [`append`]).
pub fn record_many(
    conn: &mut DbConnection,
    ctx: &super::Ctx,
    entity_type: &str,
    changes: &[(&str, &str, &serde_json::Value, &serde_json::Value)],
) -> QueryResult<Vec<(String, i64)>> {
    let diffs: Vec<Changes> = changes.iter().map(|(_, _, old, new)| super::model::diff(old, new)).collect();
    let list: Vec<NewEvent> = changes
        .iter()
        .zip(&diffs)
        .map(|((entity_id, action, _, _), changes)| NewEvent {
            entity_type,
            entity_id,
            action,
            actor: ctx.actor,
            at: ctx.now.naive_utc(),
            changes,
        })
        .collect();
    append_many(conn, &list)
}

/// Appends the `created` events of many new resources of one type at once, each given by its
/// id and JSON snapshot (same ordering guarantee as [`append`]).
pub fn record_created(
    conn: &mut DbConnection,
    ctx: &super::Ctx,
    entity_type: &str,
    created: &[(&str, serde_json::Value)],
) -> QueryResult<Vec<(String, i64)>> {
    const NONE: serde_json::Value = serde_json::Value::Null;
    let changes: Vec<_> = created.iter().map(|(id, snapshot)| (*id, "created", &NONE, snapshot)).collect();
    record_many(conn, ctx, entity_type, &changes)
}

/// The position of the newest event in the feed (0 when there is none).
pub fn last_position(conn: &mut DbConnection) -> QueryResult<i64> {
    events::table.select(diesel::dsl::max(events::position)).first::<Option<i64>>(conn).map(|p| p.unwrap_or(0))
}
