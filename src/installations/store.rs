//! Queries on installations and coverage.

use crate::attributes::model::{AttrFilter, EntityKind};
use crate::contracts::store::ContractRow;
use crate::db::schema::{contracts, coverages, installations};
use crate::db::DbConnection;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = installations)]
#[diesel(treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct InstallationRow {
    pub id: String,
    pub serial_number: String,
    pub name: String,
    pub search_text: String,
    pub installation_type: String,
    pub customer_ref: String,
    pub location: crate::db::column::Json<crate::installations::model::Location>,
    pub installed_at: Option<NaiveDate>,
    pub status: crate::installations::model::Status,
    pub parent_id: Option<String>,
    pub external_ref: Option<String>,
    pub attributes: crate::db::column::Json<serde_json::Map<String, serde_json::Value>>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = coverages)]
#[diesel(treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct CoverageRow {
    pub id: String,
    pub contract_id: String,
    pub installation_id: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The contract's type, copied so that PostgreSQL's exclusion constraint
    /// `coverages_no_overlap` can refuse two links of one type on one day.
    pub contract_type: String,
}

/// The filters of the installation list; all optional, combined with AND.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub customer_ref: Option<String>,
    pub installation_type: Option<String>,
    pub status: Option<String>,
    pub serial_number: Option<String>,
    pub external_ref: Option<String>,
    pub q: Option<String>,
    pub parent_id: Option<String>,
    pub attrs: Vec<AttrFilter>,
}

pub fn get(conn: &mut DbConnection, id: &str) -> QueryResult<Option<InstallationRow>> {
    installations::table.find(id).select(InstallationRow::as_select()).first(conn).optional()
}

pub fn exists(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(installations::table.find(id))).get_result(conn)
}

pub fn by_serial_number(conn: &mut DbConnection, serial: &str) -> QueryResult<Option<InstallationRow>> {
    installations::table
        .filter(installations::serial_number.eq(serial))
        .select(InstallationRow::as_select())
        .first(conn)
        .optional()
}

