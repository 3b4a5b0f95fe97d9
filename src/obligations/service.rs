//! Obligation use cases. Each runs inside the caller's transaction and appends its events
//! there; task generation runs after it (see [`super::generation`]).

use super::input::{ObligationIn, ObligationPatch, ScheduleIn};
use super::model::{Schedule, Scope, Wanted};
use super::store::{self, ObligationRow};
use crate::contracts::service::load as load_contract;
use crate::contracts::store::ContractRow;
use crate::db::Expected;
use crate::db::{DbConnection, Hold};
use crate::error::{check_text, ApiError, FieldError};
use crate::events::store as events;
use crate::events::Ctx;
use crate::http::Patch;
use crate::installations::store as coverage_store;
use crate::tasks::model::Assignee;
use crate::tasks::store as task_store;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

pub const ENTITY: &str = "obligation";

/// What one generation run did to the worklist.
#[derive(Debug, Default, Serialize, ToSchema, PartialEq, Eq)]
pub struct GenerationReport {
    /// Tasks created for occurrences that had none.
    pub created: usize,
    /// Open tasks brought in line (due date, title, assignee) or reopened.
    pub updated: usize,
    /// Open tasks cancelled because their occurrence is no longer wanted.
    pub cancelled: usize,
}

pub fn load(conn: &mut DbConnection, id: &str) -> Result<ObligationRow, ApiError> {
    store::get(conn, id)?.ok_or_else(|| ApiError::not_found(format!("obligation {id} does not exist")))
}

pub fn assignee_of(row: &ObligationRow) -> Assignee {
    Assignee::from_parts(row.assignee_kind, &row.assignee_name)
}

pub fn schedule_of(row: &ObligationRow, contract_start: NaiveDate) -> Option<Schedule> {
    row.rrule.as_ref().map(|rule| Schedule {
        rrule: rule.clone(),
        anchor: row.anchor_date.unwrap_or(contract_start),
        exdates: (*row.exdates).clone(),
    })
}

/// The JSON form of an obligation used for history diffs.
pub fn snapshot(row: &ObligationRow) -> Value {
    serde_json::json!({
        "contract_id": row.contract_id, "title": row.title, "description": row.description, "kind": row.kind,
        "assignee": assignee_of(row), "due_date": row.due_date, "rrule": row.rrule,
        "exdates": &*row.exdates,
        "anchor_date": row.anchor_date, "lead_days": row.lead_days, "scope": row.scope,
        "horizon_months": row.horizon_months,
    })
}

/// Field checks shared by create and update, on the complete row.
fn check_row(row: &ObligationRow, contract: &ContractRow) -> Vec<FieldError> {
    let mut errors = Vec::new();
    check_text(&mut errors, "title", &row.title, 500);
    check_text(&mut errors, "kind", &row.kind, 100);
    if let Some(d) = &row.description {
        if d.chars().count() > 10_000 {
            errors.push(FieldError::new("description", "too_long", "at most 10000 characters"));
        }
    }
    if let Err(m) = assignee_of(row).check() {
        errors.push(FieldError::new("assignee", "invalid_value", m));
    }
    if !(0..=366).contains(&row.lead_days) {
        errors.push(FieldError::new("lead_days", "out_of_range", "must be from 0 to 366 days"));
    }
    if !(1..=60).contains(&row.horizon_months) {
        errors.push(FieldError::new("horizon_months", "out_of_range", "must be from 1 to 60 months"));
    }
    match (&row.due_date, &row.rrule) {
        (Some(_), Some(_)) => errors.push(FieldError::new(
            "schedule",
            "not_allowed",
            "give either due_date (one-off) or schedule, not both",
        )),
        (None, None) => {
            errors.push(FieldError::new("due_date", "required", "give either due_date (one-off) or schedule"))
        }
        (Some(d), None) => crate::http::check_year(&mut errors, "due_date", chrono::Datelike::year(d)),
        (None, Some(_)) => {
            if let Some(s) = schedule_of(row, contract.start_date) {
                crate::http::check_year(&mut errors, "schedule.anchor_date", chrono::Datelike::year(&s.anchor));
                if s.exdates.len() > 1000 {
                    errors.push(FieldError::new("schedule.exdates", "too_long", "at most 1000 exception dates"));
                }
                // Only the form: the full check expands the rule and runs before the write.
                if let Err(reason) = s.check_form() {
                    errors.push(FieldError::new("schedule.rrule", "invalid_rrule", reason));
                }
            }
        }
    }
    errors
}

