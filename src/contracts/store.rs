//! Queries on contracts, their hierarchy and the number counter.

use crate::attributes::model::{AttrFilter, EntityKind};
use crate::db::schema::contracts;
use crate::db::DbConnection;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::Text;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contracts)]
#[diesel(treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ContractRow {
    pub id: String,
    pub number: String,
    pub title: String,
    pub search_text: String,
    pub contract_type: String,
    pub customer_ref: String,
    pub customer_name: Option<String>,
    pub status: crate::contracts::model::Status,
    pub start_date: NaiveDate,
    pub term_months: Option<i32>,
    pub total_term_months: Option<i32>,
    pub end_date: Option<NaiveDate>,
    pub auto_renew: bool,
    pub renewal_term_months: Option<i32>,
    pub notice_period: Option<String>,
    pub notice_deadline: Option<NaiveDate>,
    pub signed_at: Option<NaiveDateTime>,
    pub terminated_on: Option<NaiveDate>,
    pub termination_reason: Option<String>,
    pub external_ref: Option<String>,
    pub parent_id: Option<String>,
    pub attributes: crate::db::column::Json<serde_json::Map<String, serde_json::Value>>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The contract's own service level as JSON.
    pub service_level: Option<crate::db::column::Json<crate::contracts::service_level::ServiceLevel>>,
    /// The contract's own owner (`user` | `role`, name); `None`: its parent's.
    pub owner_kind: Option<crate::tasks::model::AssigneeKind>,
    pub owner_name: Option<String>,
    /// The owner in force: its own, or else the nearest ancestor's. Written with the row when
    /// it is created and by [`set_effective_owner`] after that, never by a plain update, so that
    /// an update of a child cannot put back what a change of its parent's owner replaced.
    #[diesel(skip_update)]
    pub effective_owner_kind: Option<crate::tasks::model::AssigneeKind>,
    #[diesel(skip_update)]
    pub effective_owner_name: Option<String>,
    /// The contract's own reminders as JSON; `None`: the defaults of its type.
    pub reminders: Option<crate::db::column::Json<Vec<crate::contracts::model::Reminder>>>,
}

/// The filters of the contract list; all optional, combined with AND.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub status: Option<String>,
    pub contract_type: Option<String>,
    pub customer_ref: Option<String>,
    pub external_ref: Option<String>,
    pub number: Option<String>,
    pub q: Option<String>,
    pub parent_id: Option<String>,
    pub root: Option<bool>,
    pub expiring_before: Option<NaiveDate>,
    pub notice_before: Option<NaiveDate>,
    /// Owned (in force, own or inherited) by this user.
    pub owner_user: Option<String>,
    /// Owned (in force, own or inherited) by this role or team.
    pub owner_role: Option<String>,
    pub attrs: Vec<AttrFilter>,
}

pub fn get(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ContractRow>> {
    contracts::table.find(id).select(ContractRow::as_select()).first(conn).optional()
}

pub fn exists(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(contracts::table.find(id))).get_result(conn)
}

pub fn insert(conn: &mut DbConnection, row: &ContractRow) -> QueryResult<()> {
    diesel::insert_into(contracts::table).values(row).execute(conn).map(|_| ())
}

/// Writes many new contracts at once (bulk loads and imports).
pub fn insert_many(conn: &mut DbConnection, rows: &[ContractRow]) -> QueryResult<usize> {
    crate::bulk_insert!(conn, contracts::table, rows)
}

/// A unique human key of contracts.
#[derive(Clone, Copy)]
pub enum UniqueKey {
    Number,
    ExternalRef,
}

/// Which of `values` of a unique key are taken, each with its contract's id.
pub fn ids_by(conn: &mut DbConnection, key: UniqueKey, values: &[String]) -> QueryResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for chunk in values.chunks(500) {
        let q = contracts::table.select((contracts::number, contracts::external_ref, contracts::id)).into_boxed();
        let q = match key {
            UniqueKey::Number => q.filter(contracts::number.eq_any(chunk)),
            UniqueKey::ExternalRef => q.filter(contracts::external_ref.eq_any(chunk)),
        };
        for (number, external_ref, id) in q.load::<(String, Option<String>, String)>(conn)? {
            let value = match key {
                UniqueKey::Number => number,
                UniqueKey::ExternalRef => external_ref.unwrap_or_default(),
            };
            out.push((value, id));
        }
    }
    Ok(out)
}

