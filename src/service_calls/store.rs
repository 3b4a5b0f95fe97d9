//! Queries on service calls.

use crate::db::schema::{service_calls, tasks};
use crate::db::{marks, DbConnection};
use chrono::NaiveDateTime;
use diesel::dsl::{not, sql};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Timestamp};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = service_calls)]
#[diesel(treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ServiceCallRow {
    pub id: String,
    pub number: String,
    pub installation_id: String,
    pub customer_ref: String,
    pub entitled: bool,
    pub contract_id: Option<String>,
    /// The service level applied, as JSON.
    pub service_level: Option<crate::db::column::Json<crate::contracts::service_level::ServiceLevel>>,
    /// The contract the service level comes from; `None` with a level: the configured default.
    pub service_level_source: Option<String>,
    pub priority: crate::contracts::service_level::Priority,
    pub status: crate::service_calls::model::Status,
    pub title: String,
    pub description: Option<String>,
    /// Reporter contact as JSON.
    pub reporter: Option<crate::db::column::Json<crate::service_calls::input::Reporter>>,
    pub channel: crate::service_calls::model::Channel,
    pub external_ref: Option<String>,
    pub reported_at: NaiveDateTime,
    pub respond_by: Option<NaiveDateTime>,
    pub respond_risk_at: Option<NaiveDateTime>,
    pub resolve_by: Option<NaiveDateTime>,
    pub resolve_risk_at: Option<NaiveDateTime>,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub on_hold_since: Option<NaiveDateTime>,
    pub hold_reason: Option<String>,
    pub paused_seconds: i64,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolution: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub cancel_reason: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Who an action of the call is assigned to.
#[derive(Debug, Clone)]
pub enum AssigneeFilter {
    /// The user, or any of the roles.
    Mine(String, Vec<String>),
    User(String),
    Role(String),
}

/// The filters of the service-call list; all optional, combined with AND. The SLA filters are
/// evaluated at `now`.
#[derive(Debug, Clone)]
pub struct ListFilter {
    pub now: NaiveDateTime,
    pub statuses: Vec<String>,
    pub priority: Option<String>,
    pub installation_id: Option<String>,
    pub contract_id: Option<String>,
    pub customer_ref: Option<String>,
    pub external_ref: Option<String>,
    pub entitled: Option<bool>,
    pub breached: Option<bool>,
    pub response_breached: Option<bool>,
    pub resolution_breached: Option<bool>,
    pub at_risk: Option<bool>,
    pub assignee: Option<AssigneeFilter>,
}

impl ListFilter {
    pub fn at(now: NaiveDateTime) -> ListFilter {
        ListFilter {
            now,
            statuses: Vec::new(),
            priority: None,
            installation_id: None,
            contract_id: None,
            customer_ref: None,
            external_ref: None,
            entitled: None,
            breached: None,
            response_breached: None,
            resolution_breached: None,
            at_risk: None,
            assignee: None,
        }
    }
}

pub fn get(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ServiceCallRow>> {
    service_calls::table.find(id).select(ServiceCallRow::as_select()).first(conn).optional()
}

pub fn exists(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(service_calls::table.find(id))).get_result(conn)
}

pub fn by_external_ref(conn: &mut DbConnection, external_ref: &str) -> QueryResult<Option<ServiceCallRow>> {
    service_calls::table
        .filter(service_calls::external_ref.eq(external_ref))
        .select(ServiceCallRow::as_select())
        .first(conn)
        .optional()
}

/// Where call numbers come from.
pub const NUMBERS: crate::db::numbers::Numbers =
    crate::db::numbers::Numbers { sequence: "service_call_numbers", counter: "service_call_number" };

/// Inserts a call (`now` tells the breach sweeps about a deadline already past).
pub fn insert(conn: &mut DbConnection, row: &ServiceCallRow, now: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(service_calls::table).values(row).execute(conn)?;
    call_written(conn, now, None, row)
}

/// Writes `row` over `old` if the stored version is still `old`'s; false when it was not.
pub fn update(
    conn: &mut DbConnection,
    old: &ServiceCallRow,
    row: &ServiceCallRow,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let written = diesel::update(
        service_calls::table.filter(service_calls::id.eq(&row.id)).filter(service_calls::version.eq(old.version)),
    )
    .set(row)
    .execute(conn)?
        == 1;
    if written {
        call_written(conn, now, Some(old), row)?;
    }
    Ok(written)
}

/// Whether the call has actions that are still open or in progress.
pub fn has_open_actions(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        tasks::table.filter(tasks::service_call_id.eq(id)).filter(tasks::status.eq_any(crate::tasks::store::OPEN)),
    ))
    .get_result(conn)
}

// The SLA conditions below state `model::sla_state` in SQL, so lists filter exactly what the
// answers show. COALESCE picks the moment that stopped or froze a clock, else now.

pub type Condition = Box<dyn BoxableExpression<service_calls::table, crate::db::SqlBackend, SqlType = Bool>>;

/// Which deadline of a call was missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breach {
    Response,
    Resolution,
}

impl Breach {
    pub fn as_str(self) -> &'static str {
        match self {
            Breach::Response => "response_breached",
            Breach::Resolution => "resolution_breached",
        }
    }

    /// The calls whose deadline of this kind is breached at `now`.
    pub fn condition(self, now: NaiveDateTime) -> Condition {
        match self {
            Breach::Response => response_breached(now),
            Breach::Resolution => resolution_breached(now),
        }
    }
}

fn response_breached(now: NaiveDateTime) -> Condition {
    Box::new(
        sql::<Bool>(
            "(service_calls.respond_by IS NOT NULL AND \
             COALESCE(service_calls.acknowledged_at, service_calls.cancelled_at, ",
        )
        .bind::<Timestamp, _>(now)
        .sql(") > service_calls.respond_by)"),
    )
}

