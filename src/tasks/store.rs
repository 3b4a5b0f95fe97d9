//! Queries on tasks and calendar-feed tokens.

use crate::db::schema::{feed_tokens, tasks};
use crate::db::{marks, DbConnection};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tasks)]
#[diesel(treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct TaskRow {
    pub id: String,
    pub kind: crate::tasks::model::Kind,
    pub title: String,
    pub description: Option<String>,
    pub status: crate::tasks::model::Status,
    pub assignee_kind: crate::tasks::model::AssigneeKind,
    pub assignee_name: String,
    pub due_date: NaiveDate,
    pub contract_id: Option<String>,
    pub installation_id: Option<String>,
    pub obligation_id: Option<String>,
    pub occurrence_key: Option<String>,
    pub nominal_date: Option<NaiveDate>,
    pub rescheduled: bool,
    pub reassigned: bool,
    pub notes: Option<String>,
    pub result_note: Option<String>,
    pub started_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub closed_by: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The service call a service action belongs to.
    pub service_call_id: Option<String>,
    /// For workflow steps: the workflow instance the task is the active step of.
    pub workflow_instance_id: Option<String>,
    /// For workflow steps: the dossier the workflow runs on.
    pub dossier_id: Option<String>,
}

impl TaskRow {
    /// A new open task with nothing linked yet; callers fill in what it belongs to.
    pub fn open(
        kind: crate::tasks::model::Kind,
        title: String,
        assignee: &crate::tasks::model::Assignee,
        due: NaiveDate,
        now: NaiveDateTime,
    ) -> TaskRow {
        let (assignee_kind, assignee_name) = assignee.parts();
        TaskRow {
            id: uuid::Uuid::now_v7().to_string(),
            kind,
            title,
            description: None,
            status: crate::tasks::model::Status::Open,
            assignee_kind,
            assignee_name: assignee_name.into(),
            due_date: due,
            contract_id: None,
            installation_id: None,
            obligation_id: None,
            occurrence_key: None,
            nominal_date: None,
            rescheduled: false,
            reassigned: false,
            notes: None,
            result_note: None,
            started_at: None,
            closed_at: None,
            closed_by: None,
            version: 1,
            created_at: now,
            updated_at: now,
            service_call_id: None,
            workflow_instance_id: None,
            dossier_id: None,
        }
    }
}

/// The filters of the worklist; all optional, combined with AND.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    /// `assignee=me`: the user, or any of the roles.
    pub mine: Option<(String, Vec<String>)>,
    pub assignee_user: Option<String>,
    pub assignee_role: Option<String>,
    pub statuses: Vec<String>,
    pub kind: Option<String>,
    pub due_before: Option<NaiveDate>,
    pub due_after: Option<NaiveDate>,
    /// (wanted, today): open work due before today, or everything else.
    pub overdue: Option<(bool, NaiveDate)>,
    pub contract_id: Option<String>,
    pub installation_id: Option<String>,
    pub obligation_id: Option<String>,
    pub service_call_id: Option<String>,
    pub dossier_id: Option<String>,
}

pub const OPEN: [&str; 2] = ["open", "in_progress"];

pub fn get(conn: &mut DbConnection, id: &str) -> QueryResult<Option<TaskRow>> {
    tasks::table.find(id).select(TaskRow::as_select()).first(conn).optional()
}

/// Inserts one task (`today` tells the overdue sweep about a task already due).
pub fn insert(conn: &mut DbConnection, row: &TaskRow, today: NaiveDate) -> QueryResult<()> {
    diesel::insert_into(tasks::table).values(row).execute(conn)?;
    tasks_written(conn, today, [(None, row)])
}

pub fn exists(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(tasks::table.find(id))).get_result(conn)
}

