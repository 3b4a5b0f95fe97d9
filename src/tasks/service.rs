//! Task use cases: acting on a task and changing it by hand. Each runs inside the caller's
//! transaction and appends its event there.

use super::input::{ActIn, TaskPatch};
use super::model::{transition, Action, Assignee, Kind, Status};
use super::store::{self, TaskRow};
use crate::auth::{Principal, Role};
use crate::db::Expected;
use crate::db::{DbConnection, Hold};
use crate::error::{ApiError, FieldError};
use crate::events::store as events;
use crate::events::Ctx;
use crate::http::Patch;
use serde_json::Value;

pub const ENTITY: &str = "task";

/// The JSON form of a task used for history diffs.
pub fn snapshot(t: &TaskRow) -> Value {
    serde_json::json!({
        "kind": t.kind, "title": t.title, "description": t.description, "status": t.status,
        "assignee": Assignee::from_parts(t.assignee_kind, &t.assignee_name), "due_date": t.due_date,
        "contract_id": t.contract_id, "installation_id": t.installation_id, "obligation_id": t.obligation_id,
        "service_call_id": t.service_call_id,
        "nominal_date": t.nominal_date, "notes": t.notes, "result_note": t.result_note,
        "closed_by": t.closed_by, "workflow_instance_id": t.workflow_instance_id, "dossier_id": t.dossier_id,
    })
}

pub fn load(conn: &mut DbConnection, id: &str) -> Result<TaskRow, ApiError> {
    store::get(conn, id)?.ok_or_else(|| ApiError::not_found(format!("task {id} does not exist")))
}

/// Only the assignee, a holder of the assigned role, a planner or an admin may work on a task.
pub fn check_may_act(who: &Principal, task: &TaskRow) -> Result<(), ApiError> {
    let assignee = Assignee::from_parts(task.assignee_kind, &task.assignee_name);
    if assignee.is(&who.sub, &who.roles) || who.has_role(Role::Planner) || who.has_role(Role::Admin) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only the assignee, a holder of the assigned role, a planner or an admin may work on this task",
        ))
    }
}

fn save(
    conn: &mut DbConnection,
    ctx: &Ctx,
    old: &TaskRow,
    mut new: TaskRow,
    action: &str,
) -> Result<TaskRow, ApiError> {
    new.version = old.version + 1;
    new.updated_at = ctx.now.naive_utc();
    if !store::update(conn, old, &new, ctx.today())? {
        return Err(ApiError::conflict("concurrent_update", "the task changed meanwhile; fetch it again and retry"));
    }
    events::record(conn, ctx, ENTITY, &new.id, action, &snapshot(old), &snapshot(&new))?;
    Ok(new)
}

/// A workflow step's task was completed or skipped (the outcome, whether skipped): advances
/// its workflow in the same transaction.
pub type StepDone = fn(&mut DbConnection, &Ctx, &TaskRow, Option<String>, bool) -> Result<(), ApiError>;

/// What the features built on the worklist do when their tasks change. `startup` registers
/// them: the worklist knows no feature above it.
#[derive(Clone, Copy)]
pub struct TaskHooks {
    pub step_done: StepDone,
}

/// Starts, completes, skips or cancels a task. The note is the result (complete) or the reason.
/// Completing or skipping a workflow step's task advances its workflow in the same transaction
/// (`hooks.step_done`).
#[allow(clippy::too_many_arguments)]
pub fn act(
    conn: &mut DbConnection,
    ctx: &Ctx,
    who: &Principal,
    id: &str,
    action: Action,
    input: ActIn,
    expected: &Expected,
    hooks: &TaskHooks,
) -> Result<TaskRow, ApiError> {
    let ActIn { note, outcome } = input;
    Hold::Update.row(conn, "tasks", id)?;
    let old = load(conn, id)?;
    check_may_act(who, &old)?;
    expected.check(old.version)?;
    let step = old.kind == Kind::WorkflowStep;
    if outcome.is_some() && !(step && action == Action::Complete) {
        return Err(ApiError::invalid("outcome", "not_allowed", "only completing a workflow step takes an outcome"));
    }
    if step && action == Action::Cancel && old.status.is_open() {
        return Err(ApiError::conflict(
            "workflow_step",
            "this task is a workflow step: cancel its workflow instance instead",
        ));
    }
    let from = old.status;
    let to = transition(from, action).ok_or_else(|| {
        ApiError::conflict("invalid_transition", format!("a task that is {} cannot {}", from.as_str(), action.as_str()))
    })?;
    let mut new = old.clone();
    new.status = to;
    match action {
        Action::Start => new.started_at = Some(ctx.now.naive_utc()),
        Action::Complete | Action::Skip | Action::Cancel => {
            new.closed_at = Some(ctx.now.naive_utc());
            new.closed_by = Some(ctx.actor.to_string());
            if note.is_some() {
                new.result_note = note;
            }
        }
    }
    let new = save(conn, ctx, &old, new, action.past_tense())?;
    if step && matches!(action, Action::Complete | Action::Skip) {
        (hooks.step_done)(conn, ctx, &new, outcome, action == Action::Skip)?;
    }
    Ok(new)
}

