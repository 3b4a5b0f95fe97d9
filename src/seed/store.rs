//! Bulk writes for `pactum seed`: COPY (binary) on PostgreSQL, multi-row INSERTs on SQLite.

use crate::db::schema::{attribute_definitions, contracts, coverages, installations};
use crate::db::schema::{dossier_date_triggers, dossiers, obligations, service_calls, tasks};
use crate::db::DbConnection;
use diesel::prelude::*;

pub fn installations(
    conn: &mut DbConnection,
    rows: &[crate::installations::store::InstallationRow],
) -> QueryResult<usize> {
    crate::bulk_insert!(conn, installations::table, rows)
}

pub fn coverages(conn: &mut DbConnection, rows: &[crate::installations::store::CoverageRow]) -> QueryResult<usize> {
    crate::bulk_insert!(conn, coverages::table, rows)
}

pub fn obligations(conn: &mut DbConnection, rows: &[crate::obligations::store::ObligationRow]) -> QueryResult<usize> {
    crate::bulk_insert!(conn, obligations::table, rows)
}

pub fn tasks(conn: &mut DbConnection, rows: &[crate::tasks::store::TaskRow]) -> QueryResult<usize> {
    crate::bulk_insert!(conn, tasks::table, rows)
}

pub fn service_calls(
    conn: &mut DbConnection,
    rows: &[crate::service_calls::store::ServiceCallRow],
) -> QueryResult<usize> {
    crate::bulk_insert!(conn, service_calls::table, rows)
}

pub fn dossiers(conn: &mut DbConnection, rows: &[crate::dossiers::store::DossierRow]) -> QueryResult<usize> {
    crate::bulk_insert!(conn, dossiers::table, rows)
}

pub fn date_triggers(conn: &mut DbConnection, rows: &[crate::dossiers::store::TriggerRow]) -> QueryResult<usize> {
    crate::bulk_insert!(conn, dossier_date_triggers::table, rows)
}

pub fn definition(conn: &mut DbConnection, row: &crate::attributes::store::DefinitionRow) -> QueryResult<usize> {
    diesel::insert_into(attribute_definitions::table).values(row).execute(conn)
}

pub fn has_contracts(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(contracts::table.select(contracts::id))).get_result(conn)
}

/// Refreshes the planner statistics after a bulk load (PostgreSQL; SQLite needs none here).
pub fn analyze(conn: &mut DbConnection) -> QueryResult<()> {
    if let DbConnection::Postgres(c) = conn {
        diesel::sql_query("ANALYZE").execute(c)?;
    }
    Ok(())
}
