//! Handlers and request/response types for the worklist `/api/v1/tasks`, its calendar feed
//! `/api/v1/tasks.ics` and personal feed tokens `/api/v1/feed-tokens`.

use super::input::{ActIn, TaskPatch};
use super::model::{Action, Assignee, Kind, Status};
use super::service::{self, TaskHooks, ENTITY};
use super::store::{self, FeedTokenRow, ListFilter, TaskRow};
use crate::auth::{Principal, Role};
use crate::clock::{as_utc, Clock};
use crate::db::Db;
use crate::events::Ctx;
use crate::http::etag::resource_response;
use crate::http::pagination::PageRequest;
use crate::http::{ApiError, ApiJson, IfMatch, Page, Problem, QueryPairs};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// A task in the worklist.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskOut {
    pub id: String,
    pub kind: Kind,
    pub title: String,
    pub description: Option<String>,
    pub status: Status,
    pub assignee: Assignee,
    pub due_date: NaiveDate,
    /// Open or in progress, and due before today.
    pub overdue: bool,
    pub contract_id: Option<String>,
    pub installation_id: Option<String>,
    pub obligation_id: Option<String>,
    /// For service actions: the service call.
    pub service_call_id: Option<String>,
    /// For planned tasks: the day of the occurrence (the due date is `lead_days` earlier).
    pub nominal_date: Option<NaiveDate>,
    /// Moved by hand; generation leaves it alone.
    pub rescheduled: bool,
    /// Reassigned by hand; generation leaves it alone.
    pub reassigned: bool,
    pub notes: Option<String>,
    /// The result (completed) or the reason (skipped, cancelled).
    pub result_note: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Who completed, skipped or cancelled it (`system` for generation).
    pub closed_by: Option<String>,
    /// For workflow steps: the workflow instance this task is a step of.
    pub workflow_instance_id: Option<String>,
    /// For workflow steps: the dossier the workflow runs on.
    pub dossier_id: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TaskOut {
    pub fn new(t: TaskRow, today: NaiveDate) -> TaskOut {
        let status = t.status;
        TaskOut {
            id: t.id,
            kind: t.kind,
            title: t.title,
            description: t.description,
            overdue: status.is_open() && t.due_date < today,
            status,
            assignee: Assignee::from_parts(t.assignee_kind, &t.assignee_name),
            due_date: t.due_date,
            contract_id: t.contract_id,
            installation_id: t.installation_id,
            obligation_id: t.obligation_id,
            service_call_id: t.service_call_id,
            nominal_date: t.nominal_date,
            rescheduled: t.rescheduled,
            reassigned: t.reassigned,
            notes: t.notes,
            result_note: t.result_note,
            started_at: t.started_at.map(as_utc),
            closed_at: t.closed_at.map(as_utc),
            closed_by: t.closed_by,
            workflow_instance_id: t.workflow_instance_id,
            dossier_id: t.dossier_id,
            version: t.version,
            created_at: as_utc(t.created_at),
            updated_at: as_utc(t.updated_at),
        }
    }
}

/// The note that goes with starting, skipping or cancelling. No `outcome`: only completing a
/// workflow step's task takes one.
// Documents those bodies; the handlers read an `ActIn` and refuse an outcome by name (422).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = TaskNoteIn)]
#[serde(deny_unknown_fields)]
pub struct NoteIn {
    /// The reason (skipping, cancelling) or a remark.
    #[schema(max_length = 10000)]
    pub note: Option<String>,
}

/// A personal calendar-feed token as listed: the secret itself is never shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedTokenOut {
    pub id: String,
    /// The user the token reads the feed as.
    pub sub: String,
    pub created_at: DateTime<Utc>,
    /// When the token stops working; `null`: when revoked.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<FeedTokenRow> for FeedTokenOut {
    fn from(r: FeedTokenRow) -> FeedTokenOut {
        FeedTokenOut { id: r.id, sub: r.sub, created_at: as_utc(r.created_at), expires_at: r.expires_at.map(as_utc) }
    }
}