fn resolution_breached(now: NaiveDateTime) -> Condition {
    Box::new(
        sql::<Bool>(
            "(service_calls.resolve_by IS NOT NULL AND COALESCE(service_calls.resolved_at, \
             service_calls.cancelled_at, service_calls.on_hold_since, ",
        )
        .bind::<Timestamp, _>(now)
        .sql(") > service_calls.resolve_by)"),
    )
}

fn at_risk(now: NaiveDateTime) -> Condition {
    Box::new(
        sql::<Bool>(
            "COALESCE((service_calls.acknowledged_at IS NULL AND service_calls.cancelled_at IS NULL \
             AND service_calls.respond_risk_at <= ",
        )
        .bind::<Timestamp, _>(now)
        .sql(" AND service_calls.respond_by >= ")
        .bind::<Timestamp, _>(now)
        .sql(
            ") OR (service_calls.resolved_at IS NULL AND service_calls.cancelled_at IS NULL \
             AND service_calls.on_hold_since IS NULL AND service_calls.resolve_risk_at <= ",
        )
        .bind::<Timestamp, _>(now)
        .sql(" AND service_calls.resolve_by >= ")
        .bind::<Timestamp, _>(now)
        .sql("), FALSE)"),
    )
}

/// One page of calls, newest report first, after the position `after` (reported_at, id).
pub fn list(
    conn: &mut DbConnection,
    f: &ListFilter,
    after: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<ServiceCallRow>> {
    let mut q = service_calls::table
        .select(ServiceCallRow::as_select())
        .order((service_calls::reported_at.desc(), service_calls::id.desc()))
        .limit(limit)
        .into_boxed();
    if !f.statuses.is_empty() {
        q = q.filter(service_calls::status.eq_any(f.statuses.clone()));
    }
    if let Some(v) = &f.priority {
        q = q.filter(service_calls::priority.eq(v.clone()));
    }
    if let Some(v) = &f.installation_id {
        q = q.filter(service_calls::installation_id.eq(v.clone()));
    }
    if let Some(v) = &f.contract_id {
        q = q.filter(service_calls::contract_id.eq(v.clone()));
    }
    if let Some(v) = &f.customer_ref {
        q = q.filter(service_calls::customer_ref.eq(v.clone()));
    }
    if let Some(v) = &f.external_ref {
        q = q.filter(service_calls::external_ref.eq(v.clone()));
    }
    if let Some(v) = f.entitled {
        q = q.filter(service_calls::entitled.eq(v));
    }
    let now = f.now;
    let either = || -> Condition { Box::new(response_breached(now).or(resolution_breached(now))) };
    for (wanted, condition) in [
        (f.breached, &either as &dyn Fn() -> Condition),
        (f.response_breached, &|| response_breached(now)),
        (f.resolution_breached, &|| resolution_breached(now)),
        (f.at_risk, &|| at_risk(now)),
    ] {
        match wanted {
            Some(true) => q = q.filter(condition()),
            Some(false) => q = q.filter(not(condition())),
            None => {}
        }
    }
    if let Some(a) = &f.assignee {
        let actions = tasks::table.select(tasks::service_call_id).filter(tasks::service_call_id.is_not_null());
        q = match a.clone() {
            AssigneeFilter::Mine(sub, roles) => q.filter(
                service_calls::id.nullable().eq_any(
                    actions.filter(
                        tasks::assignee_kind
                            .eq("user")
                            .and(tasks::assignee_name.eq(sub))
                            .or(tasks::assignee_kind.eq("role").and(tasks::assignee_name.eq_any(roles))),
                    ),
                ),
            ),
            AssigneeFilter::User(u) => q.filter(
                service_calls::id
                    .nullable()
                    .eq_any(actions.filter(tasks::assignee_kind.eq("user")).filter(tasks::assignee_name.eq(u))),
            ),
            AssigneeFilter::Role(r) => q.filter(
                service_calls::id
                    .nullable()
                    .eq_any(actions.filter(tasks::assignee_kind.eq("role")).filter(tasks::assignee_name.eq(r))),
            ),
        };
    }
    if let Some((at, id)) = after {
        q = q.filter(
            crate::row_cmp!("service_calls.reported_at, service_calls.id" "<" (diesel::sql_types::Timestamp, at), id),
        );
    }
    q.load(conn)
}

/// The sweep of calls past their response deadline.
pub const RESPONSE_BREACHED: &str = "service_call.response_breached";
/// The sweep of calls past their resolution deadline.
pub const RESOLUTION_BREACHED: &str = "service_call.resolution_breached";

/// A service call was written (`old` is its state before, `None` for a new call): tells each
/// breach sweep whose inputs changed.
pub fn call_written(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    old: Option<&ServiceCallRow>,
    new: &ServiceCallRow,
) -> QueryResult<()> {
    type Row = ServiceCallRow;
    let response = |r: &Row| (r.respond_by, r.acknowledged_at, r.cancelled_at);
    let resolution = |r: &Row| (r.resolve_by, r.resolved_at, r.cancelled_at, r.on_hold_since);
    let mut marks = Vec::with_capacity(2);
    if let Some(key) = new.respond_by.filter(|_| old.is_none_or(|o| response(o) != response(new))) {
        marks.push((RESPONSE_BREACHED, key, key < now));
    }
    if let Some(key) = new.resolve_by.filter(|_| old.is_none_or(|o| resolution(o) != resolution(new))) {
        marks.push((RESOLUTION_BREACHED, key, key < now));
    }
    marks::behind_all(conn, &marks)
}
