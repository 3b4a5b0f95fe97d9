//! Bringing obligations' tasks in line with their schedules, in three steps, so that no
//! schedule is expanded inside a write transaction (an expansion is CPU work whose size a
//! client's rule decides, and a write holds locks others wait for):
//!
//! 1. **read** a batch of due obligations with their contracts, without a transaction;
//! 2. **expand** each schedule over its window ([`Expansion`]), off any transaction; a run
//!    whose caller has gone stops here;
//! 3. **apply** in one short write: claim the obligations still due (locked, in id order),
//!    check that each one's expansion is still the one made in step 2 (same schedule, anchor
//!    and window), plan against the existing tasks and write the difference. One whose
//!    schedule or contract changed in between is read and expanded again.
//!
//! Writes that change what generation depends on (an obligation, a contract's term or status,
//! a coverage) only mark the obligations due in their own transaction (`regenerate_on` today,
//! see `service::follow_contracts`); the handler then calls [`catch_up`] after its commit, and
//! the scheduler's pass ([`run`] over [`Due::All`]) brings in line whatever is left, also after
//! a crash between the two.

use super::model::{plan, Existing, Expansion, Plan};
use super::service::{assignee_of, occurrence_key, schedule_of, wanted, GenerationReport};
use super::store::{self, Due, ObligationRow};
use crate::contracts::store::{self as contract_store, ContractRow};
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::events::Ctx;
use crate::tasks::store::{self as task_store, TaskRow};
use chrono::{DateTime, Months, NaiveDate, NaiveDateTime, Utc};
use diesel::Connection;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Obligations read, expanded and applied together (one write transaction).
const BATCH: i64 = 50;
/// Rounds a run makes at most; each either applies obligations or finds them changed.
const ROUNDS: usize = 100_000;

/// What a run did.
#[derive(Debug, Default)]
pub struct Generated {
    /// Obligations brought in line.
    pub obligations: usize,
    /// Obligations whose generation failed (logged; the next pass tries them again).
    pub failures: usize,
    /// The tasks created, updated and cancelled, summed.
    pub report: GenerationReport,
    /// Why the last failure failed.
    pub last_error: Option<ApiError>,
}

/// Obligations a run must not read again: those passed over in this pass (failed, so tried
/// once per pass, or held by another instance, which brings them in line) and those another
/// worker of the same pass has read and not yet applied.
#[derive(Default)]
pub struct Claims {
    passed_over: Vec<String>,
    in_flight: HashSet<String>,
}

/// Generation's window today: from `from` to the horizon, and the horizon's months. Normally
/// from today; but when the last run's horizon already lies behind us (the scheduler was down
/// longer than the horizon), from the day after it, so no occurrence is lost; and a one-off
/// obligation always gets its day, even a past one.
fn window(row: &ObligationRow, today: NaiveDate) -> (NaiveDate, NaiveDate, Months) {
    let months = Months::new(row.horizon_months.max(1) as u32);
    let horizon = today.checked_add_months(months).unwrap_or(today);
    let mut from = row
        .generated_on
        .and_then(|g| g.checked_add_months(months))
        .and_then(|end| end.succ_opt())
        .filter(|d| *d < today)
        .unwrap_or(today);
    if let Some(day) = row.due_date {
        from = from.min(day);
    }
    (from, horizon, months)
}

/// What the obligation's generation today needs expanded; `None` for a one-off.
fn expansion_of(row: &ObligationRow, contract: &ContractRow, today: NaiveDate) -> Option<Expansion> {
    if row.due_date.is_some() {
        return None;
    }
    let (from, horizon, _) = window(row, today);
    let to = horizon.checked_add_days(chrono::Days::new(366)).unwrap_or(horizon);
    Some(Expansion { schedule: schedule_of(row, contract.start_date)?, from, to })
}

/// An obligation read in step 1 with its expansion from step 2.
struct Prepared {
    expansion: Option<Expansion>,
    days: Result<Vec<NaiveDate>, String>,
}

