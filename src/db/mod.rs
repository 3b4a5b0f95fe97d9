//! Database access: the two-backend connection, its pool, and running work on the blocking
//! pool so that no async worker ever waits on Diesel.

pub mod column;
pub mod expected;
pub mod hierarchy;
pub mod marks;
pub mod migrations;
pub mod numbers;
pub mod schema;

use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use crate::error::Transient;
pub use expected::Expected;

/// Work a request adds to each of its write transactions, run inside the transaction just
/// before it commits. The kernel knows no feature: the idempotency middleware registers its
/// key's mark here, so the mark commits with the work or not at all.
pub type BeforeCommit = Arc<dyn Fn(&mut DbConnection) -> QueryResult<()> + Send + Sync>;

tokio::task_local! {
    static BEFORE_COMMIT: BeforeCommit;
}

/// Runs `work` (a request's future) with `hook` run inside every write transaction it makes
/// through [`Db::write`], before the commit.
pub async fn with_before_commit<F: std::future::Future>(hook: BeforeCommit, work: F) -> F::Output {
    BEFORE_COMMIT.scope(hook, work).await
}

/// What the error of a blocking write must be: one a lost pool, a database error and a
/// [`Transient`] failure (which runs the transaction again) can all become.
pub trait BlockingWriteError: From<Unavailable> + From<diesel::result::Error> + Transient {}
impl<E: From<Unavailable> + From<diesel::result::Error> + Transient> BlockingWriteError for E {}

/// [`BlockingWriteError`] of a write run from an async handler on the blocking pool.
pub trait WriteError: BlockingWriteError + From<actix_web::error::BlockingError> + Send + 'static {}
impl<E: BlockingWriteError + From<actix_web::error::BlockingError> + Send + 'static> WriteError for E {}

/// One connection to either backend. Queries written once against this type run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// The query backend of [`DbConnection`], for naming boxed expressions.
pub type SqlBackend = <DbConnection as diesel::Connection>::Backend;

/// Runs `$body` with `$c` bound to the inner connection of either backend. For the few
/// statements the multi-backend type cannot express (batch inserts): each arm type-checks
/// on its own backend.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgres($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

/// `(a, id) > (x, y)` (or another comparison) over a sort column and an id as one row-value
/// comparison, for keyset pages and sweeps ordered by (a, id). Both backends use it as a range
/// bound on an index over (…, a, id); the same condition spelled `a > x OR (a = x AND id > y)` is
/// only a filter to them, so every page re-reads all entries from `a = x` on (a day of 100,000
/// tasks: 120 ms a page instead of 1 ms, by `EXPLAIN ANALYZE` on the full set).
#[macro_export]
macro_rules! row_cmp {
    ($columns:literal $op:literal ($sql_type:ty, $first:expr), $id:expr) => {
        diesel::dsl::sql::<diesel::sql_types::Bool>(concat!("(", $columns, ") ", $op, " ("))
            .bind::<$sql_type, _>($first)
            .sql(", ")
            .bind::<diesel::sql_types::Text, _>($id)
            .sql(")")
    };
}

/// Writes the insertable rows `$rows` (a slice) into `$table` in as few statements as the
/// backend allows: one binary COPY on PostgreSQL, multi-row INSERTs of 100 on SQLite (whose
/// statements take a bounded number of parameters). Gives the number of rows written.
#[macro_export]
macro_rules! bulk_insert {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgres(c) => diesel::copy_from($table).from_insertable($rows).execute(c),
            $crate::db::DbConnection::Sqlite(c) => {
                let mut n = 0;
                for chunk in $rows.chunks(100) {
                    n += diesel::insert_into($table).values(chunk).execute(c)?;
                }
                Ok(n)
            }
        }
    };
}

/// How a write holds a row it reads until its transaction ends, on PostgreSQL (SQLite's single
/// writer holds the whole database). The rows a write takes, in this order: the owning row of
/// what it changes (a contract, dossier, call, obligation, webhook, …) before its child rows,
/// and child rows in id order; see ARCHITECTURE.md ("Transactions and locks").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// `FOR SHARE`: the row must not change until the commit; other writes may share it.
    Share,
    /// `FOR NO KEY UPDATE`: the row is about to change; the write waits for one already
    /// changing it and then reads what that one committed. (Unlike `FOR UPDATE` it lets rows
    /// referring to it be written meanwhile.)
    Update,
}

impl Hold {
    /// Holds the row of `table` whose `id` is `id` (if there is one) until the transaction
    /// ends. A write calls it before it loads the row it is about to check and change: the
    /// load then reads what the last write of that row committed, and writes of one row run
    /// one after the other instead of failing each other's version checks.
    pub fn row(self, conn: &mut DbConnection, table: &'static str, id: &str) -> QueryResult<()> {
        self.lock(conn, table, id, "").map(|_| ())
    }

