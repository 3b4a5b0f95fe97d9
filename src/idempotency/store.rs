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

/// Inserts a pending key; false when the caller already used it.
pub fn claim(conn: &mut DbConnection, row: &KeyRow) -> QueryResult<bool> {
    if get(conn, &row.owner, &row.idempotency_key)?.is_some() {
        return Ok(false);
    }
    diesel::insert_into(k::table).values(row).execute(conn).map(|n| n == 1)
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

/// Records that the first request's work committed (called inside that work's transaction).
pub fn mark_committed(conn: &mut DbConnection, owner: &str, key: &str) -> QueryResult<()> {
    diesel::update(
        k::table.filter(k::owner.eq(owner)).filter(k::idempotency_key.eq(key)).filter(k::state.eq(KeyState::Pending)),
    )
    .set(k::state.eq(KeyState::Committed))
    .execute(conn)
    .map(|_| ())
}

/// Stores the answer of the first request.
pub fn complete(
    conn: &mut DbConnection,
    owner: &str,
    key: &str,
    fingerprint: &str,
    status: i32,
    headers: &str,
    body: &[u8],
) -> QueryResult<()> {
    diesel::update(k::table.filter(k::owner.eq(owner)).filter(k::idempotency_key.eq(key)))
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

/// Forgets a pending key whose request failed on the server side, so a retry does the work.
pub fn release(conn: &mut DbConnection, owner: &str, key: &str) -> QueryResult<()> {
    diesel::delete(
        k::table.filter(k::owner.eq(owner)).filter(k::idempotency_key.eq(key)).filter(k::state.eq(KeyState::Pending)),
    )
    .execute(conn)
    .map(|_| ())
}

/// Deletes keys created before `before`; returns how many.
pub fn purge(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(k::table.filter(k::created_at.lt(before))).execute(conn)
}