/// Brings the obligations of `due` in line until none is left (blocking: run it on the
/// blocking pool or a scheduler thread). `claims` may be shared by workers of one pass;
/// `stop` ends the run between steps when its caller has gone.
pub fn run(db: &Db, ctx: &Ctx, due: &Due, claims: &Mutex<Claims>, stop: &AtomicBool) -> Result<Generated, ApiError> {
    let today = ctx.today();
    let force = matches!(due, Due::One(_));
    let mut out = Generated::default();
    for _ in 0..ROUNDS {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        // 1. Read, marking what is read in flight so the other workers read past it.
        let (rows, contracts) = {
            let mut claims = claims.lock().unwrap_or_else(|e| e.into_inner());
            let skip: Vec<String> = claims.passed_over.iter().chain(&claims.in_flight).cloned().collect();
            let read = db.read_blocking(|c| {
                let rows = store::due(c, today, due, &skip, BATCH)?;
                let ids: Vec<String> = rows.iter().map(|o| o.contract_id.clone()).collect();
                let contracts = contract_store::get_many(c, &ids)?;
                Ok::<_, ApiError>((rows, contracts))
            })?;
            claims.in_flight.extend(read.0.iter().map(|o| o.id.clone()));
            read
        };
        if rows.is_empty() {
            break;
        }
        // 2. Expand, outside any transaction.
        let mut prepared: HashMap<String, Prepared> = HashMap::with_capacity(rows.len());
        for row in &rows {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let expansion =
                contracts.iter().find(|k| k.id == row.contract_id).and_then(|k| expansion_of(row, k, today));
            let days = match &expansion {
                Some(e) => e.expand(),
                None => Ok(row.due_date.into_iter().collect()),
            };
            prepared.insert(row.id.clone(), Prepared { expansion, days });
        }
        // 3. Apply what was expanded and still holds.
        let ids: Vec<String> = prepared.keys().cloned().collect();
        let applied = if stop.load(Ordering::Relaxed) {
            Ok((Vec::new(), Vec::new()))
        } else {
            db.write_blocking(|c| apply_batch(c, ctx, &ids, &prepared, force))
        };
        let mut claims = claims.lock().unwrap_or_else(|e| e.into_inner());
        for row in &rows {
            claims.in_flight.remove(&row.id);
        }
        let (claimed, outcomes) = applied?;
        // Not claimed: another instance holds it (or it is no longer due). Claimed without an
        // outcome: it changed since step 1 and is read again in the next round.
        claims.passed_over.extend(ids.iter().filter(|id| !claimed.contains(id)).cloned());
        let done = !outcomes.is_empty();
        for (id, result) in outcomes {
            match result {
                Ok(report) => {
                    out.obligations += 1;
                    out.report.created += report.created;
                    out.report.updated += report.updated;
                    out.report.cancelled += report.cancelled;
                }
                Err(e) => {
                    tracing::warn!(obligation = %id, error = %e, "task generation failed; will retry next pass");
                    out.failures += 1;
                    out.last_error = Some(e);
                    claims.passed_over.push(id);
                }
            }
        }
        if force && done {
            break;
        }
    }
    Ok(out)
}

