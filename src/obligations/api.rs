//! Handlers and request/response types for obligations: `/api/v1/contracts/{id}/obligations`
//! and `/api/v1/obligations/{id}`.

use super::generation;
use super::input::{ObligationIn, ObligationPatch, ScheduleIn};
use super::model::{Schedule, Scope};
use super::service::{self, GenerationReport, ENTITY};
use super::store::{self, ObligationRow};
use crate::auth::Principal;
use crate::auth::{Allowed, ContractWriters, Generators};
use crate::clock::{as_utc, Clock};
use crate::contracts::service::load as load_contract;
use crate::contracts::store as contract_store;
use crate::db::Db;
use crate::events::Ctx;
use crate::http::etag::resource_response;
use crate::http::pagination::PageRequest;
use crate::http::{ApiError, ApiJson, IfMatch, Page, Patch, Problem, QueryPairs};
use crate::tasks::model::Assignee;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// An obligation of a contract.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObligationOut {
    pub id: String,
    pub contract_id: String,
    pub title: String,
    pub description: Option<String>,
    pub kind: String,
    pub assignee: Assignee,
    pub due_date: Option<NaiveDate>,
    pub schedule: Option<ScheduleIn>,
    pub lead_days: i32,
    pub scope: Scope,
    pub horizon_months: i32,
    /// The day its tasks were last brought in line with it.
    pub generated_on: Option<NaiveDate>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ObligationRow> for ObligationOut {
    fn from(r: ObligationRow) -> ObligationOut {
        ObligationOut {
            assignee: service::assignee_of(&r),
            schedule: r.rrule.clone().map(|rrule| ScheduleIn {
                rrule,
                exdates: r.exdates.into_inner(),
                anchor_date: r.anchor_date,
            }),
            scope: r.scope,
            id: r.id,
            contract_id: r.contract_id,
            title: r.title,
            description: r.description,
            kind: r.kind,
            due_date: r.due_date,
            lead_days: r.lead_days,
            horizon_months: r.horizon_months,
            generated_on: r.generated_on,
            version: r.version,
            created_at: as_utc(r.created_at),
            updated_at: as_utc(r.updated_at),
        }
    }
}

/// One occurrence a schedule would produce.
#[derive(Debug, Serialize, ToSchema)]
pub struct OccurrenceOut {
    /// The day of the occurrence.
    pub nominal_date: NaiveDate,
    /// The day its task is due (`lead_days` earlier).
    pub due_date: NaiveDate,
    /// The installation, for obligations scoped to installations.
    pub installation_id: Option<String>,
}

/// The occurrences between two days.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewOut {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub occurrences: Vec<OccurrenceOut>,
}

fn ok(row: ObligationRow) -> HttpResponse {
    let version = row.version;
    resource_response(StatusCode::OK, &ObligationOut::from(row), version, None)
}

/// Add an obligation to a contract (contract_manager, integration); its tasks are generated at once.
#[utoipa::path(
    post, operation_id = "create_obligation", path = "/api/v1/contracts/{id}/obligations", tag = "obligations",
    params(("id" = String, Path, description = "Contract id")),
    request_body = ObligationIn,
    responses(
        (status = 201, description = "Created", body = ObligationOut,
         headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the obligation"))),
        (status = 422, description = "Invalid fields; an invalid RRULE gives the parser's reason", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    body: ApiJson<ObligationIn>,
) -> Result<HttpResponse, ApiError> {
    let (contract_id, input, now) = (id.into_inner(), body.into_inner(), clock.now());
    if let Some(s) = &input.schedule {
        check_schedule(&db, Of::Contract(contract_id.clone()), s.clone()).await?;
    }
    let actor = who.sub.clone();
    let row = db.write(move |c| service::create(c, &Ctx { actor: &who.sub, now }, &contract_id, input)).await?;
    // Answer with what is stored after generation, its day included.
    generation::follow_up(&db, &actor, now, vec![row.contract_id.clone()]).await;
    let id = row.id.clone();
    let row = db.read(move |c| service::load(c, &id)).await?;
    let location = format!("/api/v1/obligations/{}", row.id);
    let version = row.version;
    Ok(resource_response(StatusCode::CREATED, &ObligationOut::from(row), version, Some(location)))
}

/// The obligations of a contract.
#[utoipa::path(
    get, operation_id = "list_obligations", path = "/api/v1/contracts/{id}/obligations", tag = "obligations",
    params(
        ("id" = String, Path, description = "Contract id"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of obligations, oldest first", body = Page<ObligationOut>),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    _who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let (id, p) = (id.into_inner(), page.clone());
    let rows = db
        .read(move |c| {
            load_contract(c, &id)?;
            store::of_contract(c, &id, p.after.as_deref(), p.limit + 1).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.id.clone(), ObligationOut::from)))
}

/// Get one obligation.
#[utoipa::path(
    get, operation_id = "get_obligation", path = "/api/v1/obligations/{id}", tag = "obligations",
    params(("id" = String, Path, description = "Obligation id")),
    responses(
        (status = 200, description = "The obligation", body = ObligationOut, headers(("ETag" = String, description = "Version tag"))),
    ),
    security(("bearer" = []))
)]
pub async fn get(_who: Principal, db: web::Data<Db>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    Ok(ok(db.read(move |c| service::load(c, &id)).await?))
}