pub fn by_external_ref(conn: &mut DbConnection, external_ref: &str) -> QueryResult<Option<InstallationRow>> {
    installations::table
        .filter(installations::external_ref.eq(external_ref))
        .select(InstallationRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, row: &InstallationRow) -> QueryResult<()> {
    diesel::insert_into(installations::table).values(row).execute(conn).map(|_| ())
}

/// Writes `row` if the stored version is still `expected_version`; false when it was not.
pub fn update(conn: &mut DbConnection, row: &InstallationRow, expected_version: i64) -> QueryResult<bool> {
    diesel::update(
        installations::table.filter(installations::id.eq(&row.id)).filter(installations::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
    .map(|n| n == 1)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::delete(installations::table.find(id)).execute(conn).map(|_| ())
}

pub fn has_components(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(installations::table.filter(installations::parent_id.eq(id)))).get_result(conn)
}

/// One page of installations in id (creation) order after `after`.
pub fn list(
    conn: &mut DbConnection,
    f: &ListFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<InstallationRow>> {
    let mut q = installations::table
        .select(InstallationRow::as_select())
        .order(installations::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(v) = &f.customer_ref {
        q = q.filter(installations::customer_ref.eq(v.clone()));
    }
    if let Some(v) = &f.installation_type {
        q = q.filter(installations::installation_type.eq(v.clone()));
    }
    if let Some(v) = &f.status {
        q = q.filter(installations::status.eq(v.clone()));
    }
    if let Some(v) = &f.serial_number {
        q = q.filter(installations::serial_number.eq(v.clone()));
    }
    if let Some(v) = &f.external_ref {
        q = q.filter(installations::external_ref.eq(v.clone()));
    }
    if let Some(v) = &f.q {
        q = q.filter(installations::search_text.like(crate::db::contains_pattern(v)).escape('\\'));
    }
    if let Some(v) = &f.parent_id {
        q = q.filter(installations::parent_id.eq(v.clone()));
    }
    q = crate::filter_by_attributes!(q, installations::id, EntityKind::Installation, &f.attrs);
    if let Some(a) = after {
        q = q.filter(installations::id.gt(a.to_string()));
    }
    q.load(conn)
}

/// The installations with any of these serial numbers (one query per 500).
pub fn by_serial_numbers(conn: &mut DbConnection, serials: &[String]) -> QueryResult<Vec<InstallationRow>> {
    let mut out = Vec::with_capacity(serials.len());
    for chunk in serials.chunks(500) {
        out.extend(
            installations::table
                .filter(installations::serial_number.eq_any(chunk))
                .select(InstallationRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

pub fn get_many(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<InstallationRow>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(
            installations::table
                .filter(installations::id.eq_any(chunk))
                .select(InstallationRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

pub fn get_coverage(
    conn: &mut DbConnection,
    contract_id: &str,
    installation_id: &str,
) -> QueryResult<Option<CoverageRow>> {
    coverages::table
        .filter(coverages::contract_id.eq(contract_id))
        .filter(coverages::installation_id.eq(installation_id))
        .select(CoverageRow::as_select())
        .first(conn)
        .optional()
}

/// Inserts coverage links (one statement per 500 on PostgreSQL; row by row inside the
/// transaction on SQLite, which cannot batch rows with absent values).
pub fn insert_coverages(conn: &mut DbConnection, rows: &[CoverageRow]) -> QueryResult<()> {
    match conn {
        DbConnection::Postgres(c) => {
            for chunk in rows.chunks(500) {
                diesel::insert_into(coverages::table).values(chunk).execute(c)?;
            }
        }
        DbConnection::Sqlite(c) => {
            for row in rows {
                diesel::insert_into(coverages::table).values(row).execute(c)?;
            }
        }
    }
    Ok(())
}

pub fn update_coverage(conn: &mut DbConnection, row: &CoverageRow, expected_version: i64) -> QueryResult<bool> {
    diesel::update(coverages::table.filter(coverages::id.eq(&row.id)).filter(coverages::version.eq(expected_version)))
        .set(row)
        .execute(conn)
        .map(|n| n == 1)
}

/// Copies a contract's new type onto those of its links that do not have it yet (the type the
/// overlap constraint reads).
pub fn set_coverage_type(conn: &mut DbConnection, contract_id: &str, contract_type: &str) -> QueryResult<usize> {
    diesel::update(
        coverages::table
            .filter(coverages::contract_id.eq(contract_id))
            .filter(coverages::contract_type.ne(contract_type)),
    )
    .set(coverages::contract_type.eq(contract_type))
    .execute(conn)
}

pub fn delete_coverage(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::delete(coverages::table.find(id)).execute(conn).map(|_| ())
}

/// The coverage of one contract with its installations, in installation-id order.
pub fn coverage_of_contract(
    conn: &mut DbConnection,
    contract_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(CoverageRow, InstallationRow)>> {
    let mut q = coverages::table
        .inner_join(installations::table)
        .filter(coverages::contract_id.eq(contract_id.to_string()))
        .order(coverages::installation_id.asc())
        .limit(limit)
        .select((CoverageRow::as_select(), InstallationRow::as_select()))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(coverages::installation_id.gt(a.to_string()));
    }
    q.load(conn)
}

/// Every coverage row of one contract (for termination and renewal).
pub fn all_coverage_of_contract(conn: &mut DbConnection, contract_id: &str) -> QueryResult<Vec<CoverageRow>> {
    coverages::table.filter(coverages::contract_id.eq(contract_id)).select(CoverageRow::as_select()).load(conn)
}

/// Every coverage row of some contracts (for renewals at the end of their terms): one query
/// per 500 contracts.
pub fn all_coverage_of_contracts(conn: &mut DbConnection, contract_ids: &[String]) -> QueryResult<Vec<CoverageRow>> {
    let mut out = Vec::new();
    for chunk in contract_ids.chunks(500) {
        out.extend(
            coverages::table
                .filter(coverages::contract_id.eq_any(chunk))
                .order((coverages::contract_id.asc(), coverages::installation_id.asc()))
                .select(CoverageRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Writes the period of many coverage links at once, each only if its stored version is still
/// the one it was read at (`row.version - 1`). Gives the ids written.
pub fn update_coverages(conn: &mut DbConnection, rows: &[&CoverageRow]) -> QueryResult<Vec<String>> {
    use diesel::sql_types::{BigInt, Date, Nullable, Text, Timestamp};
    let set = "valid_from = v.column3, valid_to = v.column4, version = v.column5, updated_at = v.column6, \
               contract_type = v.column7";
    crate::db::update_versioned(conn, ("coverages", set, 7), rows, |q, row| {
        q.bind::<Text, _>(&row.id)
            .bind::<BigInt, _>(row.version - 1)
            .bind::<Date, _>(row.valid_from)
            .bind::<Nullable<Date>, _>(row.valid_to)
            .bind::<BigInt, _>(row.version)
            .bind::<Timestamp, _>(row.updated_at)
            .bind::<Text, _>(&row.contract_type)
    })
}

pub fn contract_has_coverage(conn: &mut DbConnection, contract_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(coverages::table.filter(coverages::contract_id.eq(contract_id))))
        .get_result(conn)
}

pub fn installation_has_coverage(conn: &mut DbConnection, installation_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(coverages::table.filter(coverages::installation_id.eq(installation_id))))
        .get_result(conn)
}

/// The coverage of some installations with their contracts, in (installation, contract) order;
/// with `in_force_on`, only the links that cover that day.
pub fn coverage_of_installations(
    conn: &mut DbConnection,
    installation_ids: &[String],
    in_force_on: Option<NaiveDate>,
    after_contract: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(CoverageRow, ContractRow)>> {
    if let Some(day) = in_force_on {
        return in_force(conn, installation_ids, day, after_contract, limit);
    }
    let mut q = coverages::table
        .inner_join(contracts::table)
        .filter(coverages::installation_id.eq_any(installation_ids.to_vec()))
        .order((coverages::installation_id.asc(), coverages::contract_id.asc()))
        .limit(limit)
        .select((CoverageRow::as_select(), ContractRow::as_select()))
        .into_boxed();
    if let Some(a) = after_contract {
        q = q.filter(coverages::contract_id.gt(a.to_string()));
    }
    q.load(conn)
}

/// The links that cover `day`, and whose contract was in force that day: drafts and suspended
/// contracts never are; terminated and expired ones were, up to their end date. Two indexed
/// queries (the few links of these installations, then their contracts) rather than a join a
/// planner may start from the contracts' side and read every active contract.
fn in_force(
    conn: &mut DbConnection,
    installation_ids: &[String],
    day: NaiveDate,
    after_contract: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(CoverageRow, ContractRow)>> {
    let mut q = coverages::table
        .filter(coverages::installation_id.eq_any(installation_ids.to_vec()))
        .filter(coverages::valid_from.le(day))
        .filter(coverages::valid_to.is_null().or(coverages::valid_to.ge(day)))
        .select(CoverageRow::as_select())
        .into_boxed();
    if let Some(a) = after_contract {
        q = q.filter(coverages::contract_id.gt(a.to_string()));
    }
    let links: Vec<CoverageRow> = q.load(conn)?;
    let ids: Vec<String> = links.iter().map(|l| l.contract_id.clone()).collect();
    let mut in_force = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let found: Vec<ContractRow> = contracts::table
            .filter(contracts::id.eq_any(chunk))
            .filter(contracts::status.eq_any(["active", "terminated", "expired"]))
            .filter(contracts::start_date.le(day))
            .filter(contracts::end_date.is_null().or(contracts::end_date.ge(day)))
            .select(ContractRow::as_select())
            .load(conn)?;
        in_force.extend(found.into_iter().map(|c| (c.id.clone(), c)));
    }
    let mut rows: Vec<(CoverageRow, ContractRow)> =
        links.into_iter().filter_map(|l| in_force.get(&l.contract_id).cloned().map(|c| (l, c))).collect();
    rows.sort_by(|(a, _), (b, _)| (&a.installation_id, &a.contract_id).cmp(&(&b.installation_id, &b.contract_id)));
    rows.truncate(limit.max(0) as usize);
    Ok(rows)
}
