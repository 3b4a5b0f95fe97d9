//! How far each derived-event sweep has got (table `sweep_marks`).
//!
//! A sweep fires an event for rows whose key has passed: a task's due date, a call's response
//! or resolution deadline. Every row whose key lies before the mark has been looked at by a
//! completed pass, so the next pass reads only the rows from the mark on: the tasks that came
//! due since, not the quarter million that have been overdue for months.
//!
//! A row can land behind the mark only by a write: a task reopened or moved to a past date, a
//! call created late or given another deadline. Those writes call [`behind`], which moves the
//! mark back to the row and bumps the version. A pass remembers the version it started from and
//! advances the mark only if it is unchanged ([`advance`]), so a row written behind its cursor
//! while it ran is read again by the next pass. Both run in write transactions, and sweep
//! passes hold the write lock exclusively, so no write runs beside a batch of a pass.

use crate::db::schema::sweep_marks;
use crate::db::DbConnection;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// The sweep of open tasks past their due date (`task.overdue`); keyed by due date.
pub const TASK_OVERDUE: &str = "task.overdue";
/// The sweep of calls past their response deadline.
pub const RESPONSE_BREACHED: &str = "service_call.response_breached";
/// The sweep of calls past their resolution deadline.
pub const RESOLUTION_BREACHED: &str = "service_call.resolution_breached";
/// The contract reminder pass: the time of its last completed pass (less a lag), so that later
/// passes that day look only at the contracts written since.
pub const CONTRACT_REMINDERS: &str = "contract.reminders";

/// Where a sweep starts and the version that mark had when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub at: NaiveDateTime,
    pub version: i64,
}

/// The mark of sweep `name` (every sweep has one from the migration on).
pub fn get(conn: &mut DbConnection, name: &str) -> QueryResult<Mark> {
    let (at, version) = sweep_marks::table
        .find(name)
        .select((sweep_marks::mark, sweep_marks::version))
        .first::<(NaiveDateTime, i64)>(conn)?;
    Ok(Mark { at, version })
}

/// Moves the mark of `name` to `to` after a completed pass that started from `seen`, unless a
/// write moved it meanwhile; whether it moved.
pub fn advance(conn: &mut DbConnection, name: &str, seen: Mark, to: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(sweep_marks::table.find(name).filter(sweep_marks::version.eq(seen.version)))
        .set((sweep_marks::mark.eq(to), sweep_marks::version.eq(seen.version + 1)))
        .execute(conn)
        .map(|n| n == 1)
}

/// A row with sweep key `key` was just written so that the sweep `name` has to look at it
/// (again): it is new, or its key or state changed. When the key has already passed (`due`),
/// a running pass may have walked past it, so the version is bumped and the mark goes back to
/// the key if it is ahead; otherwise only a mark ahead of the key (a clock set back) goes back.
pub fn behind(conn: &mut DbConnection, name: &str, key: NaiveDateTime, due: bool) -> QueryResult<()> {
    behind_all(conn, &[(name, key, due)])
}

/// [`behind`] for several sweeps (each `(name, key, due)`): these run inside writes that hold
/// the write lock, where every round trip counts.
fn behind_all(conn: &mut DbConnection, marks: &[(&str, NaiveDateTime, bool)]) -> QueryResult<()> {
    // Most writes land ahead of every mark and change none: looking first costs one round trip
    // of a prepared query, and saves the UPDATEs. No pass can move a mark forward before this
    // write commits: passes write holding the write lock exclusively.
    if marks.is_empty() {
        return Ok(());
    }
    let mut marks: Vec<(&str, NaiveDateTime, bool)> = if marks.iter().any(|(_, _, due)| *due) {
        marks.to_vec()
    } else {
        let current: Vec<(String, NaiveDateTime)> =
            sweep_marks::table.select((sweep_marks::name, sweep_marks::mark)).load(conn)?;
        let ahead = |name: &str, key: NaiveDateTime| current.iter().any(|(n, at)| n == name && *at > key);
        marks.iter().copied().filter(|(name, key, _)| ahead(name, *key)).collect()
    };
    // In name order, one row per statement: writes that run beside each other (registrations,
    // task generation) then lock the rows in one order and cannot deadlock.
    marks.sort_by_key(|(name, _, _)| *name);
    for (name, key, due) in marks {
        let moved = diesel::update(sweep_marks::table.find(name).filter(sweep_marks::mark.gt(key)))
            .set((sweep_marks::mark.eq(key), sweep_marks::version.eq(sweep_marks::version + 1)))
            .execute(conn)?;
        if moved == 0 && due {
            diesel::update(sweep_marks::table.find(name))
                .set(sweep_marks::version.eq(sweep_marks::version + 1))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// A date as a sweep key (its midnight).
pub fn day_key(day: NaiveDate) -> NaiveDateTime {
    day.and_time(chrono::NaiveTime::MIN)
}

/// The open tasks among `rows` that the overdue sweep has to look at again have been written
/// (`old` gives each one's state before, `None` for a new task): moves the mark back to the
/// earliest due date among them. One statement, and none when there is nothing to tell.
pub fn tasks_written<'a>(
    conn: &mut DbConnection,
    today: NaiveDate,
    written: impl IntoIterator<Item = (Option<&'a crate::tasks::store::TaskRow>, &'a crate::tasks::store::TaskRow)>,
) -> QueryResult<()> {
    let open = |t: &crate::tasks::store::TaskRow| crate::tasks::store::OPEN.contains(&t.status.as_str());
    let earliest = written
        .into_iter()
        .filter(|(old, new)| open(new) && old.is_none_or(|o| !open(o) || o.due_date != new.due_date))
        .map(|(_, new)| new.due_date)
        .min();
    match earliest {
        Some(due) => behind(conn, TASK_OVERDUE, day_key(due), due < today),
        None => Ok(()),
    }
}

/// A service call was written (`old` is its state before, `None` for a new call): tells each
/// breach sweep whose inputs changed.
pub fn call_written(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    old: Option<&crate::service_calls::store::ServiceCallRow>,
    new: &crate::service_calls::store::ServiceCallRow,
) -> QueryResult<()> {
    type Row = crate::service_calls::store::ServiceCallRow;
    let response = |r: &Row| (r.respond_by, r.acknowledged_at, r.cancelled_at);
    let resolution = |r: &Row| (r.resolve_by, r.resolved_at, r.cancelled_at, r.on_hold_since);
    let mut marks = Vec::with_capacity(2);
    if let Some(key) = new.respond_by.filter(|_| old.is_none_or(|o| response(o) != response(new))) {
        marks.push((RESPONSE_BREACHED, key, key < now));
    }
    if let Some(key) = new.resolve_by.filter(|_| old.is_none_or(|o| resolution(o) != resolution(new))) {
        marks.push((RESOLUTION_BREACHED, key, key < now));
    }
    behind_all(conn, &marks)
}
