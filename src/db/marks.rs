//! How far each derived-event sweep has got (table `sweep_marks`): the primitives. Each
//! feature names its sweeps and keeps the adapter that tells them about its rows
//! (`tasks::store::tasks_written`, `service_calls::store::call_written`).
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
//! while it ran is read again by the next pass. A write that has not committed when a pass
//! scans is invisible to it: its bump of the version waits for, or fails, the pass's
//! [`advance`]; and a pass leaves its mark some minutes behind its start
//! (`scheduler::mark_after`), so a row written with a key not yet due when its write began is
//! still ahead of the mark when it commits.

use crate::db::schema::sweep_marks;
use crate::db::DbConnection;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

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

/// [`behind`] for several sweeps (each `(name, key, due)`): these run inside writes, where
/// every round trip counts.
pub fn behind_all(conn: &mut DbConnection, marks: &[(&str, NaiveDateTime, bool)]) -> QueryResult<()> {
    // Most writes land ahead of every mark and change none: looking first costs one round trip
    // of a prepared query, and saves the UPDATEs (and their row locks, which writes beside each
    // other would wait for). A key not yet due stays ahead of any mark a pass sets before this
    // write commits: passes leave their marks minutes behind their start.
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
