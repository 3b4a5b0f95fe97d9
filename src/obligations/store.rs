//! Queries on obligations.

use crate::db::schema::obligations;
use crate::db::{is_postgres, DbConnection};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset, QueryableByName)]
#[diesel(table_name = obligations)]
#[diesel(treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ObligationRow {
    pub id: String,
    pub contract_id: String,
    pub title: String,
    pub description: Option<String>,
    pub kind: String,
    pub assignee_kind: String,
    pub assignee_name: String,
    pub due_date: Option<NaiveDate>,
    pub rrule: Option<String>,
    pub exdates: String,
    pub anchor_date: Option<NaiveDate>,
    pub lead_days: i32,
    pub scope: String,
    pub horizon_months: i32,
    pub generated_on: Option<NaiveDate>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The day the scheduler looks at the obligation again.
    pub regenerate_on: NaiveDate,
}

pub fn get(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ObligationRow>> {
    obligations::table.find(id).select(ObligationRow::as_select()).first(conn).optional()
}

pub fn exists(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(obligations::table.find(id))).get_result(conn)
}

pub fn insert(conn: &mut DbConnection, row: &ObligationRow) -> QueryResult<()> {
    diesel::insert_into(obligations::table).values(row).execute(conn).map(|_| ())
}

/// Writes `row` if the stored version is still `expected_version`; false when it was not.
pub fn update(conn: &mut DbConnection, row: &ObligationRow, expected_version: i64) -> QueryResult<bool> {
    diesel::update(
        obligations::table.filter(obligations::id.eq(&row.id)).filter(obligations::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
    .map(|n| n == 1)
}

/// Records the day the tasks were last brought in line and the day to look again (not a change
/// of the obligation).
pub fn mark_generated(conn: &mut DbConnection, id: &str, on: NaiveDate, again_on: NaiveDate) -> QueryResult<()> {
    diesel::update(obligations::table.find(id))
        .set((obligations::generated_on.eq(Some(on)), obligations::regenerate_on.eq(again_on)))
        .execute(conn)
        .map(|_| ())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::delete(obligations::table.find(id)).execute(conn).map(|_| ())
}

/// One page of a contract's obligations in id order after `after`.
pub fn of_contract(
    conn: &mut DbConnection,
    contract_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ObligationRow>> {
    let mut q = obligations::table
        .filter(obligations::contract_id.eq(contract_id.to_string()))
        .order(obligations::id.asc())
        .limit(limit)
        .select(ObligationRow::as_select())
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(obligations::id.gt(a.to_string()));
    }
    q.load(conn)
}

/// Every obligation of some contracts, in (contract, id) order: one query per 500 contracts.
pub fn of_contracts(conn: &mut DbConnection, contract_ids: &[String]) -> QueryResult<Vec<ObligationRow>> {
    let mut out = Vec::new();
    for chunk in contract_ids.chunks(500) {
        out.extend(
            obligations::table
                .filter(obligations::contract_id.eq_any(chunk))
                .order((obligations::contract_id.asc(), obligations::id.asc()))
                .select(ObligationRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

pub fn contract_has_obligations(conn: &mut DbConnection, contract_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(obligations::table.filter(obligations::contract_id.eq(contract_id))))
        .get_result(conn)
}

/// Claims up to `limit` obligations due for a visit by `today` (see `regenerate_on`). On
/// PostgreSQL the rows stay locked until the caller's transaction ends and rows another
/// instance holds are skipped, so two instances never generate the same obligation at once.
pub fn claim_due(
    conn: &mut DbConnection,
    today: NaiveDate,
    skip: &[String],
    limit: i64,
) -> QueryResult<Vec<ObligationRow>> {
    if let DbConnection::Postgres(c) = conn {
        // `regenerate_on, id` is the order of the `obligations_due` index.
        diesel::sql_query(
            "SELECT * FROM obligations WHERE regenerate_on <= $1 AND id <> ALL($2) \
             ORDER BY regenerate_on, id LIMIT $3 FOR UPDATE SKIP LOCKED",
        )
        .bind::<diesel::sql_types::Date, _>(today)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(skip)
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .load(c)
    } else {
        obligations::table
            .filter(obligations::regenerate_on.le(today))
            .filter(obligations::id.ne_all(skip))
            .order((obligations::regenerate_on.asc(), obligations::id.asc()))
            .limit(limit)
            .select(ObligationRow::as_select())
            .load(conn)
    }
}

/// Holds the obligation's row until the transaction ends (PostgreSQL), so two generations of
/// one obligation never interleave. SQLite has one writer at a time anyway.
pub fn lock(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    if is_postgres(conn) {
        diesel::sql_query("SELECT id FROM obligations WHERE id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::Text, _>(id)
            .execute(conn)?;
    }
    Ok(())
}