/// Step 3 for one batch: each claimed obligation whose expansion still holds is applied in a
/// savepoint of its own, so one that fails is rolled back alone. Gives the ids claimed and
/// each applied or failed obligation's outcome; one that changed since it was read has none
/// and stays due.
#[allow(clippy::type_complexity)]
fn apply_batch(
    c: &mut DbConnection,
    ctx: &Ctx,
    ids: &[String],
    prepared: &HashMap<String, Prepared>,
    force: bool,
) -> Result<(Vec<String>, Vec<(String, Result<GenerationReport, ApiError>)>), ApiError> {
    let today = ctx.today();
    let claimed = store::claim(c, ids, today, force)?;
    let contract_ids: Vec<String> = claimed.iter().map(|o| o.contract_id.clone()).collect();
    let contracts = contract_store::get_many(c, &contract_ids)?;
    let mut out = Vec::with_capacity(claimed.len());
    for row in &claimed {
        let (Some(contract), Some(p)) = (contracts.iter().find(|k| k.id == row.contract_id), prepared.get(&row.id))
        else {
            continue;
        };
        if expansion_of(row, contract, today) != p.expansion {
            continue;
        }
        let result = match &p.days {
            Ok(days) => c.transaction(|c| apply(c, ctx, row, contract, days)),
            Err(reason) => Err(ApiError::invalid("schedule.rrule", "invalid_rrule", reason.clone())),
        };
        out.push((row.id.clone(), result));
    }
    Ok((claimed.into_iter().map(|o| o.id).collect(), out))
}

/// Brings one claimed obligation's tasks in line with `days` (its schedule expanded over its
/// window, or its one-off day), the contract's term and the coverage, up to its horizon, and
/// marks when to look again: load what is wanted and what exists, [`plan`] the difference
/// (pure), write it through the worklist, mark. Idempotent: a second run changes nothing.
fn apply(
    conn: &mut DbConnection,
    ctx: &Ctx,
    row: &ObligationRow,
    contract: &ContractRow,
    days: &[NaiveDate],
) -> Result<GenerationReport, ApiError> {
    let today = ctx.today();
    let (from, horizon, months) = window(row, today);
    let wanted = wanted(conn, row, contract, from, horizon, days)?;
    let since = match contract.end_date.and_then(|e| e.succ_opt()) {
        Some(after_end) => after_end.min(from),
        None => from,
    };
    let existing_rows = task_store::of_obligation(conn, &row.id, since)?;
    let existing: Vec<Existing> = existing_rows.iter().filter_map(existing_of).collect();
    let plan =
        plan(&wanted, &existing, &row.title, row.description.as_deref(), &assignee_of(row), today, contract.end_date);
    let (create, change) = task_rows(row, contract, &plan, &existing_rows, ctx.now.naive_utc());
    let written = crate::tasks::service::write_planned(conn, ctx, &create, &change)?;
    let next_beyond = days.iter().find(|d| **d > horizon).copied();
    let again = super::model::next_visit_for(next_beyond, today, months);
    store::mark_generated(conn, &row.id, today, again)?;
    Ok(GenerationReport { created: written.created, updated: written.updated, cancelled: written.cancelled })
}

/// What the plan reads of a generated task; `None` for one without a nominal date.
fn existing_of(t: &TaskRow) -> Option<Existing> {
    Some(Existing {
        id: t.id.clone(),
        installation_id: t.installation_id.clone(),
        nominal: t.nominal_date?,
        due: t.due_date,
        status: t.status,
        assignee: crate::tasks::model::Assignee::from_parts(t.assignee_kind, &t.assignee_name),
        title: t.title.clone(),
        description: t.description.clone(),
        touched: t.rescheduled || t.reassigned,
        cancelled_by_system: t.status == crate::tasks::model::Status::Cancelled
            && t.closed_by.as_deref() == Some("system"),
    })
}