/// Inserts tasks (one statement per 500 on PostgreSQL; row by row inside the transaction on
/// SQLite, which cannot batch rows with absent values). A task whose occurrence already exists
/// is skipped. Returns how many were inserted.
pub fn insert_new(conn: &mut DbConnection, rows: &[TaskRow], today: NaiveDate) -> QueryResult<usize> {
    let mut inserted = 0;
    match conn {
        DbConnection::Postgres(c) => {
            for chunk in rows.chunks(500) {
                inserted += diesel::insert_into(tasks::table)
                    .values(chunk)
                    .on_conflict(tasks::occurrence_key)
                    .do_nothing()
                    .execute(c)?;
            }
        }
        DbConnection::Sqlite(c) => {
            for row in rows {
                inserted += diesel::insert_into(tasks::table)
                    .values(row)
                    .on_conflict(tasks::occurrence_key)
                    .do_nothing()
                    .execute(c)?;
            }
        }
    }
    // After the rows, as every write takes its locks: the sweep's mark is one row all writers
    // of due tasks share, held from here to the commit.
    tasks_written(conn, today, rows.iter().map(|r| (None, r)))?;
    Ok(inserted)
}

/// Writes `row` over `old` if the stored version is still `old`'s; false when it was not.
pub fn update(conn: &mut DbConnection, old: &TaskRow, row: &TaskRow, today: NaiveDate) -> QueryResult<bool> {
    let written = diesel::update(tasks::table.filter(tasks::id.eq(&row.id)).filter(tasks::version.eq(old.version)))
        .set(row)
        .execute(conn)?
        == 1;
    if written {
        tasks_written(conn, today, [(Some(old), row)])?;
    }
    Ok(written)
}

/// Writes what generation changes in planned tasks (status, due date, title, description,
/// assignee, closing, version, update time) for many tasks at once, each `(old, new)` only if
/// the stored version is still `old`'s. Gives the ids written.
pub fn update_planned(
    conn: &mut DbConnection,
    changes: &[(&TaskRow, &TaskRow)],
    today: NaiveDate,
) -> QueryResult<std::collections::HashSet<String>> {
    use diesel::sql_types::{BigInt, Date, Nullable, Text, Timestamp};
    let set = "status = v.column3, due_date = v.column4, title = v.column5, description = v.column6, \
               assignee_kind = v.column7, assignee_name = v.column8, closed_at = v.column9, closed_by = v.column10, \
               version = v.column11, updated_at = v.column12";
    let written: std::collections::HashSet<String> =
        crate::db::update_versioned(conn, ("tasks", set, 12), changes, |q, (old, new)| {
            q.bind::<Text, _>(&new.id)
                .bind::<BigInt, _>(old.version)
                .bind::<Text, _>(&new.status)
                .bind::<Date, _>(new.due_date)
                .bind::<Text, _>(&new.title)
                .bind::<Nullable<Text>, _>(&new.description)
                .bind::<Text, _>(&new.assignee_kind)
                .bind::<Text, _>(&new.assignee_name)
                .bind::<Nullable<Timestamp>, _>(new.closed_at)
                .bind::<Nullable<Text>, _>(&new.closed_by)
                .bind::<BigInt, _>(new.version)
                .bind::<Timestamp, _>(new.updated_at)
        })?
        .into_iter()
        .collect();
    tasks_written(
        conn,
        today,
        changes.iter().filter(|(_, new)| written.contains(&new.id)).map(|(old, new)| (Some(*old), *new)),
    )?;
    Ok(written)
}

/// The tasks of one obligation whose nominal day is `from` or later.
pub fn of_obligation(conn: &mut DbConnection, obligation_id: &str, from: NaiveDate) -> QueryResult<Vec<TaskRow>> {
    tasks::table
        .filter(tasks::obligation_id.eq(obligation_id))
        .filter(tasks::nominal_date.ge(from))
        .select(TaskRow::as_select())
        .load(conn)
}

/// Every task of one obligation, whatever its nominal day.
pub fn all_of_obligation(conn: &mut DbConnection, obligation_id: &str) -> QueryResult<Vec<TaskRow>> {
    tasks::table.filter(tasks::obligation_id.eq(obligation_id)).select(TaskRow::as_select()).load(conn)
}

