//! The documents' background pass. The retention of removed documents:
//! `DOCUMENT_RETENTION_DAYS` after a document was removed, its versions are purged (each
//! document gets a `purged` event; its metadata and history stay). Unset, removed documents
//! keep their bytes for admins for ever. Then the collector (`blobs.rs`) lets go of bytes no
//! kept version refers to (purged ones, and those of uploads whose version never committed),
//! and staged uploads a stopped process abandoned are removed.

use super::blobs;
use super::service;
use super::storage::DocumentStore;
use crate::clock::Clock;
use crate::db::Db;
use crate::error::ApiError;
use crate::events::Ctx;

/// Documents purged per transaction.
const BATCH: i64 = 200;
/// A staged upload older than this belongs to a process that stopped.
const STAGING_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Purges the documents removed more than `days` days ago, then collects unreferenced bytes;
/// gives how many bytes objects were removed from the store.
pub async fn purge(db: &Db, store: &DocumentStore, clock: &Clock, days: u32) -> Result<usize, ApiError> {
    let now = clock.now();
    let cutoff = (now - chrono::Duration::days(i64::from(days))).naive_utc();
    while !db.write(move |c| service::purge_removed(c, &Ctx { actor: "system", now }, cutoff, BATCH)).await?.is_empty()
    {
    }
    blobs::collect(db, store, clock).await
}

/// One pass: [`purge`] when a retention period is set, otherwise only the collection; then
/// abandoned staged uploads.
pub async fn pass(db: &Db, store: &DocumentStore, clock: &Clock, days: Option<u32>) -> Result<usize, ApiError> {
    let removed = match days {
        Some(days) => purge(db, store, clock, days).await?,
        None => blobs::collect(db, store, clock).await?,
    };
    store.sweep_staging(STAGING_AGE).await;
    Ok(removed)
}

/// Runs [`pass`] every `interval_secs` (0: never).
pub fn spawn(db: Db, store: DocumentStore, clock: Clock, days: Option<u32>, interval_secs: u64) {
    if interval_secs == 0 {
        return;
    }
    actix_web::rt::spawn(async move {
        loop {
            if let Err(e) = pass(&db, &store, &clock, days).await {
                tracing::warn!(error = %e, "document retention pass failed; will retry");
            }
            actix_web::rt::time::sleep(std::time::Duration::from_secs(interval_secs)).await;
        }
    });
}