/// The plan as task rows: the tasks to create, and `(before, after)` of the tasks it brings in
/// line (reopening a cancelled one) or cancels.
fn task_rows(
    row: &ObligationRow,
    contract: &ContractRow,
    plan: &Plan,
    existing: &[TaskRow],
    now: NaiveDateTime,
) -> (Vec<TaskRow>, Vec<(TaskRow, TaskRow)>) {
    let create: Vec<TaskRow> = plan
        .create
        .iter()
        .map(|w| TaskRow {
            description: row.description.clone(),
            contract_id: Some(contract.id.clone()),
            installation_id: w.installation_id.clone(),
            obligation_id: Some(row.id.clone()),
            occurrence_key: Some(occurrence_key(&row.id, w.installation_id.as_deref(), w.nominal)),
            nominal_date: Some(w.nominal),
            ..TaskRow::open(crate::tasks::model::Kind::Planned, row.title.clone(), &assignee_of(row), w.due, now)
        })
        .collect();
    let by_id: HashMap<&str, &TaskRow> = existing.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut change = Vec::with_capacity(plan.update.len() + plan.cancel.len());
    for (id, due) in &plan.update {
        let Some(old) = by_id.get(id.as_str()) else { continue };
        let new = TaskRow {
            status: crate::tasks::model::Status::Open,
            due_date: *due,
            title: row.title.clone(),
            description: row.description.clone(),
            assignee_kind: row.assignee_kind,
            assignee_name: row.assignee_name.clone(),
            closed_at: None,
            closed_by: None,
            version: old.version + 1,
            updated_at: now,
            ..(*old).clone()
        };
        change.push(((*old).clone(), new));
    }
    for id in &plan.cancel {
        let Some(old) = by_id.get(id.as_str()) else { continue };
        let new = TaskRow {
            status: crate::tasks::model::Status::Cancelled,
            closed_at: Some(now),
            closed_by: Some("system".into()),
            version: old.version + 1,
            updated_at: now,
            ..(*old).clone()
        };
        change.push(((*old).clone(), new));
    }
    (create, change)
}

/// Sets its flag when dropped: the future that owns it was dropped (its client went away)
/// or ended.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs generation for `due` on the blocking pool, for a request after its write committed.
/// When the request's future is dropped (its client went away) the run stops at its next step;
/// what it leaves stays due for the scheduler.
pub async fn catch_up(db: &Db, actor: &str, now: DateTime<Utc>, due: Due) -> Result<Generated, ApiError> {
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_when_dropped = StopOnDrop(stop.clone());
    let (db, actor) = (db.clone(), actor.to_string());
    actix_web::web::block(move || run(&db, &Ctx { actor: &actor, now }, &due, &Mutex::default(), &stop)).await?
}

/// [`catch_up`] for the contracts a request changed: its write has committed, so a failure
/// here is logged and left to the scheduler rather than answered.
pub async fn follow_up(db: &Db, actor: &str, now: DateTime<Utc>, contract_ids: Vec<String>) {
    match catch_up(db, actor, now, Due::OfContracts(contract_ids)).await {
        Ok(g) if g.failures > 0 => {
            tracing::warn!(failures = g.failures, "task generation after a write left work for the scheduler")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "task generation after a write failed; the scheduler will do it"),
    }
}

/// [`follow_up`] for pushed contract documents: the contracts `roots` and every contract below
/// them (a document's children may carry obligations of their own).
pub async fn follow_up_trees(db: &Db, actor: &str, now: DateTime<Utc>, roots: Vec<String>) {
    let read = db
        .read(move |c| {
            let mut all = roots.clone();
            let mut level = roots;
            for _ in 0..crate::db::hierarchy::MAX_LEVELS {
                level = contract_store::child_ids(c, &level)?;
                if level.is_empty() {
                    break;
                }
                all.extend(level.iter().cloned());
            }
            Ok::<_, ApiError>(all)
        })
        .await;
    match read {
        Ok(ids) => follow_up(db, actor, now, ids).await,
        Err(e) => tracing::warn!(error = %e, "task generation after a push failed; the scheduler will do it"),
    }
}

/// Generates one obligation now, due or not, and reports what changed (`POST
/// /obligations/{id}/generate`, and after an obligation is created or changed).
pub async fn generate_one(db: &Db, actor: &str, now: DateTime<Utc>, id: &str) -> Result<GenerationReport, ApiError> {
    let mut g = catch_up(db, actor, now, Due::One(id.to_string())).await?;
    match g.last_error.take() {
        Some(e) => Err(e),
        None => Ok(g.report),
    }
}
