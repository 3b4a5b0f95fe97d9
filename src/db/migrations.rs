//! Schema migrations, embedded in the binary: one tree per backend, same versions and columns.

use super::{ConnectError, DbConnection, MIGRATION_LOCK};
use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Applies every pending migration and returns how many ran. On PostgreSQL, instances that
/// start together take turns, so a second one finds the work done instead of failing on it.
pub fn run(conn: &mut DbConnection) -> Result<usize, ConnectError> {
    let applied = match conn {
        DbConnection::Postgres(c) => {
            let lock = |c: &mut diesel::PgConnection, sql: &str| {
                c.batch_execute(&format!("SELECT {sql}({MIGRATION_LOCK})"))
                    .map_err(|e| ConnectError(format!("migration lock failed: {e}")))
            };
            lock(c, "pg_advisory_lock")?;
            let result = c.run_pending_migrations(POSTGRES).map(|v| v.len());
            lock(c, "pg_advisory_unlock")?;
            result
        }
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE).map(|v| v.len()),
    };
    applied.map_err(|e| ConnectError(format!("migration failed: {e}")))
}
