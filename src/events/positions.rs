//! Bringing the change feed up to date before it is read, and on every webhook dispatcher
//! pass: [`super::store::settle_batch`] passes, run only when some committed event still waits
//! for its position.

use super::store;
use crate::db::Db;
use crate::error::ApiError;

/// Gives every event committed so far its feed position, so that a read that follows shows all
/// of them. Blocking: call it from the blocking pool.
pub fn settle_pending(db: &Db) -> Result<usize, ApiError> {
    // SQLite gives each event its position as it is written.
    if db.backend() == crate::db::Backend::Sqlite
        || !db.read_blocking(|c| store::unsettled(c).map_err(ApiError::from))?
    {
        return Ok(0);
    }
    // One transaction per batch: a long backlog is worked off in short passes, each
    // readable as soon as it commits.
    store::until_settled(|| db.write_blocking(|c| store::settle_batch(c, store::SETTLE_BATCH).map_err(ApiError::from)))
}

/// [`settle_pending`] from an async handler.
pub async fn settled(db: &Db) -> Result<(), ApiError> {
    let db = db.clone();
    actix_web::web::block(move || settle_pending(&db)).await?.map(|_| ())
}
