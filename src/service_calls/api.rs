//! Handlers and request/response types for `/api/v1/service-calls`, an installation's service
//! history and a contract's service level in force.

use super::input::Reporter;
use super::input::{ActionIn, ServiceCallIn};
use super::model::{self, Action, Channel, Priority, ServiceLevel, Status};
use super::service::{self, SlaSettings, ENTITY};
use super::store::{self, AssigneeFilter, ListFilter, ServiceCallRow};
use crate::auth::Principal;
use crate::auth::{Allowed, CallRegistrars, ServiceAgents};
use crate::clock::{as_utc, Clock};
use crate::db::Db;
use crate::events::Ctx;
use crate::http::etag::resource_response;
use crate::http::json::validate;
use crate::http::pagination::PageRequest;
use crate::http::{ApiError, ApiJson, IfMatch, Page, Problem, QueryPairs};
use crate::tasks::api::TaskOut;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

/// A service call with its entitlement and SLA state.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceCallOut {
    pub id: String,
    /// Human reference, `SC-<year>-<sequence>`. Sequences are unique and handed out in the
    /// order registrations are recorded, which on a busy server need not be the order they
    /// finish in; a registration that fails while it is recorded (a duplicate `external_ref`,
    /// say) may leave its sequence unused.
    #[schema(example = "SC-2026-000042")]
    pub number: String,
    pub installation_id: String,
    /// The customer of the installation when the call came in.
    pub customer_ref: String,
    /// Covered by a contract in force on the reported day; `false` means billable.
    pub entitled: bool,
    /// The contract the call is entitled under.
    pub contract_id: Option<String>,
    /// The service level the deadlines come from (a copy: later contract changes do not move
    /// a registered call's deadlines); `null`: no deadlines.
    pub service_level: Option<ServiceLevel>,
    /// The contract that defines `service_level` (the entitling contract or a parent); `null`
    /// with a service level: the configured default level.
    pub service_level_contract_id: Option<String>,
    pub priority: Priority,
    pub status: Status,
    pub title: String,
    pub description: Option<String>,
    pub reporter: Option<Reporter>,
    pub channel: Channel,
    pub external_ref: Option<String>,
    pub reported_at: DateTime<Utc>,
    /// Deadline for the first response (acknowledgement).
    pub respond_by: Option<DateTime<Utc>>,
    /// Deadline for resolution; moved by the time spent on hold.
    pub resolve_by: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Set while on hold: the resolution clock is paused since then.
    pub on_hold_since: Option<DateTime<Utc>>,
    pub hold_reason: Option<String>,
    /// SLA clock time spent on hold so far, in seconds (business time when the service level
    /// counts business hours).
    pub paused_seconds: i64,
    pub resolved_at: Option<DateTime<Utc>>,
    /// What was done, given when resolving.
    pub resolution: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    /// The response came (or is still missing) after `respond_by`.
    pub response_breached: bool,
    /// The call was resolved (or is still unresolved) after `resolve_by`; frozen while on hold.
    pub resolution_breached: bool,
    /// A running clock has less than the configured share (SLA_AT_RISK_SHARE) of its allowed
    /// time left, and is not yet breached.
    pub at_risk: bool,
    /// Increases with every change; the ETag is this number in quotes.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ServiceCallOut {
    pub fn new(r: ServiceCallRow, now: DateTime<Utc>) -> ServiceCallOut {
        let sla = model::sla_state(&service::deadlines_of(&r), &service::stops_of(&r), now);
        let t = |t: Option<NaiveDateTime>| t.map(as_utc);
        ServiceCallOut {
            service_level: service::level_of(&r),
            reporter: r.reporter.map(|p| p.into_inner()),
            id: r.id,
            number: r.number,
            installation_id: r.installation_id,
            customer_ref: r.customer_ref,
            entitled: r.entitled,
            contract_id: r.contract_id,
            service_level_contract_id: r.service_level_source,
            priority: r.priority,
            status: r.status,
            title: r.title,
            description: r.description,
            channel: r.channel,
            external_ref: r.external_ref,
            reported_at: as_utc(r.reported_at),
            respond_by: t(r.respond_by),
            resolve_by: t(r.resolve_by),
            acknowledged_at: t(r.acknowledged_at),
            on_hold_since: t(r.on_hold_since),
            hold_reason: r.hold_reason,
            paused_seconds: r.paused_seconds,
            resolved_at: t(r.resolved_at),
            resolution: r.resolution,
            closed_at: t(r.closed_at),
            cancelled_at: t(r.cancelled_at),
            cancel_reason: r.cancel_reason,
            response_breached: sla.response_breached,
            resolution_breached: sla.resolution_breached,
            at_risk: sla.at_risk,
            version: r.version,
            created_at: as_utc(r.created_at),
            updated_at: as_utc(r.updated_at),
        }
    }

    /// The call as a caller with `roles` sees it: without the reporter's phone and e-mail
    /// unless it may read them (`model::reads_reporter_contact`).
    pub fn seen_by(mut self, roles: &[String]) -> ServiceCallOut {
        if !model::reads_reporter_contact(roles) {
            if let Some(r) = &mut self.reporter {
                r.phone = None;
                r.email = None;
            }
        }
        self
    }
}