pub fn obligation_has_tasks(conn: &mut DbConnection, obligation_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(tasks::table.filter(tasks::obligation_id.eq(obligation_id)))).get_result(conn)
}

/// Whether any task belongs to the contract (a reminder, a service action).
pub fn contract_has_tasks(conn: &mut DbConnection, contract_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(tasks::table.filter(tasks::contract_id.eq(contract_id)))).get_result(conn)
}

/// Every action of one service call.
pub fn of_service_call(conn: &mut DbConnection, service_call_id: &str) -> QueryResult<Vec<TaskRow>> {
    tasks::table.filter(tasks::service_call_id.eq(service_call_id)).select(TaskRow::as_select()).load(conn)
}

/// One page of the worklist in (due date, id) order after the position `after`.
pub fn list(
    conn: &mut DbConnection,
    f: &ListFilter,
    after: Option<(NaiveDate, String)>,
    limit: i64,
) -> QueryResult<Vec<TaskRow>> {
    let mut q = tasks::table
        .select(TaskRow::as_select())
        .order((tasks::due_date.asc(), tasks::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some((sub, roles)) = &f.mine {
        q = q.filter(
            tasks::assignee_kind
                .eq("user")
                .and(tasks::assignee_name.eq(sub.clone()))
                .or(tasks::assignee_kind.eq("role").and(tasks::assignee_name.eq_any(roles.clone()))),
        );
    }
    if let Some(u) = &f.assignee_user {
        q = q.filter(tasks::assignee_kind.eq("user")).filter(tasks::assignee_name.eq(u.clone()));
    }
    if let Some(r) = &f.assignee_role {
        q = q.filter(tasks::assignee_kind.eq("role")).filter(tasks::assignee_name.eq(r.clone()));
    }
    match f.statuses.as_slice() {
        [] => {}
        // One status as `=`, not `IN`: an index over (…, status, due_date, id) then gives the
        // page in due order without sorting.
        [one] => q = q.filter(tasks::status.eq(one.clone())),
        many => q = q.filter(tasks::status.eq_any(many.to_vec())),
    }
    if let Some(k) = &f.kind {
        q = q.filter(tasks::kind.eq(k.clone()));
    }
    if let Some(d) = f.due_before {
        q = q.filter(tasks::due_date.lt(d));
    }
    if let Some(d) = f.due_after {
        q = q.filter(tasks::due_date.gt(d));
    }
    match f.overdue {
        Some((true, today)) => q = q.filter(tasks::status.eq_any(OPEN)).filter(tasks::due_date.lt(today)),
        Some((false, today)) => q = q.filter(tasks::status.ne_all(OPEN).or(tasks::due_date.ge(today))),
        None => {}
    }
    if let Some(v) = &f.contract_id {
        q = q.filter(tasks::contract_id.eq(v.clone()));
    }
    if let Some(v) = &f.installation_id {
        q = q.filter(tasks::installation_id.eq(v.clone()));
    }
    if let Some(v) = &f.obligation_id {
        q = q.filter(tasks::obligation_id.eq(v.clone()));
    }
    if let Some(v) = &f.service_call_id {
        q = q.filter(tasks::service_call_id.eq(v.clone()));
    }
    if let Some(v) = &f.dossier_id {
        q = q.filter(tasks::dossier_id.eq(v.clone()));
    }
    if let Some((due, id)) = after {
        q = q.filter(crate::row_cmp!("tasks.due_date, tasks.id" ">" (diesel::sql_types::Date, due), id));
    }
    q.load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = feed_tokens)]
pub struct FeedTokenRow {
    pub id: String,
    pub token_hash: String,
    pub sub: String,
    pub roles: crate::db::column::Json<Vec<String>>,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
}

pub fn insert_feed_token(conn: &mut DbConnection, row: &FeedTokenRow) -> QueryResult<()> {
    diesel::insert_into(feed_tokens::table).values(row).execute(conn).map(|_| ())
}

/// The live token with this hash: not revoked and not expired at `now`.
pub fn feed_token_by_hash(
    conn: &mut DbConnection,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<FeedTokenRow>> {
    feed_tokens::table
        .filter(feed_tokens::token_hash.eq(hash))
        .filter(feed_tokens::revoked_at.is_null())
        .filter(feed_tokens::expires_at.is_null().or(feed_tokens::expires_at.gt(now)))
        .select(FeedTokenRow::as_select())
        .first(conn)
        .optional()
}

pub fn feed_tokens_of(conn: &mut DbConnection, sub: &str) -> QueryResult<Vec<FeedTokenRow>> {
    feed_tokens::table
        .filter(feed_tokens::sub.eq(sub))
        .filter(feed_tokens::revoked_at.is_null())
        .order(feed_tokens::id.asc())
        .limit(1000)
        .select(FeedTokenRow::as_select())
        .load(conn)
}

/// Revokes a token, of `owner` only when given (an admin revokes anyone's); a revoked one keeps
/// its first revocation time. False when there is no such token (of that owner).
pub fn revoke_feed_token(
    conn: &mut DbConnection,
    owner: Option<&str>,
    id: &str,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let sub: Option<String> = feed_tokens::table.find(id).select(feed_tokens::sub).first(conn).optional()?;
    let theirs = match (sub, owner) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(sub), Some(owner)) => sub == owner,
    };
    if !theirs {
        return Ok(false);
    }
    diesel::update(feed_tokens::table.find(id).filter(feed_tokens::revoked_at.is_null()))
        .set(feed_tokens::revoked_at.eq(Some(at)))
        .execute(conn)?;
    Ok(true)
}