/// Writes `row` if the stored version is still `expected_version`; false when it was not.
pub fn update(conn: &mut DbConnection, row: &ContractRow, expected_version: i64) -> QueryResult<bool> {
    diesel::update(contracts::table.filter(contracts::id.eq(&row.id)).filter(contracts::version.eq(expected_version)))
        .set(row)
        .execute(conn)
        .map(|n| n == 1)
}

/// Writes what the end of a term changes (status, term, the derived dates, version, update
/// time) for many contracts at once, each only if its stored version is still the one it was
/// read at (`row.version - 1`). Gives the ids of the contracts written.
pub fn update_terms(conn: &mut DbConnection, rows: &[&ContractRow]) -> QueryResult<Vec<String>> {
    use diesel::sql_types::{BigInt, Date, Integer, Nullable, Timestamp};
    let set = "status = v.column3, total_term_months = v.column4, end_date = v.column5, \
               notice_deadline = v.column6, version = v.column7, updated_at = v.column8";
    crate::db::update_versioned(conn, ("contracts", set, 8), rows, |q, row| {
        q.bind::<Text, _>(&row.id)
            .bind::<BigInt, _>(row.version - 1)
            .bind::<Text, _>(&row.status)
            .bind::<Nullable<Integer>, _>(row.total_term_months)
            .bind::<Nullable<Date>, _>(row.end_date)
            .bind::<Nullable<Date>, _>(row.notice_deadline)
            .bind::<BigInt, _>(row.version)
            .bind::<Timestamp, _>(row.updated_at)
    })
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::delete(contracts::table.find(id)).execute(conn).map(|_| ())
}

pub fn has_children(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(contracts::table.filter(contracts::parent_id.eq(id)))).get_result(conn)
}

/// One page of contracts in id (creation) order after `after`.
pub fn list(conn: &mut DbConnection, f: &ListFilter, after: Option<&str>, limit: i64) -> QueryResult<Vec<ContractRow>> {
    let mut q = contracts::table.select(ContractRow::as_select()).order(contracts::id.asc()).limit(limit).into_boxed();
    if let Some(v) = &f.status {
        q = q.filter(contracts::status.eq(v.clone()));
    }
    if let Some(v) = &f.contract_type {
        q = q.filter(contracts::contract_type.eq(v.clone()));
    }
    if let Some(v) = &f.customer_ref {
        q = q.filter(contracts::customer_ref.eq(v.clone()));
    }
    if let Some(v) = &f.external_ref {
        q = q.filter(contracts::external_ref.eq(v.clone()));
    }
    if let Some(v) = &f.number {
        q = q.filter(contracts::number.eq(v.clone()));
    }
    if let Some(v) = &f.q {
        let p = crate::db::contains_pattern(v);
        q = q.filter(contracts::search_text.like(p).escape('\\'));
    }
    if let Some(v) = &f.parent_id {
        q = q.filter(contracts::parent_id.eq(v.clone()));
    }
    match f.root {
        Some(true) => q = q.filter(contracts::parent_id.is_null()),
        Some(false) => q = q.filter(contracts::parent_id.is_not_null()),
        None => {}
    }
    if let Some(d) = f.expiring_before {
        q = q.filter(contracts::end_date.lt(d));
    }
    if let Some(d) = f.notice_before {
        q = q.filter(contracts::notice_deadline.lt(d));
    }
    if let Some(u) = &f.owner_user {
        q = q.filter(contracts::effective_owner_kind.eq("user")).filter(contracts::effective_owner_name.eq(u.clone()));
    }
    if let Some(r) = &f.owner_role {
        q = q.filter(contracts::effective_owner_kind.eq("role")).filter(contracts::effective_owner_name.eq(r.clone()));
    }
    q = crate::filter_by_attributes!(q, contracts::id, EntityKind::Contract, &f.attrs);
    if let Some(a) = after {
        q = q.filter(contracts::id.gt(a.to_string()));
    }
    q.load(conn)
}

/// Loads many contracts at once (one query), in no particular order.
/// The ids of the children of the contracts `ids`, one query per 500 of them.
pub fn child_ids(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<String>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            contracts::table.filter(contracts::parent_id.eq_any(chunk)).select(contracts::id).load::<String>(conn)?,
        );
    }
    Ok(out)
}