/// Takes the reporter's phone and e-mail out of a service call's event for a caller who may
/// not read them: the change is left out, so neither value nor the fact that it changed shows.
pub fn redact_event(roles: &[String], e: &mut crate::events::api::EventOut) {
    if e.entity_type == ENTITY && !model::reads_reporter_contact(roles) {
        e.changes.retain(|field, _| {
            !model::REPORTER_CONTACT_FIELDS.iter().any(|f| field.strip_prefix("reporter.") == Some(f))
        });
    }
}

/// The change feed carries a reporter's contact data to those who may read it.
pub const FEED_SCOPE: crate::events::FeedScope =
    crate::events::FeedScope { condition: |_, _| Ok(None), redact: |who, e| redact_event(&who.roles, e) };

/// Service actions to add to a call.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionsIn {
    /// 1 to 100 actions, added all or none.
    #[schema(min_items = 1, max_items = 100)]
    pub actions: Vec<ActionIn>,
}

/// The note that goes with a lifecycle step.
#[derive(Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct NoteIn {
    /// Hold and cancel: the reason. Resolve: what was done. Ignored by the other steps.
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub note: Option<String>,
}

/// The service level in force for a contract.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceLevelInForce {
    pub contract_id: String,
    /// The contract's own level, or the nearest parent's; `null` when none has one (calls are
    /// then entitled without deadlines, or get the configured default level).
    pub service_level: Option<ServiceLevel>,
    /// The contract the level comes from: this one or a parent.
    pub defined_by: Option<String>,
    /// The level comes from a parent contract.
    pub inherited: bool,
}

fn ok(row: ServiceCallRow, now: DateTime<Utc>, roles: &[String]) -> HttpResponse {
    let version = row.version;
    resource_response(StatusCode::OK, &ServiceCallOut::new(row, now).seen_by(roles), version, None)
}

/// Register a service call (service_agent, integration).
///
/// Checks entitlement through coverage on the reported day (the installation's own coverage
/// or its parent installation's, by contracts in force that day). When several contracts cover
/// it, the one whose service level resolves soonest applies. An uncovered installation's call
/// is accepted as not entitled (billable), with deadlines only when a default service level is
/// configured.
#[utoipa::path(
    post, operation_id = "create_service_call", path = "/api/v1/service-calls", tag = "service-calls",
    request_body = ServiceCallIn,
    responses(
        (status = 201, description = "The registered call with its entitlement and deadlines", body = ServiceCallOut,
            headers(("Location" = String, description = "URL of the call"), ("ETag" = String, description = "Version tag"))),
        (status = 409, description = "external_ref already used", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or no installation with that id or serial number", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    who: Allowed<CallRegistrars>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    sla: web::Data<SlaSettings>,
    body: ApiJson<ServiceCallIn>,
) -> Result<HttpResponse, ApiError> {
    let (input, now, sla, roles) = (body.into_inner(), clock.now(), sla.get_ref().clone(), who.roles.clone());
    let row = db
        .write(move |c| {
            let ctx = Ctx { actor: &who.sub, now };
            let assessed = service::assess(c, &ctx, input, &sla)?;
            service::record(c, &ctx, assessed)
        })
        .await?;
    let location = format!("/api/v1/service-calls/{}", row.id);
    let version = row.version;
    let out = ServiceCallOut::new(row, now).seen_by(&roles);
    Ok(resource_response(StatusCode::CREATED, &out, version, Some(location)))
}

fn take_filter(q: &mut QueryPairs, who: &Principal, now: NaiveDateTime) -> Result<ListFilter, ApiError> {
    let bad = |m: String| ApiError::bad_request("invalid_query", m);
    let statuses = q.take_names(
        "status",
        Status::parse,
        |s| s.as_str(),
        "new, acknowledged, in_progress, on_hold, resolved, closed, cancelled",
    )?;
    let priority = match q.take("priority") {
        None => None,
        Some(p) => Some(
            Priority::parse(&p)
                .ok_or_else(|| bad(format!("priority {p:?} is not one of low, normal, high, critical")))?
                .as_str()
                .to_string(),
        ),
    };
    let assignee = match (q.take("assignee").as_deref(), q.take("assignee_user"), q.take("assignee_role")) {
        (None, None, None) => None,
        (Some("me"), None, None) => Some(AssigneeFilter::Mine(who.sub.clone(), who.roles.clone())),
        (None, Some(u), None) => Some(AssigneeFilter::User(u)),
        (None, None, Some(r)) => Some(AssigneeFilter::Role(r)),
        (Some(a), None, None) => {
            return Err(bad(format!("assignee must be `me`, got {a:?}; use assignee_user or assignee_role")))
        }
        _ => return Err(bad("use only one of assignee, assignee_user and assignee_role".into())),
    };
    let mut f = ListFilter::at(now);
    f.statuses = statuses;
    f.priority = priority;
    f.installation_id = q.take("installation_id");
    f.contract_id = q.take("contract_id");
    f.customer_ref = q.take("customer_ref");
    f.external_ref = q.take("external_ref");
    f.entitled = q.take_bool("entitled")?;
    f.breached = q.take_bool("breached")?;
    f.response_breached = q.take_bool("response_breached")?;
    f.resolution_breached = q.take_bool("resolution_breached")?;
    f.at_risk = q.take_bool("at_risk")?;
    f.assignee = assignee;
    Ok(f)
}

fn decode_position(raw: &str) -> Result<(NaiveDateTime, String), ApiError> {
    let bad = || ApiError::bad_request("invalid_cursor", "the cursor is not one this service handed out");
    let (at, id) = raw.split_once('|').ok_or_else(bad)?;
    Ok((NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| bad())?, id.to_string()))
}

