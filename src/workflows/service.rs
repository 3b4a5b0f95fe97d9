//! Workflow use cases: versioned definitions, starting an instance (by a rule or by hand),
//! advancing it when its step's task is finished, cancelling it. Each runs inside the caller's
//! transaction and appends its events there.

use super::input::{WorkflowIn, WorkflowPatch};
use super::model::{self, Next, Step};
use super::store::{self, InstanceRow, StepRow, VersionRow, WorkflowRow};
use crate::db::Expected;
use crate::db::{DbConnection, Hold};
use crate::dossiers::store::DossierRow;
use crate::error::{check_text, ApiError, FieldError};
use crate::events::{store as events, Ctx};
use crate::http::Patch;
use crate::tasks::model::Assignee;
use crate::tasks::store::{self as task_store, TaskRow};
use serde_json::Value;

pub const ENTITY: &str = "workflow";
pub const INSTANCE: &str = "workflow_instance";

pub fn steps_of(v: &VersionRow) -> Vec<Step> {
    (*v.steps).clone()
}

fn snapshot(w: &WorkflowRow, v: &VersionRow) -> Value {
    serde_json::json!({"key": w.key, "name": v.name, "description": v.description, "steps": steps_of(v),
                       "definition_version": v.version})
}

pub fn instance_snapshot(i: &InstanceRow) -> Value {
    serde_json::json!({
        "dossier_id": i.dossier_id, "workflow": i.workflow_key, "workflow_version": i.workflow_version,
        "status": i.status, "current_step": i.current_step,
        "responsible": Assignee::from_parts(i.responsible_kind, &i.responsible_name),
        "rule": i.rule_key, "ended_at": i.ended_at.map(crate::clock::as_utc),
    })
}

/// A definition (by id or key) with its current version.
pub fn load(conn: &mut DbConnection, id_or_key: &str) -> Result<(WorkflowRow, VersionRow), ApiError> {
    let w = store::by_id_or_key(conn, id_or_key)?
        .ok_or_else(|| ApiError::not_found(format!("workflow {id_or_key} does not exist")))?;
    let v = load_version(conn, &w, w.version)?;
    Ok((w, v))
}

pub fn load_version(conn: &mut DbConnection, w: &WorkflowRow, version: i64) -> Result<VersionRow, ApiError> {
    store::version(conn, &w.id, version)?
        .ok_or_else(|| ApiError::not_found(format!("workflow {} has no version {version}", w.key)))
}

fn check(errors: &mut Vec<FieldError>, name: &str, description: Option<&String>, steps: &[Step]) {
    check_text(errors, "name", name, 200);
    if description.is_some_and(|d| d.chars().count() > 10_000) {
        errors.push(FieldError::new("description", "too_long", "at most 10000 characters"));
    }
    if let Err(e) = model::validate(steps) {
        errors.extend(e);
    }
}

