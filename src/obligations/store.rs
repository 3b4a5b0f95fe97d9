//! Queries on obligations.

use crate::db::schema::obligations;
use crate::db::DbConnection;
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
    pub assignee_kind: crate::tasks::model::AssigneeKind,
    pub assignee_name: String,
    pub due_date: Option<NaiveDate>,
    pub rrule: Option<String>,
    pub exdates: crate::db::column::Json<Vec<NaiveDate>>,
    pub anchor_date: Option<NaiveDate>,
    pub lead_days: i32,
    pub scope: crate::obligations::model::Scope,
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

/// Marks obligations due today (unless due already): those of `contract_ids`, or only
/// `obligation` among them. Generation picks them up ([`crate::obligations::generation`]).
///
/// Every row is written, even one due already: the write then holds them all until it
/// commits, so a generation run that claimed them before finishes first (and this write's
/// change waits for it), and one claiming them after sees this write's change.
pub fn mark_due(
    conn: &mut DbConnection,
    contract_ids: &[String],
    obligation: Option<&str>,
    today: NaiveDate,
) -> QueryResult<()> {
    for chunk in contract_ids.chunks(500) {
        let mut q = diesel::update(obligations::table).filter(obligations::contract_id.eq_any(chunk)).into_boxed();
        if let Some(id) = obligation {
            q = q.filter(obligations::id.eq(id.to_string()));
        }
        let due = diesel::dsl::case_when::<_, _, diesel::sql_types::Date>(obligations::regenerate_on.gt(today), today)
            .otherwise(obligations::regenerate_on);
        q.set(obligations::regenerate_on.eq(due)).execute(conn)?;
    }
    Ok(())
}

/// Which obligations a generation run reads.
#[derive(Clone, Debug)]
pub enum Due {
    /// Every obligation due for a visit by the day (the scheduler's pass).
    All,
    /// The due obligations of these contracts (after a write that marked them).
    OfContracts(Vec<String>),
    /// This obligation, due or not (`POST /obligations/{id}/generate`).
    One(String),
}

/// Up to `limit` obligations of `due` due by `today` (any `One`), leaving out `skip`, in the
/// order of the `obligations_due` index (`regenerate_on, id`). Read without a lock: the write
/// that applies their generation claims them ([`claim`]).
pub fn due(
    conn: &mut DbConnection,
    today: NaiveDate,
    due: &Due,
    skip: &[String],
    limit: i64,
) -> QueryResult<Vec<ObligationRow>> {
    let mut q = obligations::table
        .filter(obligations::id.ne_all(skip))
        .order((obligations::regenerate_on.asc(), obligations::id.asc()))
        .limit(limit)
        .select(ObligationRow::as_select())
        .into_boxed();
    q = match due {
        Due::All => q.filter(obligations::regenerate_on.le(today)),
        Due::OfContracts(ids) => {
            q.filter(obligations::regenerate_on.le(today)).filter(obligations::contract_id.eq_any(ids.clone()))
        }
        Due::One(id) => q.filter(obligations::id.eq(id.clone())),
    };
    q.load(conn)
}

/// Locks, in id order, those of `ids` still due by `today` (all of them when `force`) until the
/// transaction ends and gives their rows as they are now. On PostgreSQL rows another
/// transaction holds are skipped (`force`: waited for), so two instances never generate one
/// obligation at once; SQLite has one writer at a time anyway.
pub fn claim(
    conn: &mut DbConnection,
    ids: &[String],
    today: NaiveDate,
    force: bool,
) -> QueryResult<Vec<ObligationRow>> {
    if let DbConnection::Postgres(c) = conn {
        let lock = if force { "FOR UPDATE" } else { "FOR UPDATE SKIP LOCKED" };
        diesel::sql_query(format!(
            "SELECT * FROM obligations WHERE id = ANY($1) AND ($3 OR regenerate_on <= $2) ORDER BY id {lock}"
        ))
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(ids)
        .bind::<diesel::sql_types::Date, _>(today)
        .bind::<diesel::sql_types::Bool, _>(force)
        .load(c)
    } else {
        let mut q = obligations::table
            .filter(obligations::id.eq_any(ids))
            .order(obligations::id.asc())
            .select(ObligationRow::as_select())
            .into_boxed();
        if !force {
            q = q.filter(obligations::regenerate_on.le(today));
        }
        q.load(conn)
    }
}