fn position(r: &ServiceCallRow) -> String {
    format!("{}|{}", r.reported_at.format("%Y-%m-%dT%H:%M:%S%.f"), r.id)
}

/// Reads a list request and answers one page, newest report first.
async fn page_of(
    who: Principal,
    db: &Db,
    clock: &Clock,
    req: &HttpRequest,
    installation_id: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let now = clock.now();
    let mut q = QueryPairs::from_request(req)?;
    let mut filter = take_filter(&mut q, &who, now.naive_utc())?;
    let roles = who.roles.clone();
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let after = page.after.as_deref().map(decode_position).transpose()?;
    let limit = page.limit;
    let rows = db
        .read(move |c| {
            if let Some(id) = installation_id {
                if !crate::installations::store::exists(c, &id)? {
                    return Err(ApiError::not_found(format!("installation {id} does not exist")));
                }
                filter.installation_id = Some(id);
            }
            Ok(store::list(c, &filter, after, limit + 1)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, position, |r| ServiceCallOut::new(r, now).seen_by(&roles))))
}

/// List service calls, newest report first.
///
/// The SLA filters are evaluated now: `breached` is `response_breached` or
/// `resolution_breached`.
#[utoipa::path(
    get, operation_id = "list_service_calls", path = "/api/v1/service-calls", tag = "service-calls",
    params(
        ("status" = Option<Vec<Status>>, Query, style = Form, explode = false, description = "One status or a comma-separated list: new, acknowledged, in_progress, on_hold, resolved, closed, cancelled"),
        ("priority" = Option<Priority>, Query, description = "Only calls of this priority"),
        ("installation_id" = Option<String>, Query, description = "Only calls about this installation"),
        ("contract_id" = Option<String>, Query, description = "Only calls entitled under this contract"),
        ("customer_ref" = Option<String>, Query, description = "Only calls of this customer"),
        ("external_ref" = Option<String>, Query, description = "The call with this external reference"),
        ("entitled" = Option<bool>, Query, description = "`false`: the billable calls"),
        ("breached" = Option<bool>, Query, description = "Response or resolution deadline breached"),
        ("response_breached" = Option<bool>, Query, description = "Response deadline breached"),
        ("resolution_breached" = Option<bool>, Query, description = "Resolution deadline breached"),
        ("at_risk" = Option<bool>, Query, description = "A running clock is in the last share (SLA_AT_RISK_SHARE) of its time"),
        ("assignee" = Option<crate::tasks::api::AssigneeFilter>, Query, description = "`me`: calls with an action assigned to me or one of my roles"),
        ("assignee_user" = Option<String>, Query, description = "Calls with an action assigned to this user"),
        ("assignee_role" = Option<String>, Query, description = "Calls with an action assigned to this role or team"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of service calls, newest report first", body = Page<ServiceCallOut>),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    who: Principal,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    page_of(who, &db, &clock, &req, None).await
}

/// An installation's service history: its calls, newest first, with the same filters as the
/// service-call list.
#[utoipa::path(
    get, operation_id = "list_installation_service_calls", path = "/api/v1/installations/{id}/service-calls", tag = "service-calls",
    params(
        ("id" = String, Path, description = "Installation id"),
        ("status" = Option<Vec<Status>>, Query, style = Form, explode = false, description = "One status or a comma-separated list: new, acknowledged, in_progress, on_hold, resolved, closed, cancelled"),
        ("priority" = Option<Priority>, Query, description = "Only calls of this priority"),
        ("contract_id" = Option<String>, Query, description = "Only calls entitled under this contract"),
        ("customer_ref" = Option<String>, Query, description = "Only calls of this customer"),
        ("external_ref" = Option<String>, Query, description = "The call with this external reference"),
        ("entitled" = Option<bool>, Query, description = "`false`: the billable calls"),
        ("breached" = Option<bool>, Query, description = "Response or resolution deadline breached"),
        ("response_breached" = Option<bool>, Query, description = "Response deadline breached"),
        ("resolution_breached" = Option<bool>, Query, description = "Resolution deadline breached"),
        ("at_risk" = Option<bool>, Query, description = "A running clock is in the last share (SLA_AT_RISK_SHARE) of its time"),
        ("assignee" = Option<crate::tasks::api::AssigneeFilter>, Query, description = "`me`: calls with an action assigned to me or one of my roles"),
        ("assignee_user" = Option<String>, Query, description = "Calls with an action assigned to this user"),
        ("assignee_role" = Option<String>, Query, description = "Calls with an action assigned to this role or team"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of the installation's calls, newest first", body = Page<ServiceCallOut>),
    ),
    security(("bearer" = []))
)]
pub async fn of_installation(
    who: Principal,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    page_of(who, &db, &clock, &req, Some(id.into_inner())).await
}

