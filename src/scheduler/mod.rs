//! Background jobs. Each pass is safe to run on several instances at once against one
//! PostgreSQL database: contract changes are conditional updates that a second instance finds
//! already done, and obligations are claimed with `FOR UPDATE SKIP LOCKED`. Every item runs in
//! a transaction or a savepoint of its own, so one failure neither blocks nor undoes the others.

use crate::clock::Clock;
use crate::contracts::model::{Action, ReminderDefaults, MAX_REMINDER_DAYS};
use crate::contracts::{service as contracts, store as contract_store};
use crate::db::{marks, Db};
use crate::error::ApiError;
use crate::idempotency;
use crate::obligations::generation::{self, Claims, Generated};
use crate::obligations::store::Due;
use crate::service_calls::store::{RESOLUTION_BREACHED, RESPONSE_BREACHED};
use crate::tasks::store::TASK_OVERDUE;
use diesel::Connection;
use std::time::Duration;

/// The contract reminder pass's sweep mark: the time of its last completed pass (less a lag),
/// so that later passes that day look only at the contracts written since.
pub const CONTRACT_REMINDERS: &str = "contract.reminders";

const BATCH: i64 = 200;
/// Rows a derived-event sweep looks at per transaction.
const SWEEP_BATCH: i64 = 1000;
/// Contracts renewed or expired per transaction, written together: on the full set 25 take
/// about 16 ms, about what five took one by one, so API writes that wait on their rows wait no
/// longer.
const TERM_BATCH: usize = 25;
/// Events a sweep fires (over all its walks) between two refreshes of the markers' planner
/// statistics.
const ANALYZE_EVERY: usize = 20_000;
/// Workers generating tasks at once in a pass (fewer when the pool is smaller).
const HORIZON_WORKERS: usize = 2;

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    pub contracts_renewed: usize,
    pub contracts_expired: usize,
    /// Obligations whose tasks were brought up to their horizon.
    pub obligations_generated: usize,
    pub tasks_created: usize,
    /// Idempotency keys past their retention.
    pub idempotency_keys_purged: usize,
    /// Date rules of dossiers that came due and fired (each starting its workflow).
    pub date_rules_fired: usize,
    /// `task.overdue` events appended (open tasks past their due date, once per due date).
    pub tasks_overdue: usize,
    /// `service_call.breached` events appended (a response or resolution deadline passed).
    pub sla_breaches: usize,
    /// Contract reminders fired (each a `reminder` task and a `contract.notice_approaching` or
    /// `contract.expiring` event).
    pub reminders_fired: usize,
    /// Items that failed (logged); the next pass tries them again.
    pub failures: usize,
    /// Batches of contracts at the end of their term that failed together and were done again
    /// one contract at a time (logged).
    pub term_batches_retried: usize,
}

/// Runs every job once (blocking: call from the blocking pool or a test); `reminders` are the
/// contract reminders of contracts without their own (`CONTRACT_REMINDERS`).
pub fn run_once(db: &Db, clock: &Clock, reminders: &ReminderDefaults) -> Result<PassReport, ApiError> {
    run_once_timed(db, clock, reminders, &mut |_, _| {})
}

/// [`run_once`], telling `timed` how long each job took (for `pactum schedule` and benchmarks).
pub fn run_once_timed(
    db: &Db,
    clock: &Clock,
    reminders: &ReminderDefaults,
    timed: &mut dyn FnMut(&'static str, Duration),
) -> Result<PassReport, ApiError> {
    let mut report = PassReport::default();
    let ctx = crate::events::Ctx { actor: "system", now: clock.now() };
    let today = ctx.now.date_naive();
    let mut started = std::time::Instant::now();
    let mut lap = |job: &'static str| {
        timed(job, started.elapsed());
        started = std::time::Instant::now();
    };
    end_of_term(db, &ctx, today, &mut report)?;
    lap("end of term");
    extend_horizons(db, &ctx, &mut report)?;
    lap("task horizons");
    let before = (ctx.now - chrono::Duration::hours(idempotency::model::RETENTION_HOURS)).naive_utc();
    report.idempotency_keys_purged =
        db.write_blocking(|c| idempotency::store::purge(c, before).map_err(ApiError::from))?;
    lap("idempotency purge");
    fire_date_rules(db, &ctx, &mut report);
    lap("dossier date rules");
    derived_events(db, &ctx, &mut report);
    lap("derived events");
    contract_reminders(db, &ctx, reminders, &mut report);
    lap("contract reminders");
    Ok(report)
}

