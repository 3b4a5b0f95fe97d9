//! Schema migrations, embedded in the binary: one tree per backend, same versions and columns.

use super::{ConnectError, DbConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Applies every pending migration and returns how many ran.
pub fn run(conn: &mut DbConnection) -> Result<usize, ConnectError> {
    let applied = match conn {
        DbConnection::Postgres(c) => c.run_pending_migrations(POSTGRES).map(|v| v.len()),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE).map(|v| v.len()),
    };
    applied.map_err(|e| ConnectError(format!("migration failed: {e}")))
}
