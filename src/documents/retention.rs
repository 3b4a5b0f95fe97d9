//! The retention of removed documents: `DOCUMENT_RETENTION_DAYS` after a document was removed,
//! its bytes are let go (each document gets a `purged` event; its metadata and history stay).
//! Bytes that a kept version of another document still holds stay in the store. Unset, removed
//! documents keep their bytes for admins for ever.

use super::service;
use super::storage::DocumentStore;
use crate::clock::Clock;
use crate::db::Db;
use crate::events::Ctx;
use crate::http::ApiError;

/// Documents purged per transaction.
const BATCH: i64 = 200;

/// Purges the documents removed more than `days` days ago; gives how many bytes objects were
/// removed from the store.
pub async fn purge(db: &Db, store: &DocumentStore, clock: &Clock, days: u32) -> Result<usize, ApiError> {
    let now = clock.now();
    let cutoff = (now - chrono::Duration::days(i64::from(days))).naive_utc();
    let mut removed = 0;
    loop {
        let shas = db.write(move |c| service::purge_removed(c, &Ctx { actor: "system", now }, cutoff, BATCH)).await?;
        if shas.is_empty() {
            return Ok(removed);
        }
        for sha in shas {
            let s = sha.clone();
            if !db.read(move |c| service::referenced(c, &s)).await? {
                store.forget(&sha).await;
                removed += 1;
            }
        }
    }
}

/// Runs [`purge`] every `interval_secs` (0, or no retention period: never).
pub fn spawn(db: Db, store: DocumentStore, clock: Clock, days: Option<u32>, interval_secs: u64) {
    let Some(days) = days else { return };
    if interval_secs == 0 {
        return;
    }
    actix_web::rt::spawn(async move {
        loop {
            if let Err(e) = purge(&db, &store, &clock, days).await {
                tracing::warn!(error = %e, "document retention pass failed; will retry");
            }
            actix_web::rt::time::sleep(std::time::Duration::from_secs(interval_secs)).await;
        }
    });
}