/// How far a sweep's mark stays behind the start of the pass that moves it. Writes run beside
/// the passes, and a row's key is set when its write begins: a row written by a transaction that
/// began before the pass and committed after its scan, with a key the mark would pass, is then
/// looked at again by the next pass (the markers keep each event single).
pub const MARK_LAG_MINUTES: i64 = 10;

/// Where a pass that started at `now` from `seen` leaves its sweep's mark.
fn mark_after(seen: marks::Mark, now: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    (now - chrono::Duration::minutes(MARK_LAG_MINUTES)).max(seen.at)
}

/// Fires the contract reminders that are due ([`contracts::fire_reminders`]), a batch of
/// contracts per transaction. The first pass of a day looks at every contract in force whose
/// notice deadline or end date lies within the reach of its reminders; later passes that day
/// only at the contracts written since the last one (a renewal, a changed term or owner), by
/// the index on `updated_at`. Firings are keyed, so looking at a contract again never fires a
/// reminder twice; a failed pass keeps the mark, and the next one looks again.
fn contract_reminders(db: &Db, ctx: &crate::events::Ctx, defaults: &ReminderDefaults, report: &mut PassReport) {
    use crate::contracts::store::ReminderScan;
    let today = ctx.today();
    let mut fired = 0;
    let mut run = || {
        let seen = db.read_blocking(|c| marks::get(c, CONTRACT_REMINDERS).map_err(ApiError::from))?;
        let scan = if seen.at.date() != today {
            ReminderScan::Window { today, days: defaults.max_days(), own_days: MAX_REMINDER_DAYS }
        } else {
            ReminderScan::WrittenSince(seen.at)
        };
        let mut after: Option<String> = None;
        loop {
            let (scanned, last, n) = db.write_blocking(|c| {
                let rows = contract_store::reminder_candidates(c, &scan, after.as_deref(), SWEEP_BATCH)?;
                let n = contracts::fire_reminders(c, ctx, defaults, &rows)?;
                Ok::<_, ApiError>((rows.len(), rows.last().map(|r| r.id.clone()), n))
            })?;
            fired += n;
            after = last;
            if (scanned as i64) < SWEEP_BATCH {
                break;
            }
        }
        let to = mark_after(seen, ctx.now.naive_utc());
        db.write_blocking(|c| marks::advance(c, CONTRACT_REMINDERS, seen, to).map_err(ApiError::from))?;
        Ok::<_, ApiError>(())
    };
    if let Err(e) = run() {
        tracing::warn!(error = %e, "contract reminders failed; will retry next pass");
        report.failures += 1;
    }
    report.reminders_fired += fired;
}