/// Reassigns, reschedules or annotates a task. A task changed by hand keeps that change when
/// its obligation's tasks are generated again.
pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    who: &Principal,
    id: &str,
    patch: TaskPatch,
    expected: &Expected,
) -> Result<TaskRow, ApiError> {
    Hold::Update.row(conn, "tasks", id)?;
    let old = load(conn, id)?;
    check_may_act(who, &old)?;
    expected.check(old.version)?;
    if !old.status.is_open() {
        return Err(ApiError::conflict(
            "task_closed",
            format!("the task is {}; closed tasks do not change", old.status.as_str()),
        ));
    }
    let mut new = old.clone();
    let mut errors = Vec::new();
    match patch.assignee.require("assignee", Assignee::from_parts(old.assignee_kind, &old.assignee_name)) {
        Ok(a) => {
            if let Err(m) = a.check() {
                errors.push(FieldError::new("assignee", "invalid_value", m));
            }
            let (k, n) = a.parts();
            if (k, n) != (old.assignee_kind, old.assignee_name.as_str()) {
                new.assignee_kind = k;
                new.assignee_name = n.into();
                new.reassigned = true;
            }
        }
        Err(e) => errors.push(e),
    }
    match patch.due_date.require("due_date", old.due_date) {
        Ok(d) => {
            crate::http::check_year(&mut errors, "due_date", chrono::Datelike::year(&d));
            if d != old.due_date {
                new.due_date = d;
                new.rescheduled = true;
            }
        }
        Err(e) => errors.push(e),
    }
    new.notes = match patch.notes {
        Patch::Absent => old.notes.clone(),
        Patch::Null => None,
        Patch::Value(n) if n.chars().count() > 10_000 => {
            errors.push(FieldError::new("notes", "too_long", "at most 10000 characters"));
            old.notes.clone()
        }
        Patch::Value(n) => Some(n),
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if new == old {
        return Ok(old);
    }
    save(conn, ctx, &old, new, "updated")
}

/// Adds new tasks (service actions, workflow steps) and their `created` events.
pub fn create(conn: &mut DbConnection, ctx: &Ctx, rows: &[TaskRow]) -> Result<(), ApiError> {
    store::insert_new(conn, rows, ctx.today())?;
    let changes: Vec<_> = rows.iter().map(|t| crate::events::model::diff(&Value::Null, &snapshot(t))).collect();
    let list: Vec<events::NewEvent> = rows
        .iter()
        .zip(&changes)
        .map(|(t, changes)| events::NewEvent {
            entity_type: ENTITY,
            entity_id: &t.id,
            action: "created",
            actor: ctx.actor,
            at: ctx.now.naive_utc(),
            changes,
        })
        .collect();
    events::append_many(conn, &list)?;
    Ok(())
}

/// What [`write_planned`] wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PlannedWritten {
    pub created: usize,
    /// Open tasks brought in line, or cancelled ones reopened.
    pub updated: usize,
    pub cancelled: usize,
}

/// Writes what a producer of planned tasks (task generation) decided: new tasks (one whose
/// occurrence already has a task is left out) and changed ones as `(before, after)`, each
/// with its event (`created`, `updated`, `reopened` or `cancelled`). A task someone changed
/// since `before` was read keeps their change and is not counted.
pub fn write_planned(
    conn: &mut DbConnection,
    ctx: &Ctx,
    create: &[TaskRow],
    change: &[(TaskRow, TaskRow)],
) -> Result<PlannedWritten, ApiError> {
    let created = store::insert_new(conn, create, ctx.today())?;
    let pairs: Vec<(&TaskRow, &TaskRow)> = change.iter().map(|(old, new)| (old, new)).collect();
    let written = store::update_planned(conn, &pairs, ctx.today())?;
    let mut out = PlannedWritten { created, ..Default::default() };
    let mut snapshots: Vec<(&str, &str, Value, Value)> = Vec::with_capacity(created + written.len());
    for t in create.iter().take(created) {
        snapshots.push((&t.id, "created", Value::Null, snapshot(t)));
    }
    for (old, new) in change.iter().filter(|(_, new)| written.contains(&new.id)) {
        let action = if new.status == Status::Cancelled {
            out.cancelled += 1;
            "cancelled"
        } else {
            out.updated += 1;
            if old.status == Status::Cancelled {
                "reopened"
            } else {
                "updated"
            }
        };
        snapshots.push((&new.id, action, snapshot(old), snapshot(new)));
    }
    let changes: Vec<_> = snapshots.iter().map(|(id, action, old, new)| (*id, *action, old, new)).collect();
    events::record_many(conn, ctx, ENTITY, &changes)?;
    Ok(out)
}

/// Deletes the tasks `rows` of the obligation `obligation_id`, which is being deleted, each
/// with its `deleted` event; the caller has checked that none was worked on.
pub fn delete_of_obligation(
    conn: &mut DbConnection,
    ctx: &Ctx,
    obligation_id: &str,
    rows: &[TaskRow],
) -> Result<(), ApiError> {
    let snapshots: Vec<Value> = rows.iter().map(snapshot).collect();
    store::delete_of_obligation(conn, obligation_id)?;
    let changes: Vec<(&str, &str, &Value, &Value)> =
        rows.iter().zip(&snapshots).map(|(t, snap)| (t.id.as_str(), "deleted", snap, &Value::Null)).collect();
    events::record_many(conn, ctx, ENTITY, &changes)?;
    Ok(())
}

/// Cancels the still-open tasks among `rows` because what they were for went away; `reason`
/// becomes their result note. Returns how many were cancelled.
pub fn cancel_open(conn: &mut DbConnection, ctx: &Ctx, rows: Vec<TaskRow>, reason: &str) -> Result<usize, ApiError> {
    let mut cancelled = 0;
    for old in rows.into_iter().filter(|t| t.status.is_open()) {
        let mut new = old.clone();
        new.status = Status::Cancelled;
        new.closed_at = Some(ctx.now.naive_utc());
        new.closed_by = Some(ctx.actor.to_string());
        new.result_note = Some(reason.to_string());
        save(conn, ctx, &old, new, "cancelled")?;
        cancelled += 1;
    }
    Ok(cancelled)
}