/// Get one service call.
#[utoipa::path(
    get, operation_id = "get_service_call", path = "/api/v1/service-calls/{id}", tag = "service-calls",
    params(("id" = String, Path, description = "Service call id")),
    responses(
        (status = 200, description = "The call", body = ServiceCallOut, headers(("ETag" = String, description = "Version tag"))),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    who: Principal,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = db.read(move |c| service::load(c, &id)).await?;
    Ok(ok(row, clock.now(), &who.roles))
}

/// Every change of a service call, oldest first.
#[utoipa::path(
    get, operation_id = "get_service_call_history", path = "/api/v1/service-calls/{id}/history", tag = "service-calls",
    params(
        ("id" = String, Path, description = "Service call id"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of events, oldest first", body = Page<crate::events::api::EventOut>),
    ),
    security(("bearer" = []))
)]
pub async fn history(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let redact = move |e: &mut crate::events::api::EventOut| redact_event(&who.roles, e);
    crate::events::api::history_redacted(&db, &req, ENTITY, id.into_inner(), store::exists, redact).await
}

async fn act(
    who: Allowed<ServiceAgents>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: String,
    action: Action,
    body: Option<NoteIn>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let input = body.unwrap_or_default();
    validate(&input)?;
    let now = clock.now();
    let roles = who.roles.clone();
    let row =
        db.write(move |c| service::act(c, &Ctx { actor: &who.sub, now }, &id, action, input.note, &if_match)).await?;
    Ok(ok(row, now, &roles))
}