/// Options of a new feed token.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedTokenIn {
    /// When the token stops working: in the future, at most ten years ahead. Left out, the
    /// token lasts until it is revoked.
    #[schema(example = "2027-12-31T23:59:59Z")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Longest validity a feed token may be given.
const MAX_FEED_TOKEN_DAYS: i64 = 3653;

/// A new personal calendar-feed token, with its secret: this answer is the only one that has it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedTokenCreated {
    pub id: String,
    /// The secret: keep it, it cannot be shown again.
    pub token: String,
    /// The feed URL path with the token, to append to this service's address.
    pub url: String,
    pub created_at: DateTime<Utc>,
    /// When the token stops working; `null`: when revoked.
    pub expires_at: Option<DateTime<Utc>>,
}

fn ok(row: TaskRow, today: NaiveDate) -> HttpResponse {
    let version = row.version;
    resource_response(StatusCode::OK, &TaskOut::new(row, today), version, None)
}

/// The one value `assignee` takes: `me`, the caller and the caller's roles (for anyone else use
/// `assignee_user` or `assignee_role`). Documents the parameter; the query reader parses it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssigneeFilter {
    Me,
}

/// Reads the worklist filters shared by the list and the calendar feed.
fn take_filter(q: &mut QueryPairs, who: &Principal, today: NaiveDate) -> Result<ListFilter, ApiError> {
    let bad = |m: String| ApiError::bad_request("invalid_query", m);
    let mine = match q.take("assignee").as_deref() {
        None => None,
        Some("me") => Some((who.sub.clone(), who.roles.clone())),
        Some(other) => {
            return Err(bad(format!("assignee must be `me`, got {other:?}; use assignee_user or assignee_role")))
        }
    };
    let statuses =
        q.take_names("status", Status::parse, |s| s.as_str(), "open, in_progress, done, skipped, cancelled")?;
    let kind = match q.take("kind") {
        None => None,
        Some(k) => Some(
            Kind::parse(&k)
                .ok_or_else(|| {
                    bad(format!("kind {k:?} is not one of planned, service_action, workflow_step, reminder"))
                })?
                .as_str()
                .to_string(),
        ),
    };
    Ok(ListFilter {
        mine,
        assignee_user: q.take("assignee_user"),
        assignee_role: q.take("assignee_role"),
        statuses,
        kind,
        due_before: q.take_date("due_before")?,
        due_after: q.take_date("due_after")?,
        overdue: q.take_bool("overdue")?.map(|o| (o, today)),
        contract_id: q.take("contract_id"),
        installation_id: q.take("installation_id"),
        obligation_id: q.take("obligation_id"),
        service_call_id: q.take("service_call_id"),
        dossier_id: q.take("dossier_id"),
    })
}

pub fn decode_position(raw: &str) -> Result<(NaiveDate, String), ApiError> {
    let bad = || ApiError::bad_request("invalid_cursor", "the cursor is not one this service handed out");
    let (date, id) = raw.split_once('|').ok_or_else(bad)?;
    Ok((NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?, id.to_string()))
}

