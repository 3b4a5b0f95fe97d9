//! Handlers and request/response types for workflow definitions `/api/v1/workflows` and
//! instances `/api/v1/workflow-instances`, and starting a workflow on a dossier.

use super::input::{WorkflowIn, WorkflowPatch};
use super::model::{InstanceStatus, Step, StepStatus};
use super::service::{self, INSTANCE};
use super::store::{self, InstanceFilter, InstanceRow, StepRow, VersionRow, WorkflowRow};
use crate::auth::Principal;
use crate::auth::{AdminOnly, Allowed, CaseWorkers};
use crate::clock::{as_utc, Clock};
use crate::db::Db;
use crate::events::Ctx;
use crate::http::etag::resource_response;
use crate::http::pagination::PageRequest;
use crate::http::{ApiError, ApiJson, IfMatch, Page, Problem, QueryPairs};
use crate::tasks::input::ActIn;
use crate::tasks::model::Assignee;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A workflow definition at one version.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowOut {
    /// Workflow id.
    pub id: String,
    /// Its key.
    pub key: String,
    /// Display name at this version.
    pub name: String,
    /// Description at this version.
    pub description: Option<String>,
    /// The steps at this version.
    pub steps: Vec<Step>,
    /// This version's number (the ETag of the current version).
    pub version: i64,
    /// The definition's current version.
    pub current_version: i64,
    /// Who made this version.
    pub version_created_by: String,
    /// When this version was made.
    pub version_created_at: DateTime<Utc>,
    /// When the workflow was first defined.
    pub created_at: DateTime<Utc>,
    /// When its last version was made.
    pub updated_at: DateTime<Utc>,
}

impl WorkflowOut {
    fn new(w: WorkflowRow, v: VersionRow) -> WorkflowOut {
        WorkflowOut {
            steps: service::steps_of(&v),
            id: w.id,
            key: w.key,
            name: v.name,
            description: v.description,
            version: v.version,
            current_version: w.version,
            version_created_by: v.created_by,
            version_created_at: as_utc(v.created_at),
            created_at: as_utc(w.created_at),
            updated_at: as_utc(w.updated_at),
        }
    }
}

/// Start a workflow on a dossier by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartIn {
    /// The workflow's key; its current version is used.
    #[schema(example = "relocation")]
    pub workflow: String,
    /// Who is responsible (steps assigned to `"responsible"` go to them); default the dossier's owner.
    pub responsible: Option<Assignee>,
}

/// One step an instance went through (or is at).
#[derive(Debug, Serialize, ToSchema)]
pub struct StepOut {
    /// 1 for the first step, counting up.
    pub seq: i32,
    /// The step's key in the definition.
    pub key: String,
    /// The step's name.
    pub name: String,
    /// Where the step is.
    pub status: StepStatus,
    /// The outcome it was completed with.
    pub outcome: Option<String>,
    /// Who its task was assigned to when the step started.
    pub assignee: Assignee,
    /// Its task's due date when the step started.
    pub due_date: NaiveDate,
    /// The task in the worklist.
    pub task_id: Option<String>,
    /// When the step started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Who ended it.
    pub ended_by: Option<String>,
}

impl From<StepRow> for StepOut {
    fn from(s: StepRow) -> StepOut {
        StepOut {
            assignee: Assignee::from_parts(s.assignee_kind, &s.assignee_name),
            seq: s.seq,
            key: s.step_key,
            name: s.name,
            status: s.status,
            outcome: s.outcome,
            due_date: s.due_date,
            task_id: s.task_id,
            started_at: as_utc(s.started_at),
            ended_at: s.ended_at.map(as_utc),
            ended_by: s.ended_by,
        }
    }
}

/// A running or finished workflow on a dossier.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceOut {
    /// Instance id.
    pub id: String,
    /// The dossier it runs on.
    pub dossier_id: String,
    /// The workflow's key.
    pub workflow: String,
    /// The definition version it is bound to.
    pub workflow_version: i64,
    /// Where the instance is.
    pub status: InstanceStatus,
    /// The key of the active step while running.
    pub current_step: Option<String>,
    /// Who was made responsible.
    pub responsible: Assignee,
    /// The rule that started it; `null` when started by hand.
    pub rule: Option<String>,
    /// Who started it (`system` for date rules).
    pub started_by: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it completed or was cancelled.
    pub ended_at: Option<DateTime<Utc>>,
    /// Increases with every change; the ETag is this number in quotes.
    pub version: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A workflow instance with its steps: the answer about one instance (lists leave the steps out).
#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceWithSteps {
    #[serde(flatten)]
    pub instance: InstanceOut,
    /// The steps so far, oldest first.
    pub steps: Vec<StepOut>,
}