pub fn get_many(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<ContractRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(contracts::table.filter(contracts::id.eq_any(chunk)).select(ContractRow::as_select()).load(conn)?);
    }
    Ok(out)
}

/// Contracts whose end date has passed while they are still in force: auto-renewing ones to
/// renew, the others to expire. Oldest end first.
pub fn past_end(conn: &mut DbConnection, today: NaiveDate, limit: i64) -> QueryResult<Vec<ContractRow>> {
    contracts::table
        // Spelled out, not bound, so that SQLite too matches it to the partial index
        // `contracts_in_force_end`.
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>("contracts.status IN ('active', 'suspended')"))
        .filter(contracts::end_date.lt(today))
        .order((contracts::end_date.asc(), contracts::id.asc()))
        .limit(limit)
        .select(ContractRow::as_select())
        .load(conn)
}

/// Where generated contract numbers come from.
pub const NUMBERS: crate::db::numbers::Numbers =
    crate::db::numbers::Numbers { sequence: "contract_numbers", counter: "contract_number" };

/// Sets the owner in force of the contracts `ids` (one statement per 500).
pub fn set_effective_owner(
    conn: &mut DbConnection,
    ids: &[String],
    owner: Option<(crate::tasks::model::AssigneeKind, &str)>,
) -> QueryResult<()> {
    let (kind, name) = (owner.map(|o| o.0), owner.map(|o| o.1));
    for chunk in ids.chunks(500) {
        diesel::update(contracts::table.filter(contracts::id.eq_any(chunk)))
            .set((contracts::effective_owner_kind.eq(kind), contracts::effective_owner_name.eq(name)))
            .execute(conn)?;
    }
    Ok(())
}

/// Which contracts the reminder pass looks at.
pub enum ReminderScan {
    /// The contracts in force whose notice deadline or (when they do not renew by themselves)
    /// end date lies from `today` to `today + days`, or to `today + own_days` for those with
    /// reminders of their own.
    Window { today: NaiveDate, days: u32, own_days: u32 },
    /// The contracts in force written at or after this time.
    WrittenSince(NaiveDateTime),
}

/// The next `limit` contracts of a reminder scan after the id `after`, in id order.
pub fn reminder_candidates(
    conn: &mut DbConnection,
    scan: &ReminderScan,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ContractRow>> {
    let mut q = contracts::table
        .filter(contracts::status.eq_any(["active", "suspended"]))
        .order(contracts::id.asc())
        .limit(limit)
        .select(ContractRow::as_select())
        .into_boxed();
    match *scan {
        ReminderScan::Window { today, days, own_days } => {
            let until = |d: u32| today.checked_add_days(chrono::Days::new(d as u64)).unwrap_or(today);
            let (to, own_to) = (until(days), until(own_days));
            q = q.filter(
                contracts::notice_deadline
                    .between(today, to)
                    .or(contracts::auto_renew.eq(false).and(contracts::end_date.between(today, to)))
                    .or(contracts::reminders.is_not_null().and(
                        contracts::notice_deadline
                            .between(today, own_to)
                            .or(contracts::auto_renew.eq(false).and(contracts::end_date.between(today, own_to))),
                    )),
            );
        }
        ReminderScan::WrittenSince(since) => q = q.filter(contracts::updated_at.ge(since)),
    }
    if let Some(a) = after {
        q = q.filter(contracts::id.gt(a.to_string()));
    }
    q.load(conn)
}

/// Records that a reminder fired, unless it already did: the key (contract, reminder,
/// deadline) lets only the first firing in. Whether this one got in.
pub fn claim_reminder(
    conn: &mut DbConnection,
    contract_id: &str,
    reminder: &str,
    deadline: NaiveDate,
    task_id: &str,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    use diesel::sql_types::{Date, Timestamp};
    diesel::sql_query(
        "INSERT INTO contract_reminders (contract_id, reminder, deadline, task_id, fired_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (contract_id, reminder, deadline) DO NOTHING",
    )
    .bind::<Text, _>(contract_id)
    .bind::<Text, _>(reminder)
    .bind::<Date, _>(deadline)
    .bind::<Text, _>(task_id)
    .bind::<Timestamp, _>(at)
    .execute(conn)
    .map(|n| n == 1)
}