macro_rules! verb {
    ($name:ident, $op:literal, $path:literal, $action:expr, $summary:literal, $conflict:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            post, operation_id = $op, path = $path, tag = "service-calls",
            params(("id" = String, Path, description = "Service call id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
            request_body(content = Option<NoteIn>, description = "Optional note: the reason (hold, cancel) or what was done (resolve)"),
            responses(
                (status = 200, description = "The call after the step", body = ServiceCallOut, headers(("ETag" = String, description = "Version tag"))),
                (status = 403, description = "Role not allowed (service_agent)", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = $conflict, body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Note too long", body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $name(who: Allowed<ServiceAgents>, db: web::Data<Db>, clock: web::Data<Clock>, id: web::Path<String>, if_match: IfMatch, body: ApiJson<Option<NoteIn>>) -> Result<HttpResponse, ApiError> {
            act(who, db, clock, id.into_inner(), $action, body.into_inner(), if_match).await
        }
    };
}

verb!(
    acknowledge,
    "acknowledge_service_call",
    "/api/v1/service-calls/{id}/acknowledge",
    Action::Acknowledge,
    "Acknowledge a call (new → acknowledged): the first response, which stops the response clock.",
    "The call is not new"
);
verb!(
    start,
    "start_service_call",
    "/api/v1/service-calls/{id}/start",
    Action::Start,
    "Start work on a call (acknowledged → in_progress).",
    "The call is not acknowledged"
);
verb!(
    hold,
    "hold_service_call",
    "/api/v1/service-calls/{id}/hold",
    Action::Hold,
    "Put a call on hold (in_progress → on_hold), with an optional reason; pauses the resolution clock.",
    "The call is not in progress"
);
verb!(
    resume,
    "resume_service_call",
    "/api/v1/service-calls/{id}/resume",
    Action::Resume,
    "Resume a call on hold (on_hold → in_progress); resolve_by moves by the SLA clock time spent on hold.",
    "The call is not on hold"
);
verb!(
    resolve,
    "resolve_service_call",
    "/api/v1/service-calls/{id}/resolve",
    Action::Resolve,
    "Resolve a call (acknowledged, in_progress or on_hold → resolved), with what was done; stops the resolution clock (a hold ends first). Every action must be closed.",
    "Not acknowledged, in progress or on hold, or an action is still open"
);
verb!(
    close,
    "close_service_call",
    "/api/v1/service-calls/{id}/close",
    Action::Close,
    "Close a resolved call (resolved → closed). Every action must be closed.",
    "The call is not resolved, or an action is still open"
);
verb!(
    cancel,
    "cancel_service_call",
    "/api/v1/service-calls/{id}/cancel",
    Action::Cancel,
    "Cancel an open call, with an optional reason; its open actions are cancelled too.",
    "The call is already resolved, closed or cancelled"
);

/// Turn a call into service actions (service_agent): tasks of kind `service_action` in the
/// worklist, all or none. A resolved call still takes follow-up actions; it can be closed once
/// they are done.
#[utoipa::path(
    post, operation_id = "add_service_call_actions", path = "/api/v1/service-calls/{id}/actions", tag = "service-calls",
    params(("id" = String, Path, description = "Service call id")),
    request_body = ActionsIn,
    responses(
        (status = 201, description = "The new tasks", body = Page<TaskOut>),
        (status = 403, description = "Role not allowed (service_agent)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The call is closed or cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid actions", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn add_actions(
    who: Allowed<ServiceAgents>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    body: ApiJson<ActionsIn>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let (id, now) = (id.into_inner(), clock.now());
    let rows = db.write(move |c| service::add_actions(c, &Ctx { actor: &who.sub, now }, &id, input.actions)).await?;
    let today = now.date_naive();
    let page = Page { items: rows.into_iter().map(|t| TaskOut::new(t, today)).collect(), next_cursor: None };
    Ok(HttpResponse::Created().json(page))
}

/// The service actions of a call, by planned date.
#[utoipa::path(
    get, operation_id = "list_service_call_actions", path = "/api/v1/service-calls/{id}/actions", tag = "service-calls",
    params(
        ("id" = String, Path, description = "Service call id"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of the call's tasks, earliest first", body = Page<TaskOut>),
    ),
    security(("bearer" = []))
)]
pub async fn list_actions(
    _who: Principal,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let after = page.after.as_deref().map(crate::tasks::api::decode_position).transpose()?;
    let (id, limit, today) = (id.into_inner(), page.limit, clock.today());
    let rows = db
        .read(move |c| {
            service::load(c, &id)?;
            let filter = crate::tasks::store::ListFilter { service_call_id: Some(id), ..Default::default() };
            Ok::<_, ApiError>(crate::tasks::store::list(c, &filter, after, limit + 1)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |t| format!("{}|{}", t.due_date, t.id), |t| TaskOut::new(t, today))))
}

/// The service level in force for a contract: its own, or else the nearest parent's.
#[utoipa::path(
    get, operation_id = "get_contract_service_level", path = "/api/v1/contracts/{id}/service-level", tag = "service-calls",
    params(("id" = String, Path, description = "Contract id")),
    responses(
        (status = 200, description = "The level in force and where it comes from", body = ServiceLevelInForce),
    ),
    security(("bearer" = []))
)]
pub async fn service_level(
    _who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let answer = db
        .read(move |c| {
            crate::contracts::service::load(c, &id)?;
            let found = crate::contracts::service::effective_service_level(c, &id)?;
            Ok::<_, ApiError>(match found {
                Some((source, level)) => ServiceLevelInForce {
                    inherited: source != id,
                    defined_by: Some(source),
                    service_level: Some(level),
                    contract_id: id,
                },
                None => {
                    ServiceLevelInForce { contract_id: id, service_level: None, defined_by: None, inherited: false }
                }
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