/// The worklist: tasks ordered by due date.
///
/// `assignee=me` shows the tasks assigned to the caller or to any of the caller's roles.
#[utoipa::path(
    get, operation_id = "list_tasks", path = "/api/v1/tasks", tag = "tasks",
    params(
        ("assignee" = Option<AssigneeFilter>, Query, description = "`me`: assigned to me or to one of my roles"),
        ("assignee_user" = Option<String>, Query, description = "Assigned to this user"),
        ("assignee_role" = Option<String>, Query, description = "Assigned to this role or team"),
        ("status" = Option<Vec<Status>>, Query, style = Form, explode = false, description = "One status or a comma-separated list: open, in_progress, done, skipped, cancelled"),
        ("kind" = Option<Kind>, Query, description = "Only tasks of this kind"),
        ("due_before" = Option<NaiveDate>, Query, description = "Due before this day"),
        ("due_after" = Option<NaiveDate>, Query, description = "Due after this day"),
        ("overdue" = Option<bool>, Query, description = "`true`: open or in progress and due before today; `false`: all others"),
        ("contract_id" = Option<String>, Query, description = "Only tasks of this contract"),
        ("installation_id" = Option<String>, Query, description = "Only tasks for this installation"),
        ("obligation_id" = Option<String>, Query, description = "Only tasks of this obligation"),
        ("service_call_id" = Option<String>, Query, description = "Only the actions of this service call"),
        ("dossier_id" = Option<String>, Query, description = "Only workflow steps on this dossier"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of tasks, earliest due first", body = Page<TaskOut>),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    who: Principal,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let today = clock.today();
    let mut q = QueryPairs::from_request(&req)?;
    let filter = take_filter(&mut q, &who, today)?;
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let after = page.after.as_deref().map(decode_position).transpose()?;
    let limit = page.limit;
    let rows = db.read(move |c| store::list(c, &filter, after, limit + 1).map_err(ApiError::from)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |t| format!("{}|{}", t.due_date, t.id), |t| TaskOut::new(t, today))))
}

/// Get one task.
#[utoipa::path(
    get, operation_id = "get_task", path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task", body = TaskOut, headers(("ETag" = String, description = "Version tag"))),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    _who: Principal,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    Ok(ok(db.read(move |c| service::load(c, &id)).await?, clock.today()))
}

/// Reassign, reschedule or annotate a task (its assignee, a holder of its role, a planner, an admin).
#[utoipa::path(
    patch, operation_id = "update_task", path = "/api/v1/tasks/{id}", tag = "tasks",
    params(
        ("id" = String, Path, description = "Task id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; a stale one gives 412"),
    ),
    request_body(content = TaskPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Changed", body = TaskOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 403, description = "Not the assignee, a holder of its role, a planner or an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The task is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    who: Principal,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: ApiJson<TaskPatch>,
) -> Result<HttpResponse, ApiError> {
    let (id, patch, now) = (id.into_inner(), body.into_inner(), clock.now());
    let row = db.write(move |c| service::update(c, &Ctx { actor: &who.sub, now }, &who, &id, patch, &if_match)).await?;
    Ok(ok(row, clock.today()))
}

#[allow(clippy::too_many_arguments)]
async fn act(
    who: Principal,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<TaskHooks>,
    id: String,
    action: Action,
    body: Option<ActIn>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let input = body.unwrap_or_default();
    crate::http::json::validate(&input)?;
    let now = clock.now();
    let hooks = **hooks;
    let row = db
        .write(move |c| service::act(c, &Ctx { actor: &who.sub, now }, &who, &id, action, input, &if_match, &hooks))
        .await?;
    Ok(ok(row, clock.today()))
}