    /// [`Hold::row`] unless another transaction holds the row now (`SKIP LOCKED`): true when
    /// this one holds it (always on SQLite), false when it is taken or does not exist. For
    /// background passes, which leave a row that is busy for later.
    pub fn try_row(self, conn: &mut DbConnection, table: &'static str, id: &str) -> QueryResult<bool> {
        if !matches!(conn, DbConnection::Postgres(_)) {
            return Ok(true);
        }
        self.lock(conn, table, id, " SKIP LOCKED").map(|n| n == 1)
    }

    /// Locks the row on PostgreSQL (`wait` says what to do when another holds it); gives how
    /// many rows it locked.
    fn lock(self, conn: &mut DbConnection, table: &'static str, id: &str, wait: &str) -> QueryResult<usize> {
        let DbConnection::Postgres(c) = conn else { return Ok(0) };
        let mode = match self {
            Hold::Share => "SHARE",
            Hold::Update => "NO KEY UPDATE",
        };
        diesel::sql_query(format!("SELECT 1 FROM {table} WHERE id = $1 FOR {mode}{wait}"))
            .bind::<diesel::sql_types::Text, _>(id)
            .execute(c)
    }
}

/// Holds, on PostgreSQL, a lock keyed by `key` within `class` until the transaction ends: for
/// writes that must follow each other where there is no row to lock (yet), such as pushes of
/// one external reference or moves within one tree. The classes, each with one job:
/// [`KEY_CONTRACT_REF`], [`KEY_INSTALLATION_REF`], [`KEY_INSTALLATION_SERIAL`] and those of
/// `hierarchy::Tree`.
pub fn hold_key(conn: &mut DbConnection, class: i32, key: &str) -> QueryResult<()> {
    let DbConnection::Postgres(c) = conn else { return Ok(()) };
    diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind::<diesel::sql_types::Integer, _>(class)
        .bind::<diesel::sql_types::Text, _>(key)
        .execute(c)
        .map(|_| ())
}

/// [`hold_key`] class of a contract's external reference.
pub const KEY_CONTRACT_REF: i32 = 0x5043_0003;
/// [`hold_key`] class of an installation's external reference.
pub const KEY_INSTALLATION_REF: i32 = 0x5043_0004;
/// [`hold_key`] class of an installation's serial number, held by pushes that may create the
/// installation (a contract push naming it unknown, an installation push).
pub const KEY_INSTALLATION_SERIAL: i32 = 0x5043_0005;

/// Loads the first row of `$query` (optional) and holds it as `$hold` ([`db::Hold`]) says.
#[macro_export]
macro_rules! first_held {
    ($conn:expr, $query:expr, $hold:expr) => {
        match ($conn, $hold) {
            ($crate::db::DbConnection::Postgres(c), $crate::db::Hold::Update) => {
                $query.for_no_key_update().first(c).optional()
            }
            ($crate::db::DbConnection::Postgres(c), $crate::db::Hold::Share) => $query.for_share().first(c).optional(),
            (c, _) => $query.first(c).optional(),
        }
    };
}

/// A raw statement of either backend with its values bound one by one.
pub type BoundSql<'a> = diesel::query_builder::BoxedSqlQuery<'a, SqlBackend, diesel::query_builder::SqlQuery>;

/// Writes many rows of `table` at once, each only if its stored version is still the one it
/// was read at: `UPDATE table SET set FROM (VALUES …) AS v WHERE table.id = v.column1 AND
/// table.version = v.column2`, one statement per 200 rows. `set` assigns from `v.column3` on,
/// `width` is the number of values per row, and `bind` binds one row's values in column order,
/// its id and expected version first. Gives the ids of the rows written.
pub fn update_versioned<'a, R>(
    conn: &mut DbConnection,
    (table, set, width): (&str, &str, usize),
    rows: &'a [R],
    bind: impl Fn(BoundSql<'a>, &'a R) -> BoundSql<'a>,
) -> QueryResult<Vec<String>> {
    let mut written = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(200) {
        let sql = format!(
            "UPDATE {table} SET {set} FROM (VALUES {}) AS v \
             WHERE {table}.id = v.column1 AND {table}.version = v.column2 RETURNING id",
            values_rows(chunk.len(), width)
        );
        let q = chunk.iter().fold(diesel::sql_query(sql).into_boxed::<SqlBackend>(), &bind);
        written.extend(q.load::<WrittenId>(conn)?.into_iter().map(|w| w.id));
    }
    Ok(written)
}

