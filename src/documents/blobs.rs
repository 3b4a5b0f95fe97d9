//! The life of stored bytes: an upload claims the bytes' hash before it files them, and the
//! collector lets go of bytes that no kept version refers to. Both go through the bytes' claim
//! record (`document_blobs`), locked for the moment a decision takes, so that:
//!
//! - bytes an upload filed but whose version never committed (the process stopped in between,
//!   the write was refused) are let go, at once when the upload saw its write refused, or by
//!   the collector [`CLAIM_GRACE`] after the claim;
//! - bytes whose last kept version was purged by the retention period are let go;
//! - an upload of bytes that are being let go waits until they are gone and files them anew,
//!   so a version never points at bytes the collector removed.
//!
//! The object store is never called inside a transaction: a release is marked in one write,
//! the object removed, and the record dropped in another.

use super::storage::{DocumentStore, Staged, Stored};
use super::store;
use crate::clock::Clock;
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use chrono::{Duration, NaiveDateTime};
use diesel::QueryResult;

/// How long after a claim the collector looks whether a version refers to the bytes: far
/// longer than an upload takes from filing its bytes to committing its version.
pub const CLAIM_GRACE: Duration = Duration::hours(1);
/// A release begun this long ago and never finished (its process stopped) is taken over.
const STALE_RELEASE: Duration = Duration::minutes(10);
/// How long an upload waits, in steps, for a release of the same bytes to finish.
const WAIT_STEP: std::time::Duration = std::time::Duration::from_millis(50);
const WAIT_STEPS: u32 = 200;
/// Claim records looked at per transaction.
const BATCH: i64 = 200;

/// Bytes an upload filed, with its claim on them.
#[derive(Debug, Clone)]
pub struct Filed {
    pub stored: Stored,
    claim: i64,
}

/// Claims the staged bytes' hash, then files them under it. Waits while the same bytes are
/// being let go; 503 if that does not end within a few seconds.
pub async fn file(db: &Db, clock: &Clock, staged: Staged) -> Result<Filed, ApiError> {
    let sha = staged.stored().sha256.clone();
    for _ in 0..WAIT_STEPS {
        let (s, now) = (sha.clone(), clock.now().naive_utc());
        if let Some(claim) = db.write(move |c| claim(c, &s, now).map_err(ApiError::from)).await? {
            let stored = staged.file().await?;
            return Ok(Filed { stored, claim });
        }
        actix_web::rt::time::sleep(WAIT_STEP).await;
    }
    Err(ApiError::new(
        crate::error::Kind::Unavailable,
        "document_store_busy",
        "the same bytes are being removed from the document store; try again shortly",
    )
    .with_header("retry-after", "5"))
}

/// Records a claim on `sha256`: the number of the claim, or `None` while the bytes are being
/// let go.
fn claim(conn: &mut DbConnection, sha256: &str, now: NaiveDateTime) -> QueryResult<Option<i64>> {
    let mut row = store::lock_blob(conn, sha256)?;
    if row.releasing_at.is_some_and(|at| at > now - STALE_RELEASE) {
        return Ok(None);
    }
    row.claims += 1;
    row.releasing_at = None;
    row.check_at = Some(now + CLAIM_GRACE);
    store::set_blob(conn, &row)?;
    Ok(Some(row.claims))
}

/// Lets go at once of the bytes of an upload whose version was refused, unless a version
/// holds them or another upload claimed them since.
pub async fn release_refused(db: &Db, documents: &DocumentStore, clock: &Clock, filed: &Filed) {
    let (sha, claim, now) = (filed.stored.sha256.clone(), filed.claim, clock.now().naive_utc());
    let started = db.write(move |c| begin_release(c, &[sha], now, Some(claim)).map_err(ApiError::from)).await;
    match started {
        Ok(shas) => finish_release(db, documents, shas).await,
        Err(e) => tracing::warn!(error = %e, "could not let refused document bytes go; the collector will"),
    }
}

/// Lets go of the bytes due for a look that no kept version refers to; gives how many objects
/// were removed from the store.
pub async fn collect(db: &Db, documents: &DocumentStore, clock: &Clock) -> Result<usize, ApiError> {
    let now = clock.now().naive_utc();
    let mut after: Option<(NaiveDateTime, String)> = None;
    let mut removed = 0;
    loop {
        let cursor = after.clone();
        let due = db.read(move |c| store::due_blobs(c, now, cursor.as_ref(), BATCH).map_err(ApiError::from)).await?;
        let Some(last) = due.last().cloned() else { return Ok(removed) };
        after = Some(last);
        let shas: Vec<String> = due.into_iter().map(|(_, sha)| sha).collect();
        let released = db.write(move |c| begin_release(c, &shas, now, None).map_err(ApiError::from)).await?;
        removed += released.len();
        finish_release(db, documents, released).await;
    }
}

/// Marks as being let go those of `shas` that may go, in hash order (the lock order of claim
/// records): with `only_claim`, bytes whose last claim is that one; otherwise bytes due for a
/// look. Bytes a kept version refers to stay, and are not looked at again until purged.
fn begin_release(
    conn: &mut DbConnection,
    shas: &[String],
    now: NaiveDateTime,
    only_claim: Option<i64>,
) -> QueryResult<Vec<String>> {
    let mut sorted = shas.to_vec();
    sorted.sort();
    let mut releasing = Vec::new();
    for sha in sorted {
        let mut row = store::lock_blob(conn, &sha)?;
        let releasable = row.releasing_at.is_none_or(|at| at <= now - STALE_RELEASE);
        let due = match only_claim {
            Some(claim) => row.claims == claim,
            None => row.check_at.is_some_and(|at| at <= now),
        };
        if !(releasable && due) {
            continue;
        }
        if store::sha_referenced(conn, &sha)? {
            row.check_at = None;
        } else {
            row.releasing_at = Some(now);
            releasing.push(sha);
        }
        store::set_blob(conn, &row)?;
    }
    Ok(releasing)
}

/// Removes the objects marked as being let go, then their claim records. An object the store
/// could not remove is unmarked (uploads of it go on) and looked at again on the next pass.
async fn finish_release(db: &Db, documents: &DocumentStore, shas: Vec<String>) {
    if shas.is_empty() {
        return;
    }
    let (mut gone, mut kept) = (Vec::new(), Vec::new());
    for sha in shas {
        if documents.forget(&sha).await {
            gone.push(sha);
        } else {
            kept.push(sha);
        }
    }
    let dropped = db
        .write(move |c| {
            for sha in &gone {
                store::drop_released(c, sha)?;
            }
            store::unmark_released(c, &kept)?;
            Ok::<_, ApiError>(())
        })
        .await;
    if let Err(e) = dropped {
        tracing::warn!(error = %e, "could not drop the records of removed document bytes; the collector will");
    }
}