macro_rules! verb {
    ($name:ident, $op:literal, $path:literal, $action:expr, $body:ty, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            post, operation_id = $op, path = $path, tag = "tasks",
            params(("id" = String, Path, description = "Task id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
            request_body(content = Option<$body>, description = "Optional note: the result when completing, the reason when skipping or cancelling"),
            responses(
                (status = 200, description = "The task after the change", body = TaskOut, headers(("ETag" = String, description = "Version tag"))),
                (status = 403, description = "Not the assignee, a holder of its role, a planner or an admin", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "Not allowed in the task's status (closed tasks do not change)", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Invalid note, or an outcome that does not fit (only workflow steps take one)", body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $name(who: Principal, db: web::Data<Db>, clock: web::Data<Clock>, hooks: web::Data<TaskHooks>, id: web::Path<String>, if_match: IfMatch, body: ApiJson<Option<ActIn>>) -> Result<HttpResponse, ApiError> {
            act(who, db, clock, hooks, id.into_inner(), $action, body.into_inner(), if_match).await
        }
    };
}

verb!(
    start,
    "start_task",
    "/api/v1/tasks/{id}/start",
    Action::Start,
    NoteIn,
    "Start working on a task (open → in_progress)."
);
verb!(
    complete,
    "complete_task",
    "/api/v1/tasks/{id}/complete",
    Action::Complete,
    ActIn,
    "Complete a task, with an optional result note; records who and when. Completing a workflow step's task (with its `outcome` when the step lists outcomes) activates the workflow's next step or ends the instance."
);
verb!(
    skip,
    "skip_task",
    "/api/v1/tasks/{id}/skip",
    Action::Skip,
    NoteIn,
    "Skip a task (it will not be done), with an optional reason. A workflow step without outcomes then moves on to its default next step."
);
verb!(
    cancel,
    "cancel_task",
    "/api/v1/tasks/{id}/cancel",
    Action::Cancel,
    NoteIn,
    "Cancel a task, with an optional reason. A workflow step's task is cancelled by cancelling its workflow instance (409 here)."
);

/// Every change of a task, oldest first.
#[utoipa::path(
    get, operation_id = "get_task_history", path = "/api/v1/tasks/{id}/history", tag = "tasks",
    params(
        ("id" = String, Path, description = "Task id"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of events, oldest first", body = Page<crate::events::api::EventOut>),
    ),
    security(("bearer" = []))
)]
pub async fn history(
    _who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    crate::events::api::history(&db, &req, ENTITY, id.into_inner(), store::exists).await
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The caller of the calendar feed: a bearer token, or a personal feed token in `?token=`.
async fn feed_caller(req: &HttpRequest, q: &mut QueryPairs, db: &Db, clock: &Clock) -> Result<Principal, ApiError> {
    let token = q.take("token");
    if req.headers().contains_key(actix_web::http::header::AUTHORIZATION) || token.is_none() {
        return Principal::extract(req).await;
    }
    let (digest, now) = (hash(&token.unwrap_or_default()), clock.now().naive_utc());
    let row = db.read(move |c| store::feed_token_by_hash(c, &digest, now).map_err(ApiError::from)).await?;
    let row = row.ok_or_else(|| ApiError::unauthorized("the feed token is unknown, expired or revoked"))?;
    Ok(Principal { sub: row.sub, roles: row.roles.into_inner() })
}

/// The worklist as an iCalendar feed, for calendar apps.
///
/// Takes the filters of `GET /api/v1/tasks` (up to 5000 tasks, earliest due first), except that
/// without `status` it lists open work only (`open`, `in_progress`). Finished work asked for with
/// `status` shows done tasks as confirmed events whose summary starts with `Done:`, and skipped
/// or cancelled ones as `STATUS:CANCELLED`. The answer is `text/calendar` (read it as text). Calendar
/// apps cannot send a bearer token: subscribe with `?token=` and a personal feed token from
/// `POST /api/v1/feed-tokens`, which grants read access to this feed only.
#[utoipa::path(
    get, operation_id = "get_task_calendar", path = "/api/v1/tasks.ics", tag = "tasks",
    params(
        ("token" = Option<String>, Query, description = "A personal feed token, instead of a bearer token"),
        ("assignee" = Option<AssigneeFilter>, Query, description = "`me`: assigned to me or to one of my roles"),
        ("assignee_user" = Option<String>, Query, description = "Assigned to this user"),
        ("assignee_role" = Option<String>, Query, description = "Assigned to this role or team"),
        ("status" = Option<Vec<Status>>, Query, style = Form, explode = false, description = "One status or a comma-separated list: open, in_progress, done, skipped, cancelled; without it, open and in_progress"),
        ("kind" = Option<Kind>, Query, description = "Only tasks of this kind"),
        ("due_before" = Option<NaiveDate>, Query, description = "Due before this day"),
        ("due_after" = Option<NaiveDate>, Query, description = "Due after this day"),
        ("overdue" = Option<bool>, Query, description = "Only overdue (or only not overdue) tasks"),
        ("contract_id" = Option<String>, Query, description = "Only tasks of this contract"),
        ("installation_id" = Option<String>, Query, description = "Only tasks for this installation"),
        ("obligation_id" = Option<String>, Query, description = "Only tasks of this obligation"),
        ("service_call_id" = Option<String>, Query, description = "Only the actions of this service call"),
        ("dossier_id" = Option<String>, Query, description = "Only workflow steps on this dossier"),
    ),
    responses(
        (status = 200, description = "An iCalendar document: one all-day event per task on its due date", body = String, content_type = "text/calendar"),
    ),
    security(("bearer" = []), ())
)]
pub async fn calendar(db: web::Data<Db>, clock: web::Data<Clock>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    use icalendar::{Calendar, Component, Event, EventLike};
    let today = clock.today();
    let mut q = QueryPairs::from_request(&req)?;
    let who = feed_caller(&req, &mut q, &db, &clock).await?;
    let mut filter = take_filter(&mut q, &who, today)?;
    q.finish()?;
    if filter.statuses.is_empty() {
        // A calendar shows the work still to do unless finished work is asked for.
        filter.statuses = store::OPEN.iter().map(|s| s.to_string()).collect();
    }
    let (tasks, contracts, installations) = db
        .read(move |c| {
            let tasks = store::list(c, &filter, None, 5000)?;
            let mut contract_ids: Vec<String> = tasks.iter().filter_map(|t| t.contract_id.clone()).collect();
            contract_ids.sort();
            contract_ids.dedup();
            let mut installation_ids: Vec<String> = tasks.iter().filter_map(|t| t.installation_id.clone()).collect();
            installation_ids.sort();
            installation_ids.dedup();
            let (contracts, installations) = store::labels(c, &contract_ids, &installation_ids)?;
            Ok::<_, ApiError>((tasks, contracts, installations))
        })
        .await?;
    let mut cal = Calendar::empty();
    cal.append_property(("VERSION", "2.0"))
        .append_property(("PRODID", concat!("-//Pactum//Pactum ", env!("CARGO_PKG_VERSION"), "//EN")))
        .append_property(("CALSCALE", "GREGORIAN"));
    cal.name("Pactum tasks");
    for t in tasks {
        let mut about = Vec::new();
        if let Some(n) = t.contract_id.as_ref().and_then(|id| contracts.get(id)) {
            about.push(format!("contract {n}"));
        }
        if let Some(s) = t.installation_id.as_ref().and_then(|id| installations.get(id)) {
            about.push(format!("installation {s}"));
        }
        let mut summary =
            if about.is_empty() { t.title.clone() } else { format!("{} ({})", t.title, about.join(", ")) };
        if t.status == Status::Done {
            summary = format!("Done: {summary}");
        }
        let mut event = Event::new();
        event
            .uid(&format!("task-{}@pactum", t.id))
            .summary(&summary)
            // An all-day event on the due date: DTEND is exclusive and must lie after DTSTART
            // (RFC 5545 3.8.2.2), so it is the next day (`all_day` would repeat the same date).
            .starts(t.due_date)
            .ends(t.due_date.succ_opt().unwrap_or(t.due_date))
            .timestamp(as_utc(t.updated_at))
            // Done work happened: it stays a confirmed event, marked in its summary. Only work
            // that will not happen (skipped, cancelled) is a cancelled event.
            .add_property(
                "STATUS",
                if matches!(t.status, Status::Skipped | Status::Cancelled) { "CANCELLED" } else { "CONFIRMED" },
            );
        if let Some(d) = &t.description {
            event.description(d);
        }
        cal.push(event.done());
    }
    Ok(HttpResponse::Ok().content_type("text/calendar; charset=utf-8").body(cal.done().to_string()))
}

/// Create a personal calendar-feed token for `GET /api/v1/tasks.ics?token=…`.
///
/// The token carries the caller's identity and roles as they are now, grants read access to
/// the calendar feed only, and lasts until `expires_at` (when given) or until revoked.
#[utoipa::path(
    post, operation_id = "create_feed_token", path = "/api/v1/feed-tokens", tag = "tasks",
    request_body(content = Option<FeedTokenIn>, description = "Optional: when the token expires"),
    responses(
        (status = 201, description = "The new token (shown only now)", body = FeedTokenCreated, headers(("Location" = String, description = "URL of the token"))),
        (status = 422, description = "`expires_at` not in the future or more than ten years ahead", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_feed_token(
    who: Principal,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    body: ApiJson<Option<FeedTokenIn>>,
) -> Result<HttpResponse, ApiError> {
    let now = clock.now();
    let expires_at = body.into_inner().unwrap_or_default().expires_at;
    if let Some(at) = expires_at {
        if at <= now || at > now + chrono::Duration::days(MAX_FEED_TOKEN_DAYS) {
            return Err(ApiError::invalid(
                "expires_at",
                "out_of_range",
                "must be in the future and at most ten years ahead",
            ));
        }
    }
    let secret = format!("pft_{}", hex::encode(rand::random::<[u8; 32]>()));
    let row = FeedTokenRow {
        id: uuid::Uuid::now_v7().to_string(),
        token_hash: hash(&secret),
        sub: who.sub.clone(),
        roles: crate::db::column::Json::new(who.roles.clone()),
        created_at: now.naive_utc(),
        revoked_at: None,
        expires_at: expires_at.map(|at| at.naive_utc()),
    };
    let saved = row.clone();
    db.write(move |c| store::insert_feed_token(c, &saved).map_err(ApiError::from)).await?;
    Ok(HttpResponse::Created().insert_header(("Location", format!("/api/v1/feed-tokens/{}", row.id))).json(
        FeedTokenCreated {
            url: format!("/api/v1/tasks.ics?token={secret}&assignee=me"),
            token: secret,
            id: row.id,
            created_at: as_utc(row.created_at),
            expires_at: row.expires_at.map(as_utc),
        },
    ))
}

/// The caller's unrevoked feed tokens (without the secrets); an admin lists another user's
/// with `sub`, to revoke them.
#[utoipa::path(
    get, operation_id = "list_feed_tokens", path = "/api/v1/feed-tokens", tag = "tasks",
    params(("sub" = Option<String>, Query, description = "Admins: the user whose tokens to list (default: the caller)")),
    responses(
        (status = 200, description = "All unrevoked tokens of the user, expired ones included; `next_cursor` is always null", body = Page<FeedTokenOut>),
        (status = 403, description = "`sub` names another user and the caller is not an admin", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_feed_tokens(who: Principal, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let sub = q.take("sub").unwrap_or_else(|| who.sub.clone());
    q.finish()?;
    if sub != who.sub {
        who.require_admin()?;
    }
    let rows = db.read(move |c| store::feed_tokens_of(c, &sub).map_err(ApiError::from)).await?;
    Ok(HttpResponse::Ok().json(Page { items: rows.into_iter().map(FeedTokenOut::from).collect(), next_cursor: None }))
}

/// Revoke one of the caller's feed tokens; an admin revokes anyone's.
#[utoipa::path(
    delete, operation_id = "revoke_feed_token", path = "/api/v1/feed-tokens/{id}", tag = "tasks",
    params(("id" = String, Path, description = "Feed token id")),
    responses(
        (status = 204, description = "Revoked (revoking again changes nothing)"),
        (status = 404, description = "The caller has no token with this id (an admin: there is none)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke_feed_token(
    who: Principal,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, at) = (id.into_inner(), clock.now().naive_utc());
    let owner = (!who.has_role(Role::Admin)).then(|| who.sub.clone());
    let found =
        db.write(move |c| store::revoke_feed_token(c, owner.as_deref(), &id, at).map_err(ApiError::from)).await?;
    if !found {
        return Err(ApiError::not_found("no such feed token"));
    }
    Ok(HttpResponse::NoContent().finish())
}