/// The rows of a `(VALUES …)` list: `rows` rows of `width` parameters, `$1` on. Both backends
/// name such columns `column1`, `column2`, …; SQLite numbers `$n` parameters by first use, so
/// they are bound in exactly this order.
fn values_rows(rows: usize, width: usize) -> String {
    let mut sql = String::with_capacity(rows * width * 5);
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", 1 + r * width + c));
        }
        sql.push(')');
    }
    sql
}

/// The id of a row a raw statement wrote (`RETURNING id`).
#[derive(diesel::QueryableByName, Debug)]
struct WrittenId {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

// The PostgreSQL advisory lock keys, each with one job (0x5041_4354_0001 was the global write
// lock every write once held; it is not used again). Others: `events::store::SETTLE_LOCK`,
// `attributes::store::DEFINITIONS_LOCK`.
/// Key of the session lock that lets one starting instance migrate at a time.
const MIGRATION_LOCK: i64 = 0x5041_4354_0002;

/// A `LIKE … ESCAPE '\\'` pattern matching lowercased text that contains `q` (wildcards in `q`
/// are taken literally). Both backends compare a lowercased search column with it.
pub fn contains_pattern(q: &str) -> String {
    let escaped = q.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// Which engine a URL points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// Picks the backend from the URL scheme; everything that is not PostgreSQL is a SQLite path.
    pub fn from_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// True when the connection talks to PostgreSQL.
pub fn is_postgres(conn: &DbConnection) -> bool {
    matches!(conn, DbConnection::Postgres(_))
}

/// Why a connection could not be made; the message is meant for one clear log line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(pub String);

/// Folds a multi-line driver message into one log line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Opens connections of the backend the URL names, with the per-connection settings SQLite needs.
#[derive(Clone, Debug)]
pub struct DbManager {
    url: String,
    backend: Backend,
}

impl DbManager {
    pub fn new(url: &str) -> DbManager {
        DbManager { url: url.to_string(), backend: Backend::from_url(url) }
    }

    /// Opens one connection.
    pub fn establish(&self) -> Result<DbConnection, ConnectError> {
        match self.backend {
            Backend::Postgres => diesel::PgConnection::establish(&self.url)
                .map(DbConnection::Postgres)
                .map_err(|e| ConnectError(format!("cannot connect to PostgreSQL: {}", one_line(&e.to_string())))),
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite://").unwrap_or(&self.url);
                if let Some(parent) = std::path::Path::new(path).parent() {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent)
                            .map_err(|e| ConnectError(format!("cannot create folder {}: {e}", parent.display())))?;
                    }
                }
                let mut conn = diesel::SqliteConnection::establish(path).map_err(|e| {
                    ConnectError(format!("cannot open SQLite database {path}: {}", one_line(&e.to_string())))
                })?;
                // WAL lets readers run beside the single writer; foreign keys are off by default.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )
                .map_err(|e| ConnectError(format!("cannot configure SQLite database {path}: {e}")))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

impl ManageConnection for DbManager {
    type Connection = DbConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConnection, ConnectError> {
        self.establish()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectError> {
        conn.batch_execute("SELECT 1").map_err(|e| ConnectError(e.to_string()))
    }

    /// A connection whose server went away (or whose transaction could not be closed) is
    /// dropped when it comes back, so the pool heals without a test query per checkout.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::r2d2::R2D2Connection;
        std::thread::panicking()
            || match conn {
                DbConnection::Postgres(c) => c.is_broken(),
                DbConnection::Sqlite(c) => c.is_broken(),
            }
    }
}

/// The pool could not hand out a connection: the database is unreachable.
#[derive(Debug, thiserror::Error)]
#[error("database unavailable: {0}")]
pub struct Unavailable(pub String);

impl From<Unavailable> for crate::error::ApiError {
    fn from(e: Unavailable) -> crate::error::ApiError {
        tracing::warn!(error = %e, "database unavailable");
        crate::error::ApiError::unavailable()
    }
}

/// Handle to the database shared by every request: the pool plus, on SQLite, the lock that
/// keeps writers of this process in line (SQLite allows one writer at a time).
#[derive(Clone)]
pub struct Db {
    pool: Pool<DbManager>,
    backend: Backend,
    sqlite_writer: Arc<Mutex<()>>,
}

impl Db {
    /// Builds the pool without connecting; connections are made on demand.
    pub fn new(url: &str, pool_size: u32) -> Db {
        let manager = DbManager::new(url);
        let backend = manager.backend;
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(3))
            // A `SELECT 1` before every request cost a round trip on each; broken connections
            // are caught by `has_broken` instead, and a request that meets one answers 503.
            .test_on_check_out(false)
            .build_unchecked(manager);
        Db { pool, backend, sqlite_writer: Arc::new(Mutex::new(())) }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks out a connection (blocking; call from the blocking pool).
    pub fn conn(&self) -> Result<PooledConnection<DbManager>, Unavailable> {
        self.pool.get().map_err(|e| Unavailable(e.to_string()))
    }

    /// Runs read-only work on the blocking pool.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<Unavailable> + From<actix_web::error::BlockingError> + Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || {
            let mut conn = db.conn()?;
            f(&mut conn)
        })
        .await?
    }