impl InstanceOut {
    pub fn new(i: InstanceRow) -> InstanceOut {
        InstanceOut {
            responsible: Assignee::from_parts(i.responsible_kind, &i.responsible_name),
            id: i.id,
            dossier_id: i.dossier_id,
            workflow: i.workflow_key,
            workflow_version: i.workflow_version,
            status: i.status,
            current_step: i.current_step,
            rule: i.rule_key,
            started_by: i.started_by,
            started_at: as_utc(i.started_at),
            ended_at: i.ended_at.map(as_utc),
            version: i.version,
            created_at: as_utc(i.created_at),
            updated_at: as_utc(i.updated_at),
        }
    }
}

fn def_ok(status: StatusCode, w: WorkflowRow, v: VersionRow, location: Option<String>) -> HttpResponse {
    let version = w.version;
    resource_response(status, &WorkflowOut::new(w, v), version, location)
}

/// Define a workflow (admin).
#[utoipa::path(
    post, operation_id = "create_workflow", path = "/api/v1/workflows", tag = "workflows",
    request_body = WorkflowIn,
    responses(
        (status = 201, description = "Defined (version 1)", body = WorkflowOut,
         headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the workflow"))),
        (status = 409, description = "The key is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid definition: each error names its step (unknown step, unreachable step, no way to end)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    who: Allowed<AdminOnly>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    body: ApiJson<WorkflowIn>,
) -> Result<HttpResponse, ApiError> {
    let (input, now) = (body.into_inner(), clock.now());
    let (w, v) = db.write(move |c| service::create(c, &Ctx { actor: &who.sub, now }, input)).await?;
    let location = format!("/api/v1/workflows/{}", w.id);
    Ok(def_ok(StatusCode::CREATED, w, v, Some(location)))
}

/// List workflow definitions (current versions).
#[utoipa::path(
    get, operation_id = "list_workflows", path = "/api/v1/workflows", tag = "workflows",
    params(
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses((status = 200, description = "A page of workflows, oldest first", body = Page<WorkflowOut>)),
    security(("bearer" = []))
)]
pub async fn list(_who: Principal, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let p = page.clone();
    let rows =
        db.read(move |c| store::list_current(c, p.after.as_deref(), p.limit + 1).map_err(ApiError::from)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |(w, _)| w.id.clone(), |(w, v)| WorkflowOut::new(w, v))))
}

/// Get a workflow definition at its current version, by id or key.
#[utoipa::path(
    get, operation_id = "get_workflow", path = "/api/v1/workflows/{id}", tag = "workflows",
    params(("id" = String, Path, description = "Workflow id or key")),
    responses(
        (status = 200, description = "The definition", body = WorkflowOut, headers(("ETag" = String, description = "Version tag"))),
    ),
    security(("bearer" = []))
)]
pub async fn get(_who: Principal, db: web::Data<Db>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (w, v) = db.read(move |c| service::load(c, &id)).await?;
    Ok(def_ok(StatusCode::OK, w, v, None))
}

/// Get one version of a workflow definition.
#[utoipa::path(
    get, operation_id = "get_workflow_version", path = "/api/v1/workflows/{id}/versions/{version}", tag = "workflows",
    params(("id" = String, Path, description = "Workflow id or key"), ("version" = i64, Path, description = "Version number")),
    responses(
        (status = 200, description = "The definition at that version", body = WorkflowOut),
        (status = 404, description = "No such workflow or version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_version(
    _who: Principal,
    db: web::Data<Db>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, version) = path.into_inner();
    let (w, v) = db
        .read(move |c| {
            let (w, _) = service::load(c, &id)?;
            let v = service::load_version(c, &w, version)?;
            Ok::<_, ApiError>((w, v))
        })
        .await?;
    Ok(HttpResponse::Ok().json(WorkflowOut::new(w, v)))
}