/// Renews or expires the contracts whose end date has passed: a batch of contracts per
/// transaction, written together; a batch that fails is done again one contract at a time, so
/// one that fails is rolled back alone and left for the next pass.
fn end_of_term(
    db: &Db,
    ctx: &crate::events::Ctx,
    today: chrono::NaiveDate,
    report: &mut PassReport,
) -> Result<(), ApiError> {
    let hooks = crate::flows::contract_hooks();
    let mut skip: std::collections::HashSet<String> = std::collections::HashSet::new();
    for _ in 0..10_000 {
        let due = db
            .read_blocking(|c| contract_store::past_end(c, today, BATCH + skip.len() as i64).map_err(ApiError::from))?;
        let due: Vec<_> = due.into_iter().filter(|r| !skip.contains(&r.id)).collect();
        if due.is_empty() {
            break;
        }
        for chunk in due.chunks(TERM_BATCH) {
            let mut retried = false;
            let outcomes = match db.write_blocking(|c| {
                retried = false; // a fresh attempt (see `db::ATTEMPTS`)
                // All at once, in a savepoint; should that fail, one by one, each in a savepoint
                // of its own, so that only the contract at fault is left for the next pass.
                let outcomes = match c.transaction(|c| contracts::end_of_term(c, ctx, chunk, &hooks)) {
                    Ok(actions) => actions.into_iter().map(Ok).collect(),
                    Err(e) => {
                        tracing::warn!(contracts = chunk.len(), error = %e, "end of term failed for a batch; one at a time");
                        retried = true;
                        chunk
                            .iter()
                            .map(|row| {
                                c.transaction(|c| contracts::end_of_term(c, ctx, std::slice::from_ref(row), &hooks))
                                    .map(|actions| actions.into_iter().next().flatten())
                            })
                            .collect::<Vec<_>>()
                    }
                };
                Ok::<_, ApiError>(outcomes)
            }) {
                Ok(outcomes) => outcomes,
                // The transaction itself failed (its commit refused, say): the chunk's contracts
                // are left for the next pass, and this pass goes on.
                Err(e) => {
                    tracing::warn!(contracts = chunk.len(), error = %e, "end of term failed; will retry next pass");
                    report.failures += chunk.len();
                    skip.extend(chunk.iter().map(|r| r.id.clone()));
                    continue;
                }
            };
            report.term_batches_retried += usize::from(retried);
            for (row, outcome) in chunk.iter().zip(outcomes) {
                match outcome {
                    Ok(Some(Action::Renew)) => report.contracts_renewed += 1,
                    Ok(Some(_)) => report.contracts_expired += 1,
                    Ok(None) => {
                        skip.insert(row.id.clone());
                    }
                    Err(e) => {
                        tracing::warn!(contract = %row.id, error = %e, "end of term failed; will retry next pass");
                        report.failures += 1;
                        skip.insert(row.id.clone());
                    }
                }
            }
        }
    }
    Ok(())
}