    /// Runs `f` in one transaction on the blocking pool: everything it writes, events
    /// included, commits together or not at all. Writes run beside each other on PostgreSQL,
    /// ordered only by the rows they lock or update (SQLite: one writer at a time). A
    /// transaction the database gave up on (deadlock, serialization failure, a row changed
    /// meanwhile) runs again whole ([`ATTEMPTS`]), each time with a fresh copy of `f` (hence
    /// `Clone`).
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: WriteError,
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Clone + Send + 'static,
    {
        let db = self.clone();
        let hook = BEFORE_COMMIT.try_with(Clone::clone).ok();
        actix_web::web::block(move || {
            db.transaction(|c| {
                let out = f.clone()(c)?;
                if let Some(hook) = &hook {
                    hook(c)?;
                }
                Ok(out)
            })
        })
        .await?
    }

    /// Read-only work for background jobs already off the async workers.
    pub fn read_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<Unavailable>,
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
    {
        let mut conn = self.conn()?;
        f(&mut conn)
    }

    /// The blocking core of [`Db::write`], for background jobs already off the async workers.
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: BlockingWriteError,
        F: FnMut(&mut DbConnection) -> Result<T, E>,
    {
        self.transaction(f)
    }

    /// How many connections the pool holds at most.
    pub fn max_connections(&self) -> u32 {
        self.pool.max_size()
    }

    /// Runs `f` in a transaction, and again whole (up to [`ATTEMPTS`] in all,
    /// after a short random pause) while it fails with a [`Transient`] error: one transaction,
    /// so safe to run again.
    fn transaction<T, E, F>(&self, mut f: F) -> Result<T, E>
    where
        E: BlockingWriteError,
        F: FnMut(&mut DbConnection) -> Result<T, E>,
    {
        let mut attempt = 1;
        loop {
            match self.transaction_once(&mut f) {
                Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                    let pause = rand::random_range(1..=10u64) * attempt as u64;
                    tracing::debug!(attempt, pause_ms = pause, "transaction gave way to another; running it again");
                    std::thread::sleep(Duration::from_millis(pause));
                    attempt += 1;
                }
                done => return done,
            }
        }
    }

    fn transaction_once<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<Unavailable> + From<diesel::result::Error>,
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
    {
        let mut pooled = self.conn()?;
        let conn: &mut DbConnection = &mut pooled;
        match conn {
            DbConnection::Postgres(ref mut pg) => {
                // Pinned: the feed's positions and the locks of check-then-write rules rely on
                // each statement seeing what committed before it began (after a lock), which a
                // database default of REPEATABLE READ would break.
                begin_with(pg, "BEGIN ISOLATION LEVEL READ COMMITTED")?;
                finish(conn, f)
            }
            DbConnection::Sqlite(_) => {
                let _writer = self.sqlite_writer.lock().unwrap_or_else(|e| e.into_inner());
                conn.transaction(f)
            }
        }
    }
}

/// How many times a write transaction runs at most when the database gives up on it.
pub const ATTEMPTS: u32 = 4;

/// Opens a transaction with `sql`, a `BEGIN` that names its isolation level.
fn begin_with(pg: &mut diesel::PgConnection, sql: &str) -> QueryResult<()> {
    diesel::connection::AnsiTransactionManager::begin_transaction_sql(pg, sql).inspect_err(|_| {
        // BEGIN may have gone through before the error: the connection must not go back to the
        // pool inside that failed transaction.
        let _ = pg.batch_execute("ROLLBACK");
    })
}

/// The rest of what `Connection::transaction` does, after [`begin_with`]: commits what `f`
/// did, or rolls it back when it fails.
fn finish<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    E: From<diesel::result::Error>,
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback_error) => Err(rollback_error.into()),
        },
    }
}

/// Helper for `r2d2` users elsewhere (tests, CLI) that need the raw pool type.
pub type DbPool = Pool<DbManager>;
pub use r2d2::PooledConnection as Pooled;

#[cfg(test)]
mod tests {
    #[test]
    fn values_rows_number_their_parameters_in_the_order_they_are_bound() {
        assert_eq!(super::values_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(super::values_rows(1, 2), "($1, $2)");
    }
}