pub fn create(conn: &mut DbConnection, ctx: &Ctx, input: WorkflowIn) -> Result<(WorkflowRow, VersionRow), ApiError> {
    let mut errors = Vec::new();
    if !crate::attributes::model::valid_key(&input.key) {
        errors.push(FieldError::new("key", "invalid_key", "use snake_case (at most 63 characters)"));
    }
    check(&mut errors, &input.name, input.description.as_ref(), &input.steps);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if store::by_key(conn, &input.key)?.is_some() {
        return Err(ApiError::conflict("duplicate_key", format!("a workflow `{}` already exists", input.key)));
    }
    let now = ctx.now.naive_utc();
    let w = WorkflowRow {
        id: uuid::Uuid::now_v7().to_string(),
        key: input.key,
        name: input.name.clone(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let v = VersionRow {
        workflow_id: w.id.clone(),
        version: 1,
        name: input.name,
        description: input.description,
        steps: crate::db::column::Json::new(input.steps.clone()),
        created_by: ctx.actor.to_string(),
        created_at: now,
    };
    store::insert(conn, &w)?;
    store::insert_version(conn, &v)?;
    events::record(conn, ctx, ENTITY, &w.id, "created", &Value::Null, &snapshot(&w, &v))?;
    Ok((w, v))
}

/// Changes a definition: a new version; running instances keep the version they started with.
pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    patch: WorkflowPatch,
    expected: &Expected,
) -> Result<(WorkflowRow, VersionRow), ApiError> {
    // Found by id or key; held by id, then read again as the last write left it.
    let (found, _) = load(conn, id)?;
    Hold::Update.row(conn, "workflows", &found.id)?;
    let (old, old_v) = load(conn, &found.id)?;
    expected.check(old.version)?;
    let mut errors = Vec::new();
    let name = patch.name.require("name", old_v.name.clone()).unwrap_or_else(|e| {
        errors.push(e);
        old_v.name.clone()
    });
    let description = patch.description.apply_to(old_v.description.clone());
    let steps = match patch.steps {
        Patch::Absent => steps_of(&old_v),
        Patch::Null => {
            errors.push(FieldError::new("steps", "required", "cannot be cleared"));
            Vec::new()
        }
        Patch::Value(s) => s,
    };
    if errors.is_empty() {
        check(&mut errors, &name, description.as_ref(), &steps);
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if name == old_v.name && description == old_v.description && steps == steps_of(&old_v) {
        return Ok((old, old_v));
    }
    let now = ctx.now.naive_utc();
    let w = WorkflowRow { name: name.clone(), version: old.version + 1, updated_at: now, ..old.clone() };
    let v = VersionRow {
        workflow_id: w.id.clone(),
        version: w.version,
        name,
        description,
        steps: crate::db::column::Json::new(steps.clone()),
        created_by: ctx.actor.to_string(),
        created_at: now,
    };
    if !store::update(conn, &w, old.version)? {
        return Err(ApiError::conflict(
            "concurrent_update",
            "the workflow changed meanwhile; fetch it again and retry",
        ));
    }
    store::insert_version(conn, &v)?;
    events::record(conn, ctx, ENTITY, &w.id, "updated", &snapshot(&old, &old_v), &snapshot(&w, &v))?;
    Ok((w, v))
}

pub fn load_instance(conn: &mut DbConnection, id: &str) -> Result<InstanceRow, ApiError> {
    store::get_instance(conn, id)?.ok_or_else(|| ApiError::not_found(format!("workflow instance {id} does not exist")))
}

fn owner_of(d: &DossierRow) -> Assignee {
    Assignee::from_parts(d.owner_kind, &d.owner_name)
}

/// Starts the current version of workflow `key` on a dossier: the instance and its first step's
/// task. `responsible` defaults to the dossier's owner; `rule_key` names the rule that started it.
pub fn start(
    conn: &mut DbConnection,
    ctx: &Ctx,
    dossier: &DossierRow,
    key: &str,
    responsible: Option<Assignee>,
    rule_key: Option<&str>,
) -> Result<InstanceRow, ApiError> {
    let w = store::by_key(conn, key)?
        .ok_or_else(|| ApiError::invalid("workflow", "unknown_workflow", format!("no workflow `{key}` is defined")))?;
    let v = load_version(conn, &w, w.version)?;
    let steps = steps_of(&v);
    let first = steps.first().ok_or_else(|| ApiError::internal(format!("workflow {key} has no steps")))?;
    let responsible = responsible.unwrap_or_else(|| owner_of(dossier));
    let (rk, rn) = responsible.parts();
    let now = ctx.now.naive_utc();
    let instance = InstanceRow {
        id: uuid::Uuid::now_v7().to_string(),
        dossier_id: dossier.id.clone(),
        workflow_id: w.id.clone(),
        workflow_key: w.key.clone(),
        workflow_version: v.version,
        status: model::InstanceStatus::Running,
        current_step: Some(first.key.clone()),
        responsible_kind: rk,
        responsible_name: rn.into(),
        rule_key: rule_key.map(str::to_string),
        started_by: ctx.actor.to_string(),
        started_at: now,
        ended_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    store::insert_instance(conn, &instance)?;
    events::record(conn, ctx, INSTANCE, &instance.id, "started", &Value::Null, &instance_snapshot(&instance))?;
    activate(conn, ctx, &instance, &v.name, dossier, first, 1)?;
    Ok(instance)
}

/// Makes `step` the active step: its row and its task in the worklist.
fn activate(
    conn: &mut DbConnection,
    ctx: &Ctx,
    instance: &InstanceRow,
    workflow_name: &str,
    dossier: &DossierRow,
    step: &Step,
    seq: i32,
) -> Result<(), ApiError> {
    let responsible = Assignee::from_parts(instance.responsible_kind, &instance.responsible_name);
    let assignee = step.assignee.resolve(&owner_of(dossier), &responsible);
    let (kind, name) = assignee.parts();
    let now = ctx.now.naive_utc();
    let due = model::due_date(step, ctx.today());
    let task = TaskRow {
        description: Some(format!(
            "Dossier {} ({}) of customer {}",
            dossier.id, dossier.type_key, dossier.customer_ref
        )),
        contract_id: dossier.contract_id.clone(),
        occurrence_key: Some(format!("workflow:{}:{seq}", instance.id)),
        workflow_instance_id: Some(instance.id.clone()),
        dossier_id: Some(dossier.id.clone()),
        ..TaskRow::open(
            crate::tasks::model::Kind::WorkflowStep,
            format!("{workflow_name}: {}", step.name),
            &assignee,
            due,
            now,
        )
    };
    crate::tasks::service::create(conn, ctx, std::slice::from_ref(&task))?;
    store::insert_step(
        conn,
        &StepRow {
            instance_id: instance.id.clone(),
            seq,
            step_key: step.key.clone(),
            name: step.name.clone(),
            task_id: Some(task.id.clone()),
            status: model::StepStatus::Active,
            outcome: None,
            assignee_kind: kind,
            assignee_name: name.into(),
            due_date: due,
            started_at: now,
            ended_at: None,
            ended_by: None,
        },
    )?;
    Ok(())
}

fn save_instance(
    conn: &mut DbConnection,
    ctx: &Ctx,
    old: &InstanceRow,
    mut new: InstanceRow,
    action: &str,
) -> Result<InstanceRow, ApiError> {
    new.version = old.version + 1;
    new.updated_at = ctx.now.naive_utc();
    if !store::update_instance(conn, &new, old.version)? {
        return Err(ApiError::conflict("concurrent_update", "the workflow instance changed meanwhile; retry"));
    }
    events::record(conn, ctx, INSTANCE, &new.id, action, &instance_snapshot(old), &instance_snapshot(&new))?;
    Ok(new)
}

/// The running instance, its version's steps and its active step for a workflow-step task.
fn active_of(conn: &mut DbConnection, task: &TaskRow) -> Result<(InstanceRow, Vec<Step>, StepRow), ApiError> {
    let not_active = || ApiError::conflict("step_not_active", "this task is not the active step of a running workflow");
    let instance_id = task.workflow_instance_id.as_deref().ok_or_else(not_active)?;
    let instance = load_instance(conn, instance_id)?;
    if instance.status != model::InstanceStatus::Running {
        return Err(not_active());
    }
    let step = store::active_step(conn, &instance.id)?
        .filter(|s| s.task_id.as_deref() == Some(&task.id))
        .ok_or_else(not_active)?;
    let w = store::by_key(conn, &instance.workflow_key)?
        .ok_or_else(|| ApiError::internal(format!("workflow {} vanished", instance.workflow_key)))?;
    let v = load_version(conn, &w, instance.workflow_version)?;
    Ok((instance, steps_of(&v), step))
}

/// Advances the instance whose active step's task was just completed (or skipped): records
/// the step's outcome and activates the next step, or completes the instance at the end.
pub fn step_done(
    conn: &mut DbConnection,
    ctx: &Ctx,
    task: &TaskRow,
    outcome: Option<String>,
    skipped: bool,
) -> Result<(), ApiError> {
    let (instance, steps, mut step) = active_of(conn, task)?;
    let i = steps
        .iter()
        .position(|s| s.key == step.step_key)
        .ok_or_else(|| ApiError::internal(format!("instance {} is at unknown step {}", instance.id, step.step_key)))?;
    let next = model::next_step(&steps, i, outcome.as_deref(), skipped)
        .map_err(|m| ApiError::invalid("outcome", "invalid_outcome", m))?;
    step.status = if skipped { model::StepStatus::Skipped } else { model::StepStatus::Done };
    step.outcome = outcome;
    step.ended_at = Some(ctx.now.naive_utc());
    step.ended_by = Some(ctx.actor.to_string());
    store::update_step(conn, &step)?;
    let mut new = instance.clone();
    match next {
        Next::Step(j) => {
            let dossier = crate::dossiers::service::load(conn, &instance.dossier_id)?;
            let w_name = store::version(conn, &instance.workflow_id, instance.workflow_version)?
                .map(|v| v.name)
                .unwrap_or_else(|| instance.workflow_key.clone());
            activate(conn, ctx, &instance, &w_name, &dossier, &steps[j], step.seq + 1)?;
            new.current_step = Some(steps[j].key.clone());
            save_instance(conn, ctx, &instance, new, "advanced")?;
        }
        Next::End => {
            new.current_step = None;
            new.status = model::InstanceStatus::Completed;
            new.ended_at = Some(ctx.now.naive_utc());
            save_instance(conn, ctx, &instance, new, "completed")?;
        }
    }
    Ok(())
}

/// Cancels a running instance and its open step task.
pub fn cancel(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    note: Option<String>,
    expected: &Expected,
) -> Result<InstanceRow, ApiError> {
    let old = load_instance(conn, id)?;
    expected.check(old.version)?;
    if old.status != model::InstanceStatus::Running {
        return Err(ApiError::conflict(
            "invalid_transition",
            format!("a workflow instance that is {} cannot be cancelled", old.status.as_str()),
        ));
    }
    if let Some(mut step) = store::active_step(conn, id)? {
        if let Some(task_id) = step.task_id.clone() {
            if let Some(t) = task_store::get(conn, &task_id)? {
                let reason = note.clone().unwrap_or_else(|| "workflow cancelled".into());
                crate::tasks::service::cancel_open(conn, ctx, vec![t], &reason)?;
            }
        }
        step.status = model::StepStatus::Cancelled;
        step.ended_at = Some(ctx.now.naive_utc());
        step.ended_by = Some(ctx.actor.to_string());
        store::update_step(conn, &step)?;
    }
    let mut new = old.clone();
    new.status = model::InstanceStatus::Cancelled;
    new.current_step = None;
    new.ended_at = Some(ctx.now.naive_utc());
    save_instance(conn, ctx, &old, new, "cancelled")
}
