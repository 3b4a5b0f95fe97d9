//! Queries on idempotency keys.

use super::model::KeyState;
use crate::db::schema::idempotency_keys as k;
use crate::db::DbConnection;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = k)]
pub struct KeyRow {
    pub owner: String,
    pub idempotency_key: String,
    pub fingerprint: String,
    pub state: KeyState,
    pub locked_until: NaiveDateTime,
    pub response_status: Option<i32>,
    pub response_headers: Option<crate::db::column::Json<std::collections::BTreeMap<String, String>>>,
    pub response_body: Option<Vec<u8>>,
    pub created_at: NaiveDateTime,
}

pub fn get(conn: &mut DbConnection, owner: &str, key: &str) -> QueryResult<Option<KeyRow>> {
    k::table.find((owner, key)).select(KeyRow::as_select()).first(conn).optional()
}

/// Inserts a pending key; false when the caller already used it (also when a request with
/// the same key inserted it a moment before, committed or not: the insert waits for that one).
pub fn claim(conn: &mut DbConnection, row: &KeyRow) -> QueryResult<bool> {
    match conn {
        DbConnection::Postgres(c) => diesel::insert_into(k::table).values(row).on_conflict_do_nothing().execute(c),
        DbConnection::Sqlite(c) => diesel::insert_into(k::table).values(row).on_conflict_do_nothing().execute(c),
    }
    .map(|n| n == 1)
}

/// Takes over a pending key whose first request stopped without an answer (its lease ran out);
/// false when someone else took it first.
pub fn take_over(
    conn: &mut DbConnection,
    owner: &str,
    key: &str,
    expired_lease: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        k::table
            .filter(k::owner.eq(owner))
            .filter(k::idempotency_key.eq(key))
            .filter(k::state.eq(KeyState::Pending))
            .filter(k::locked_until.eq(expired_lease)),
    )
    .set(k::locked_until.eq(until))
    .execute(conn)
    .map(|n| n == 1)
}

/// Records that the first request's work committed (called inside each write transaction of
/// that work: an upload writes more than once). Refused (and with it the work) when the
/// request's lease ran out and another request took the key over: that one does the work now.
pub fn mark_committed(conn: &mut DbConnection, owner: &str, key: &str, lease: NaiveDateTime) -> QueryResult<()> {
    let marked = diesel::update(
        k::table
            .filter(k::owner.eq(owner))
            .filter(k::idempotency_key.eq(key))
            .filter(k::state.eq_any([KeyState::Pending, KeyState::Committed]))
            .filter(k::locked_until.eq(lease)),
    )
    .set(k::state.eq(KeyState::Committed))
    .execute(conn)?;
    if marked == 1 {
        return Ok(());
    }
    Err(diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::UniqueViolation,
        Box::new(format!("idempotency key {key}: its lease ran out and another request with it took over")),
    ))
}

/// Stores the answer of the first request, unless its lease ran out and another took over.
#[allow(clippy::too_many_arguments)]
pub fn complete(
    conn: &mut DbConnection,
    owner: &str,
    key: &str,
    lease: NaiveDateTime,
    fingerprint: &str,
    status: i32,
    headers: &str,
    body: &[u8],
) -> QueryResult<()> {
    diesel::update(
        k::table.filter(k::owner.eq(owner)).filter(k::idempotency_key.eq(key)).filter(k::locked_until.eq(lease)),
    )
    .set((
        k::state.eq(KeyState::Done),
        k::fingerprint.eq(fingerprint),
        k::response_status.eq(Some(status)),
        k::response_headers.eq(Some(headers)),
        k::response_body.eq(Some(body)),
    ))
    .execute(conn)
    .map(|_| ())
}

/// Forgets a pending key whose request failed on the server side, so a retry does the work
/// (not when another request took it over meanwhile).
pub fn release(conn: &mut DbConnection, owner: &str, key: &str, lease: NaiveDateTime) -> QueryResult<()> {
    diesel::delete(
        k::table
            .filter(k::owner.eq(owner))
            .filter(k::idempotency_key.eq(key))
            .filter(k::state.eq(KeyState::Pending))
            .filter(k::locked_until.eq(lease)),
    )
    .execute(conn)
    .map(|_| ())
}

/// Deletes keys created before `before`; returns how many.
pub fn purge(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(k::table.filter(k::created_at.lt(before))).execute(conn)
}