fn apply_schedule(row: &mut ObligationRow, schedule: Option<ScheduleIn>) {
    match schedule {
        None => {
            row.rrule = None;
            row.exdates = Default::default();
            row.anchor_date = None;
        }
        Some(s) => {
            let mut ex = s.exdates;
            ex.sort();
            ex.dedup();
            row.rrule = Some(s.rrule.trim().to_string());
            row.exdates = crate::db::column::Json::new(ex);
            row.anchor_date = s.anchor_date;
        }
    }
}

pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    contract_id: &str,
    input: ObligationIn,
) -> Result<ObligationRow, ApiError> {
    let contract = load_contract(conn, contract_id)?;
    let (kind, name) = input.assignee.parts();
    let now = ctx.now.naive_utc();
    let mut row = ObligationRow {
        id: uuid::Uuid::now_v7().to_string(),
        contract_id: contract.id.clone(),
        title: input.title,
        description: input.description,
        kind: input.kind,
        assignee_kind: kind,
        assignee_name: name.into(),
        due_date: input.due_date,
        rrule: None,
        exdates: Default::default(),
        anchor_date: None,
        lead_days: input.lead_days.unwrap_or(0),
        scope: input.scope.unwrap_or(Scope::Contract),
        horizon_months: input.horizon_months.unwrap_or(12),
        generated_on: None,
        // Due for its first generation at once.
        regenerate_on: now.date(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    apply_schedule(&mut row, input.schedule);
    let errors = check_row(&row, &contract);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    store::insert(conn, &row)?;
    events::record(conn, ctx, ENTITY, &row.id, "created", &Value::Null, &snapshot(&row))?;
    // Due at once (`regenerate_on` today): the caller generates after the commit.
    Ok(row)
}

pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    patch: ObligationPatch,
    expected: &Expected,
) -> Result<ObligationRow, ApiError> {
    Hold::Update.row(conn, "obligations", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    let contract = load_contract(conn, &old.contract_id)?;
    let mut row = old.clone();
    let mut errors = Vec::new();
    match patch.title.require("title", row.title.clone()) {
        Ok(v) => row.title = v,
        Err(e) => errors.push(e),
    }
    match patch.kind.require("kind", row.kind.clone()) {
        Ok(v) => row.kind = v,
        Err(e) => errors.push(e),
    }
    match patch.assignee.require("assignee", assignee_of(&old)) {
        Ok(a) => {
            let (k, n) = a.parts();
            row.assignee_kind = k;
            row.assignee_name = n.into();
        }
        Err(e) => errors.push(e),
    }
    row.description = patch.description.apply_to(row.description);
    row.due_date = patch.due_date.apply_to(row.due_date);
    match patch.schedule {
        Patch::Absent => {}
        Patch::Null => apply_schedule(&mut row, None),
        Patch::Value(s) => apply_schedule(&mut row, Some(s)),
    }
    match patch.lead_days.require("lead_days", row.lead_days) {
        Ok(v) => row.lead_days = v,
        Err(e) => errors.push(e),
    }
    match patch.horizon_months.require("horizon_months", row.horizon_months) {
        Ok(v) => row.horizon_months = v,
        Err(e) => errors.push(e),
    }
    match patch.scope.require("scope", old.scope) {
        Ok(v) => row.scope = v,
        Err(e) => errors.push(e),
    }
    errors.extend(check_row(&row, &contract));
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if row == old {
        return Ok(old);
    }
    row.version = old.version + 1;
    row.updated_at = ctx.now.naive_utc();
    if !store::update(conn, &row, old.version)? {
        return Err(ApiError::conflict(
            "concurrent_update",
            "the obligation changed meanwhile; fetch it again and retry",
        ));
    }
    events::record(conn, ctx, ENTITY, id, "updated", &snapshot(&old), &snapshot(&row))?;
    store::mark_due(conn, &[row.contract_id.clone()], Some(id), ctx.today())?;
    Ok(row)
}

/// Deletes an obligation with its open tasks; refused while tasks with work on them remain.
pub fn delete(conn: &mut DbConnection, ctx: &Ctx, id: &str, expected: &Expected) -> Result<(), ApiError> {
    Hold::Update.row(conn, "obligations", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    let tasks = task_store::all_of_obligation(conn, id)?;
    if tasks.iter().any(|t| !matches!(t.status.as_str(), "open" | "cancelled")) {
        return Err(ApiError::conflict(
            "has_tasks",
            "tasks of this obligation were worked on; keep it, or end it by changing its schedule",
        ));
    }
    crate::tasks::service::delete_of_obligation(conn, ctx, id, &tasks)?;
    store::delete(conn, id)?;
    events::record(conn, ctx, ENTITY, id, "deleted", &snapshot(&old), &Value::Null)?;
    Ok(())
}

/// The occurrences the obligation asks for between `from` and `to`, within the contract's
/// period and, per installation, within its coverage, out of `days`: its schedule's days
/// (expanded beforehand, see [`super::generation`]) or its one-off day. Nothing for contracts
/// not in force.
pub fn wanted(
    conn: &mut DbConnection,
    row: &ObligationRow,
    contract: &ContractRow,
    from: NaiveDate,
    to: NaiveDate,
    days: &[NaiveDate],
) -> Result<Vec<Wanted>, ApiError> {
    if !matches!(contract.status.as_str(), "active" | "terminated") {
        return Ok(Vec::new());
    }
    let clip = |lo: NaiveDate, hi: Option<NaiveDate>| {
        let lo = lo.max(from).max(contract.start_date);
        let hi = [Some(to), hi, contract.end_date].into_iter().flatten().min().unwrap_or(to);
        (lo, hi)
    };
    let targets: Vec<(Option<String>, NaiveDate, NaiveDate)> = match row.scope {
        Scope::Installations => coverage_store::all_coverage_of_contract(conn, &contract.id)?
            .into_iter()
            .map(|c| {
                let (lo, hi) = clip(c.valid_from, c.valid_to);
                (Some(c.installation_id), lo, hi)
            })
            .collect(),
        Scope::Contract => {
            let (lo, hi) = clip(contract.start_date, None);
            vec![(None, lo, hi)]
        }
    };
    let lead = chrono::Days::new(row.lead_days.max(0) as u64);
    let mut out = Vec::new();
    for (installation, lo, hi) in &targets {
        for day in days.iter().filter(|d| lo <= *d && *d <= hi) {
            out.push(Wanted {
                installation_id: installation.clone(),
                nominal: *day,
                due: day.checked_sub_days(lead).unwrap_or(*day),
            });
        }
    }
    Ok(out)
}

pub fn occurrence_key(obligation_id: &str, installation_id: Option<&str>, nominal: NaiveDate) -> String {
    format!("{obligation_id}|{}|{nominal}", installation_id.unwrap_or("-"))
}

/// Marks every obligation of some changed contracts (as just written) due today, after a
/// change to their term, status or coverage: one statement, no schedule expanded. The caller
/// brings them in line after its commit ([`super::generation::catch_up`]); the scheduler's pass
/// does what that leaves.
pub fn follow_contracts(conn: &mut DbConnection, ctx: &Ctx, contracts: &[&ContractRow]) -> Result<(), ApiError> {
    let ids: Vec<String> = contracts.iter().map(|c| c.id.clone()).collect();
    store::mark_due(conn, &ids, None, ctx.today())?;
    Ok(())
}