/// Generates the tasks of obligations not brought in line today. On PostgreSQL two workers do
/// it on two connections at once (when the pool has a third to spare): with one, each core
/// waits in turn for the other, the service building rows and the database writing them. They
/// share one [`Claims`], so they never read the same obligation, and each applies its batches
/// in writes beside the other's ([`generation`]).
fn extend_horizons(db: &Db, ctx: &crate::events::Ctx, report: &mut PassReport) -> Result<(), ApiError> {
    let claims = std::sync::Mutex::new(Claims::default());
    let never = std::sync::atomic::AtomicBool::new(false);
    let workers = match db.backend() {
        // SQLite writes one transaction at a time: a second worker would only wait.
        crate::db::Backend::Sqlite => 1,
        // One connection stays free for API requests and the webhook dispatcher.
        crate::db::Backend::Postgres => HORIZON_WORKERS.min(db.max_connections().saturating_sub(1) as usize).max(1),
    };
    let done: Vec<Result<Generated, ApiError>> = std::thread::scope(|s| {
        let running: Vec<_> =
            (0..workers).map(|_| s.spawn(|| generation::run(db, ctx, &Due::All, &claims, &never))).collect();
        running.into_iter().map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    for generated in done {
        let generated = generated?;
        report.obligations_generated += generated.obligations;
        report.tasks_created += generated.report.created;
        report.failures += generated.failures;
    }
    Ok(())
}

/// Fires the dossier date rules that are due, one trigger per transaction. A trigger is claimed
/// with `FOR UPDATE SKIP LOCKED` on PostgreSQL and marked fired in the transaction that records
/// the firing (whose unique key makes a second firing of the same occurrence impossible), so
/// several instances, restarts and late passes fire each occurrence exactly once.
fn fire_date_rules(db: &Db, ctx: &crate::events::Ctx, report: &mut PassReport) {
    // Dossiers whose trigger failed are left for the next pass, so one cannot block the rest.
    let hooks = crate::flows::dossier_hooks();
    let mut skip: Vec<String> = Vec::new();
    for _ in 0..100_000 {
        let mut claimed = None;
        match db.write_blocking(|c| {
            claimed = None; // a fresh attempt (see `db::ATTEMPTS`)
            crate::dossiers::service::fire_next_due(c, ctx, &skip, &mut claimed, &hooks)
        }) {
            Ok(None) => break,
            Ok(Some(fired)) => report.date_rules_fired += usize::from(fired),
            Err(e) => {
                tracing::warn!(dossier = ?claimed, error = %e, "firing a date rule failed; will retry next pass");
                report.failures += 1;
                match claimed {
                    Some(d) if skip.len() < 1000 => skip.push(d),
                    _ => break,
                }
            }
        }
    }
}

/// Appends the events the passing of time makes (`task.overdue`, `service_call.breached`), each
/// once: a batch per transaction, each event with its marker. Each sweep walks its rows once
/// per pass with a cursor, from its mark ([`marks`]) on, and moves the mark up to now when it
/// got through: a pass reads what came due since the last one, not the whole backlog.
fn derived_events(db: &Db, ctx: &crate::events::Ctx, report: &mut PassReport) {
    use crate::service_calls::store::Breach;
    use crate::webhooks::service as derived;
    let today = ctx.today();
    report.tasks_overdue += sweep(db, TASK_OVERDUE, marks::day_key(today), &mut report.failures, |from, fired| {
        for status in crate::tasks::store::OPEN {
            in_batches(db, fired, |c, cursor| {
                derived::fire_overdue_tasks(c, ctx, (status, from.date()), cursor, SWEEP_BATCH)
            })?;
        }
        Ok(())
    });
    for (breach, name) in [(Breach::Response, RESPONSE_BREACHED), (Breach::Resolution, RESOLUTION_BREACHED)] {
        report.sla_breaches += sweep(db, name, ctx.now.naive_utc(), &mut report.failures, |from, fired| {
            in_batches(db, fired, |c, cursor| derived::fire_breaches(c, ctx, (breach, from), cursor, SWEEP_BATCH))
        });
    }
}

/// Runs the sweep `name` from its mark (`walk` counts the events it fires) and, when it got
/// through, moves the mark up to `now` ([`mark_after`]); the number of events fired, those of committed batches
/// before a failure included. A failure is logged and counted; the mark stays, so the next
/// pass walks the same rows again (their markers keep each event single).
fn sweep(
    db: &Db,
    name: &'static str,
    now: chrono::NaiveDateTime,
    failures: &mut usize,
    walk: impl FnOnce(chrono::NaiveDateTime, &mut usize) -> Result<(), ApiError>,
) -> usize {
    let mut fired = 0;
    let run = || {
        let seen = db.read_blocking(|c| marks::get(c, name).map_err(ApiError::from))?;
        walk(seen.at, &mut fired)?;
        db.write_blocking(|c| marks::advance(c, name, seen, mark_after(seen, now)).map_err(ApiError::from))?;
        Ok::<_, ApiError>(())
    };
    if let Err(e) = run() {
        tracing::warn!(job = name, error = %e, "derived events failed; will retry next pass");
        *failures += 1;
    }
    fired
}

/// Runs `batch` in transactions of its own until it scans less than a full batch, adding the
/// events each committed batch fired to `fired`. `batch` moves the cursor it is given past
/// what it read; the cursor moves on only when that batch has committed (an attempt the
/// database gave up on starts again from where it started).
fn in_batches<C: Clone + Default>(
    db: &Db,
    fired: &mut usize,
    mut batch: impl FnMut(&mut crate::db::DbConnection, &mut C) -> Result<crate::webhooks::service::Swept, ApiError>,
) -> Result<(), ApiError> {
    let mut cursor = C::default();
    loop {
        let (swept, next) = db.write_blocking(|c| {
            let mut next = cursor.clone();
            batch(c, &mut next).map(|swept| (swept, next))
        })?;
        cursor = next;
        let before = *fired;
        *fired += swept.fired;
        if (swept.scanned as i64) < SWEEP_BATCH {
            return Ok(());
        }
        if *fired / ANALYZE_EVERY > before / ANALYZE_EVERY {
            // Best effort: stale statistics make the sweep slower, never wrong.
            if let Err(e) =
                db.read_blocking(|c| crate::webhooks::store::refresh_marker_statistics(c).map_err(ApiError::from))
            {
                tracing::warn!(error = %e, "could not refresh the markers' statistics");
            }
        }
    }
}

/// Starts the periodic scheduler on the current actix runtime; 0 seconds disables it.
pub fn spawn(db: Db, clock: Clock, reminders: ReminderDefaults, interval_secs: u64) {
    crate::jobs::every("scheduler", "SCHEDULER_INTERVAL_SECS", interval_secs, move || {
        run_once(&db, &clock, &reminders)
    });
}