pub fn delete_of_obligation(conn: &mut DbConnection, obligation_id: &str) -> QueryResult<()> {
    diesel::delete(tasks::table.filter(tasks::obligation_id.eq(obligation_id))).execute(conn).map(|_| ())
}

/// The sweep of open tasks past their due date (`task.overdue`); keyed by due date.
pub const TASK_OVERDUE: &str = "task.overdue";

/// The open tasks among `rows` that the overdue sweep has to look at again have been written
/// (`old` gives each one's state before, `None` for a new task): moves the mark back to the
/// earliest due date among them. One statement, and none when there is nothing to tell.
pub fn tasks_written<'a>(
    conn: &mut DbConnection,
    today: NaiveDate,
    written: impl IntoIterator<Item = (Option<&'a TaskRow>, &'a TaskRow)>,
) -> QueryResult<()> {
    let open = |t: &TaskRow| OPEN.contains(&t.status.as_str());
    let earliest = written
        .into_iter()
        .filter(|(old, new)| open(new) && old.is_none_or(|o| !open(o) || o.due_date != new.due_date))
        .map(|(_, new)| new.due_date)
        .min();
    match earliest {
        Some(due) => marks::behind(conn, TASK_OVERDUE, marks::day_key(due), due < today),
        None => Ok(()),
    }
}

/// Contract numbers and installation serial numbers by id, to label tasks in the calendar
/// (read straight from those tables: the worklist sits below the features it serves).
#[allow(clippy::type_complexity)]
pub fn labels(
    conn: &mut DbConnection,
    contract_ids: &[String],
    installation_ids: &[String],
) -> QueryResult<(std::collections::HashMap<String, String>, std::collections::HashMap<String, String>)> {
    use crate::db::schema::{contracts, installations};
    let mut by_contract = std::collections::HashMap::new();
    for chunk in contract_ids.chunks(500) {
        by_contract.extend(
            contracts::table.filter(contracts::id.eq_any(chunk)).select((contracts::id, contracts::number)).load::<(
                String,
                String,
            )>(
                conn
            )?,
        );
    }
    let mut by_installation = std::collections::HashMap::new();
    for chunk in installation_ids.chunks(500) {
        by_installation.extend(
            installations::table
                .filter(installations::id.eq_any(chunk))
                .select((installations::id, installations::serial_number))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok((by_contract, by_installation))
}
