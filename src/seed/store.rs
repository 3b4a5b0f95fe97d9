//! Bulk writes for `pactum seed`: COPY (binary) on PostgreSQL, multi-row INSERTs on SQLite.

use crate::db::schema::{attribute_definitions, attribute_values, contracts, counters, coverages, installations};
use crate::db::schema::{dossier_date_triggers, dossiers, obligations, service_calls, tasks};
use crate::db::DbConnection;
use diesel::prelude::*;

/// One row of the attribute value index.
#[derive(Clone, Debug, PartialEq, Insertable)]
#[diesel(table_name = attribute_values)]
#[diesel(treat_none_as_default_value = false)]
pub struct AttributeValueRow {
    pub entity_kind: String,
    pub entity_id: String,
    pub key: String,
    pub value_text: Option<String>,
    pub value_num: Option<f64>,
}

/// Writes `$rows` into `$table` in as few statements as the backend allows.
macro_rules! bulk {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            DbConnection::Postgres(c) => diesel::copy_from($table).from_insertable($rows).execute(c),
            DbConnection::Sqlite(c) => {
                let mut n = 0;
                for chunk in $rows.chunks(100) {
                    n += diesel::insert_into($table).values(chunk).execute(c)?;
                }
                Ok(n)
            }
        }
    };
}

pub fn contracts(conn: &mut DbConnection, rows: &[crate::contracts::store::ContractRow]) -> QueryResult<usize> {
    bulk!(conn, contracts::table, rows)
}

pub fn attribute_values(conn: &mut DbConnection, rows: &[AttributeValueRow]) -> QueryResult<usize> {
    bulk!(conn, attribute_values::table, rows)
}

pub fn installations(
    conn: &mut DbConnection,
    rows: &[crate::installations::store::InstallationRow],
) -> QueryResult<usize> {
    bulk!(conn, installations::table, rows)
}

pub fn coverages(conn: &mut DbConnection, rows: &[crate::installations::store::CoverageRow]) -> QueryResult<usize> {
    bulk!(conn, coverages::table, rows)
}

pub fn obligations(conn: &mut DbConnection, rows: &[crate::obligations::store::ObligationRow]) -> QueryResult<usize> {
    bulk!(conn, obligations::table, rows)
}

pub fn tasks(conn: &mut DbConnection, rows: &[crate::tasks::store::TaskRow]) -> QueryResult<usize> {
    bulk!(conn, tasks::table, rows)
}

pub fn service_calls(
    conn: &mut DbConnection,
    rows: &[crate::service_calls::store::ServiceCallRow],
) -> QueryResult<usize> {
    bulk!(conn, service_calls::table, rows)
}

pub fn dossiers(conn: &mut DbConnection, rows: &[crate::dossiers::store::DossierRow]) -> QueryResult<usize> {
    bulk!(conn, dossiers::table, rows)
}

pub fn date_triggers(conn: &mut DbConnection, rows: &[crate::dossiers::store::TriggerRow]) -> QueryResult<usize> {
    bulk!(conn, dossier_date_triggers::table, rows)
}

pub fn definition(conn: &mut DbConnection, row: &crate::attributes::store::DefinitionRow) -> QueryResult<usize> {
    diesel::insert_into(attribute_definitions::table).values(row).execute(conn)
}

pub fn has_contracts(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(contracts::table.select(contracts::id))).get_result(conn)
}

/// Moves a number counter past the seeded numbers.
pub fn set_counter(conn: &mut DbConnection, name: &str, value: i64) -> QueryResult<usize> {
    diesel::delete(counters::table.filter(counters::name.eq(name))).execute(conn)?;
    diesel::insert_into(counters::table).values((counters::name.eq(name), counters::value.eq(value))).execute(conn)
}

/// Refreshes the planner statistics after a bulk load (PostgreSQL; SQLite needs none here).
pub fn analyze(conn: &mut DbConnection) -> QueryResult<()> {
    if let DbConnection::Postgres(c) = conn {
        diesel::sql_query("ANALYZE").execute(c)?;
    }
    Ok(())
}