/// Change a workflow definition (admin): makes a new version. Running instances keep theirs.
#[utoipa::path(
    patch, operation_id = "update_workflow", path = "/api/v1/workflows/{id}", tag = "workflows",
    params(
        ("id" = String, Path, description = "Workflow id or key"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; a stale one gives 412"),
    ),
    request_body(content = WorkflowPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The new current version", body = WorkflowOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 409, description = "Concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid definition: each error names its step", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    who: Allowed<AdminOnly>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: ApiJson<WorkflowPatch>,
) -> Result<HttpResponse, ApiError> {
    let (id, patch, now) = (id.into_inner(), body.into_inner(), clock.now());
    let (w, v) = db.write(move |c| service::update(c, &Ctx { actor: &who.sub, now }, &id, patch, &if_match)).await?;
    Ok(def_ok(StatusCode::OK, w, v, None))
}

fn instance_ok(status: StatusCode, i: InstanceRow, steps: Vec<StepRow>, location: Option<String>) -> HttpResponse {
    let version = i.version;
    let out =
        InstanceWithSteps { instance: InstanceOut::new(i), steps: steps.into_iter().map(StepOut::from).collect() };
    resource_response(status, &out, version, location)
}

/// Start a workflow on a dossier by hand (case_worker); its first step's task appears in the worklist.
#[utoipa::path(
    post, operation_id = "start_dossier_workflow", path = "/api/v1/dossiers/{id}/workflows", tag = "workflow-instances",
    params(("id" = String, Path, description = "Dossier id")),
    request_body = StartIn,
    responses(
        (status = 201, description = "Started", body = InstanceWithSteps,
         headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the instance"))),
        (status = 409, description = "The dossier is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown workflow or invalid responsible", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn start(
    who: Allowed<CaseWorkers>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    body: ApiJson<StartIn>,
) -> Result<HttpResponse, ApiError> {
    let (id, input, now) = (id.into_inner(), body.into_inner(), clock.now());
    if let Some(Err(m)) = input.responsible.as_ref().map(Assignee::check) {
        return Err(ApiError::invalid("responsible", "invalid_value", m));
    }
    let (i, steps) = db
        .write(move |c| {
            let ctx = Ctx { actor: &who.sub, now };
            let dossier = crate::dossiers::service::load_open(c, &id)?;
            let i = service::start(c, &ctx, &dossier, &input.workflow, input.responsible, None)?;
            let steps = store::steps_of(c, &i.id)?;
            Ok::<_, ApiError>((i, steps))
        })
        .await?;
    let location = format!("/api/v1/workflow-instances/{}", i.id);
    Ok(instance_ok(StatusCode::CREATED, i, steps, Some(location)))
}

/// List workflow instances.
#[utoipa::path(
    get, operation_id = "list_workflow_instances", path = "/api/v1/workflow-instances", tag = "workflow-instances",
    params(
        ("dossier_id" = Option<String>, Query, description = "Only instances on this dossier"),
        ("status" = Option<InstanceStatus>, Query, description = "Only instances in this status"),
        ("definition" = Option<String>, Query, description = "Only instances of the workflow with this key"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses((status = 200, description = "A page of instances, oldest first (without their steps)", body = Page<InstanceOut>)),
    security(("bearer" = []))
)]
pub async fn list_instances(_who: Principal, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let status = match q.take("status") {
        None => None,
        Some(s) => Some(
            InstanceStatus::parse(&s)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_query",
                        format!("status {s:?} is not one of running, completed, cancelled"),
                    )
                })?
                .as_str()
                .to_string(),
        ),
    };
    let filter = InstanceFilter { dossier_id: q.take("dossier_id"), status, workflow_key: q.take("definition") };
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let p = page.clone();
    let rows = db
        .read(move |c| store::list_instances(c, &filter, p.after.as_deref(), p.limit + 1).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.id.clone(), InstanceOut::new)))
}

/// Get a workflow instance with its step history.
#[utoipa::path(
    get, operation_id = "get_workflow_instance", path = "/api/v1/workflow-instances/{id}", tag = "workflow-instances",
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, description = "The instance and its steps", body = InstanceWithSteps, headers(("ETag" = String, description = "Version tag"))),
        (status = 404, description = "No such instance", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_instance(_who: Principal, db: web::Data<Db>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (i, steps) = db
        .read(move |c| {
            let i = service::load_instance(c, &id)?;
            let steps = store::steps_of(c, &i.id)?;
            Ok::<_, ApiError>((i, steps))
        })
        .await?;
    Ok(instance_ok(StatusCode::OK, i, steps, None))
}

/// Cancel a running workflow instance (case_worker); its open step task is cancelled too.
#[utoipa::path(
    post, operation_id = "cancel_workflow_instance", path = "/api/v1/workflow-instances/{id}/cancel", tag = "workflow-instances",
    params(
        ("id" = String, Path, description = "Instance id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on"),
    ),
    request_body(content = Option<crate::tasks::api::NoteIn>, description = "Optional reason"),
    responses(
        (status = 200, description = "Cancelled", body = InstanceWithSteps, headers(("ETag" = String, description = "Version tag"))),
        (status = 404, description = "No such instance", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The instance is not running", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid note", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn cancel(
    who: Allowed<CaseWorkers>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: ApiJson<Option<ActIn>>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().unwrap_or_default();
    crate::http::json::validate(&input)?;
    if input.outcome.is_some() {
        return Err(ApiError::invalid("outcome", "not_allowed", "cancelling takes no outcome"));
    }
    let (id, now) = (id.into_inner(), clock.now());
    let (i, steps) = db
        .write(move |c| {
            let i = service::cancel(c, &Ctx { actor: &who.sub, now }, &id, input.note, &if_match)?;
            let steps = store::steps_of(c, &i.id)?;
            Ok::<_, ApiError>((i, steps))
        })
        .await?;
    Ok(instance_ok(StatusCode::OK, i, steps, None))
}

/// Every change of a workflow instance, oldest first.
#[utoipa::path(
    get, operation_id = "get_workflow_instance_history", path = "/api/v1/workflow-instances/{id}/history", tag = "workflow-instances",
    params(
        ("id" = String, Path, description = "Instance id"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of events, oldest first", body = Page<crate::events::api::EventOut>),
        (status = 404, description = "No such instance", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn instance_history(
    _who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    crate::events::api::history(&db, &req, INSTANCE, id.into_inner(), |c, id| {
        store::get_instance(c, id).map(|i| i.is_some())
    })
    .await
}