/// Change an obligation (contract_manager, integration); its open tasks follow.
#[utoipa::path(
    patch, operation_id = "update_obligation", path = "/api/v1/obligations/{id}", tag = "obligations",
    params(
        ("id" = String, Path, description = "Obligation id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; a stale one gives 412"),
    ),
    request_body(content = ObligationPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Changed", body = ObligationOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 409, description = "Concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields; an invalid RRULE gives the parser's reason", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: ApiJson<ObligationPatch>,
) -> Result<HttpResponse, ApiError> {
    let (id, patch, now) = (id.into_inner(), body.into_inner(), clock.now());
    if let Patch::Value(s) = &patch.schedule {
        check_schedule(&db, Of::Obligation(id.clone()), s.clone()).await?;
    }
    let actor = who.sub.clone();
    let row = db.write(move |c| service::update(c, &Ctx { actor: &who.sub, now }, &id, patch, &if_match)).await?;
    generation::follow_up(&db, &actor, now, vec![row.contract_id.clone()]).await;
    let id = row.id.clone();
    Ok(ok(db.read(move |c| service::load(c, &id)).await?))
}

/// Delete an obligation and its open tasks; 409 while tasks of it were worked on.
#[utoipa::path(
    delete, operation_id = "delete_obligation", path = "/api/v1/obligations/{id}", tag = "obligations",
    params(
        ("id" = String, Path, description = "Obligation id"),
        ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on; a stale one gives 412"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Tasks of the obligation were worked on", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (id.into_inner(), clock.now());
    db.write(move |c| service::delete(c, &Ctx { actor: &who.sub, now }, &id, &if_match)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The occurrences the obligation would produce between two days, storing nothing.
///
/// Bounded like generation: by the contract's period and, per installation, its coverage.
#[utoipa::path(
    get, operation_id = "preview_obligation", path = "/api/v1/obligations/{id}/preview", tag = "obligations",
    params(
        ("id" = String, Path, description = "Obligation id"),
        ("from" = Option<NaiveDate>, Query, description = "First day (default today)"),
        ("to" = Option<NaiveDate>, Query, description = "Last day (default the horizon); at most 10 years after `from`"),
    ),
    responses(
        (status = 200, description = "The occurrences", body = PreviewOut),
    ),
    security(("bearer" = []))
)]
pub async fn preview(
    _who: Principal,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let from = q.take_date("from")?.unwrap_or_else(|| clock.today());
    let to = q.take_date("to")?;
    q.finish()?;
    let id = id.into_inner();
    let out = db
        .read(move |c| {
            let row = service::load(c, &id)?;
            let contract = load_contract(c, &row.contract_id)?;
            let to =
                to.unwrap_or_else(|| from.checked_add_months(Months::new(row.horizon_months as u32)).unwrap_or(from));
            if to < from || from.checked_add_months(Months::new(120)).is_some_and(|limit| to > limit) {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    "`to` must be on or after `from` and at most 10 years later",
                ));
            }
            let days = match (row.due_date, service::schedule_of(&row, contract.start_date)) {
                (Some(day), _) => vec![day],
                (None, Some(s)) => {
                    s.expand(from, to).map_err(|e| ApiError::invalid("schedule.rrule", "invalid_rrule", e))?
                }
                (None, None) => Vec::new(),
            };
            let wanted = service::wanted(c, &row, &contract, from, to, &days)?;
            let occurrences = wanted
                .into_iter()
                .map(|w| OccurrenceOut { nominal_date: w.nominal, due_date: w.due, installation_id: w.installation_id })
                .collect();
            Ok(PreviewOut { from, to, occurrences })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Generate the obligation's tasks now, up to its horizon, and report what changed.
#[utoipa::path(
    post, operation_id = "generate_obligation_tasks", path = "/api/v1/obligations/{id}/generate", tag = "obligations",
    params(("id" = String, Path, description = "Obligation id")),
    responses(
        (status = 200, description = "What generation created, updated and cancelled", body = GenerationReport),
    ),
    security(("bearer" = []))
)]
pub async fn generate(
    who: Allowed<Generators>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (id.into_inner(), clock.now());
    let check = id.clone();
    db.read(move |c| service::load(c, &check)).await?;
    let report = generation::generate_one(&db, &who.sub, now, &id).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Every change of an obligation, oldest first.
#[utoipa::path(
    get, operation_id = "get_obligation_history", path = "/api/v1/obligations/{id}/history", tag = "obligations",
    params(
        ("id" = String, Path, description = "Obligation id"),
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

/// Whose schedule is checked: a new obligation's contract, or an obligation being changed.
enum Of {
    Contract(String),
    Obligation(String),
}

/// The part of a schedule's check that expands it ([`crate::obligations::model::Schedule::check`]),
/// run before the write on the blocking pool. A rule whose form is wrong is left to the
/// write's own checks, which report it with the other fields; so is a contract or obligation
/// that does not exist.
async fn check_schedule(db: &Db, of: Of, input: ScheduleIn) -> Result<(), ApiError> {
    let start = db
        .read(move |c| match of {
            Of::Contract(id) => Ok::<_, ApiError>(contract_store::get(c, &id)?.map(|k| k.start_date)),
            Of::Obligation(id) => match store::get(c, &id)? {
                Some(o) => Ok(contract_store::get(c, &o.contract_id)?.map(|k| k.start_date)),
                None => Ok(None),
            },
        })
        .await?;
    let Some(start) = start else { return Ok(()) };
    let schedule = Schedule { rrule: input.rrule, anchor: input.anchor_date.unwrap_or(start), exdates: input.exdates };
    if schedule.check_form().is_err() {
        return Ok(());
    }
    match web::block(move || schedule.check()).await? {
        Ok(()) => Ok(()),
        Err(reason) => Err(ApiError::invalid("schedule.rrule", "invalid_rrule", reason)),
    }
}
