//! Background jobs. Each pass is safe to run on several instances at once against one
//! PostgreSQL database: every change it makes is a conditional update that a second instance
//! finds already done.

use crate::clock::Clock;
use crate::contracts::{model::Action, service as contracts, store as contract_store};
use crate::db::Db;
use crate::http::ApiError;
use std::time::Duration;

const BATCH: i64 = 200;

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    pub contracts_renewed: usize,
    pub contracts_expired: usize,
}

/// Runs every job once (blocking: call from the blocking pool or a test).
pub fn run_once(db: &Db, clock: &Clock) -> Result<PassReport, ApiError> {
    let mut report = PassReport::default();
    let ctx = contracts::Ctx { actor: "system", now: clock.now() };
    // Bounded: every batch changes each contract it reads, so the list shrinks pass by pass.
    for _ in 0..10_000 {
        let handled = db.write_blocking(|c| {
            let due = contract_store::past_end(c, ctx.now.date_naive(), BATCH)?;
            let mut handled = 0;
            for row in &due {
                match contracts::end_of_term(c, &ctx, row)? {
                    Some(Action::Renew) => report.contracts_renewed += 1,
                    Some(_) => report.contracts_expired += 1,
                    None => continue,
                }
                handled += 1;
            }
            Ok::<_, ApiError>((due.len() as i64, handled))
        })?;
        if handled.0 < BATCH || handled.1 == 0 {
            break;
        }
    }
    Ok(report)
}

/// Starts the periodic scheduler on the current actix runtime; 0 seconds disables it.
pub fn spawn(db: Db, clock: Clock, interval_secs: u64) {
    if interval_secs == 0 {
        tracing::info!("scheduler disabled (SCHEDULER_INTERVAL_SECS=0)");
        return;
    }
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(interval_secs));
        loop {
            tick.tick().await;
            let (db, clock) = (db.clone(), clock.clone());
            match actix_web::web::block(move || run_once(&db, &clock)).await {
                Ok(Ok(r)) if r != PassReport::default() => tracing::info!(?r, "scheduler pass"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "scheduler pass failed"),
                Err(e) => tracing::error!(error = %e, "scheduler pass panicked"),
            }
        }
    });
}
