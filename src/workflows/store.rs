//! Queries on workflow definitions, their versions, instances and instance steps.

use crate::db::schema::{
    workflow_instance_steps as steps, workflow_instances as inst, workflow_versions as wv, workflows,
};
use crate::db::DbConnection;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = workflows)]
pub struct WorkflowRow {
    pub id: String,
    pub key: String,
    pub name: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = wv)]
pub struct VersionRow {
    pub workflow_id: String,
    pub version: i64,
    pub name: String,
    pub description: Option<String>,
    pub steps: crate::db::column::Json<Vec<crate::workflows::model::Step>>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = inst)]
#[diesel(treat_none_as_null = true)]
pub struct InstanceRow {
    pub id: String,
    pub dossier_id: String,
    pub workflow_id: String,
    pub workflow_key: String,
    pub workflow_version: i64,
    pub status: crate::workflows::model::InstanceStatus,
    pub current_step: Option<String>,
    pub responsible_kind: crate::tasks::model::AssigneeKind,
    pub responsible_name: String,
    pub rule_key: Option<String>,
    pub started_by: String,
    pub started_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = steps)]
#[diesel(treat_none_as_null = true)]
pub struct StepRow {
    pub instance_id: String,
    pub seq: i32,
    pub step_key: String,
    pub name: String,
    pub task_id: Option<String>,
    pub status: crate::workflows::model::StepStatus,
    pub outcome: Option<String>,
    pub assignee_kind: crate::tasks::model::AssigneeKind,
    pub assignee_name: String,
    pub due_date: NaiveDate,
    pub started_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub ended_by: Option<String>,
}

// ---- definitions

/// A workflow by id, or else by key.
pub fn by_id_or_key(conn: &mut DbConnection, id_or_key: &str) -> QueryResult<Option<WorkflowRow>> {
    workflows::table
        .filter(workflows::id.eq(id_or_key).or(workflows::key.eq(id_or_key)))
        .order(workflows::id.asc())
        .select(WorkflowRow::as_select())
        .first(conn)
        .optional()
}

pub fn by_key(conn: &mut DbConnection, key: &str) -> QueryResult<Option<WorkflowRow>> {
    workflows::table.filter(workflows::key.eq(key)).select(WorkflowRow::as_select()).first(conn).optional()
}

pub fn insert(conn: &mut DbConnection, row: &WorkflowRow) -> QueryResult<()> {
    diesel::insert_into(workflows::table).values(row).execute(conn).map(|_| ())
}

pub fn update(conn: &mut DbConnection, row: &WorkflowRow, expected_version: i64) -> QueryResult<bool> {
    diesel::update(workflows::table.filter(workflows::id.eq(&row.id)).filter(workflows::version.eq(expected_version)))
        .set(row)
        .execute(conn)
        .map(|n| n == 1)
}

/// Workflows with their current version, in id order after `after`.
pub fn list_current(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(WorkflowRow, VersionRow)>> {
    let mut q = workflows::table
        .inner_join(wv::table.on(wv::workflow_id.eq(workflows::id).and(wv::version.eq(workflows::version))))
        .order(workflows::id.asc())
        .limit(limit)
        .select((WorkflowRow::as_select(), VersionRow::as_select()))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(workflows::id.gt(a.to_string()));
    }
    q.load(conn)
}

pub fn insert_version(conn: &mut DbConnection, row: &VersionRow) -> QueryResult<()> {
    diesel::insert_into(wv::table).values(row).execute(conn).map(|_| ())
}

pub fn version(conn: &mut DbConnection, workflow_id: &str, version: i64) -> QueryResult<Option<VersionRow>> {
    wv::table
        .filter(wv::workflow_id.eq(workflow_id))
        .filter(wv::version.eq(version))
        .select(VersionRow::as_select())
        .first(conn)
        .optional()
}

// ---- instances

pub fn get_instance(conn: &mut DbConnection, id: &str) -> QueryResult<Option<InstanceRow>> {
    inst::table.find(id).select(InstanceRow::as_select()).first(conn).optional()
}

pub fn insert_instance(conn: &mut DbConnection, row: &InstanceRow) -> QueryResult<()> {
    diesel::insert_into(inst::table).values(row).execute(conn).map(|_| ())
}

pub fn update_instance(conn: &mut DbConnection, row: &InstanceRow, expected_version: i64) -> QueryResult<bool> {
    diesel::update(inst::table.filter(inst::id.eq(&row.id)).filter(inst::version.eq(expected_version)))
        .set(row)
        .execute(conn)
        .map(|n| n == 1)
}

/// The filters of the instance list.
#[derive(Debug, Default, Clone)]
pub struct InstanceFilter {
    pub dossier_id: Option<String>,
    pub status: Option<String>,
    pub workflow_key: Option<String>,
}

pub fn list_instances(
    conn: &mut DbConnection,
    f: &InstanceFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<InstanceRow>> {
    let mut q = inst::table.select(InstanceRow::as_select()).order(inst::id.asc()).limit(limit).into_boxed();
    if let Some(v) = &f.dossier_id {
        q = q.filter(inst::dossier_id.eq(v.clone()));
    }
    if let Some(v) = &f.status {
        q = q.filter(inst::status.eq(v.clone()));
    }
    if let Some(v) = &f.workflow_key {
        q = q.filter(inst::workflow_key.eq(v.clone()));
    }
    if let Some(a) = after {
        q = q.filter(inst::id.gt(a.to_string()));
    }
    q.load(conn)
}

pub fn running_on_dossier(conn: &mut DbConnection, dossier_id: &str) -> QueryResult<i64> {
    inst::table.filter(inst::dossier_id.eq(dossier_id)).filter(inst::status.eq("running")).count().get_result(conn)
}

// ---- steps

pub fn steps_of(conn: &mut DbConnection, instance_id: &str) -> QueryResult<Vec<StepRow>> {
    steps::table
        .filter(steps::instance_id.eq(instance_id))
        .order(steps::seq.asc())
        .select(StepRow::as_select())
        .load(conn)
}

pub fn active_step(conn: &mut DbConnection, instance_id: &str) -> QueryResult<Option<StepRow>> {
    steps::table
        .filter(steps::instance_id.eq(instance_id))
        .filter(steps::status.eq("active"))
        .order(steps::seq.desc())
        .select(StepRow::as_select())
        .first(conn)
        .optional()
}

pub fn last_seq(conn: &mut DbConnection, instance_id: &str) -> QueryResult<i32> {
    steps::table
        .filter(steps::instance_id.eq(instance_id))
        .select(diesel::dsl::max(steps::seq))
        .first::<Option<i32>>(conn)
        .map(|m| m.unwrap_or(0))
}

pub fn insert_step(conn: &mut DbConnection, row: &StepRow) -> QueryResult<()> {
    diesel::insert_into(steps::table).values(row).execute(conn).map(|_| ())
}

pub fn update_step(conn: &mut DbConnection, row: &StepRow) -> QueryResult<()> {
    diesel::update(steps::table.filter(steps::instance_id.eq(&row.instance_id)).filter(steps::seq.eq(row.seq)))
        .set(row)
        .execute(conn)
        .map(|_| ())
}
