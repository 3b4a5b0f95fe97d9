//! Handlers and request/response types for dossier types `/api/v1/dossier-types` and dossiers
//! `/api/v1/dossiers` (history, `as_of`, posted events, rule firings, date triggers).

use super::input::{DossierIn, DossierPatch, DossierTypeIn, DossierTypePatch, EventIn};
use super::model::{AttributeDef, DossierStatus, RuleDef, TriggerKind, TriggerStatus};
use super::service::{self, DossierHooks, ENTITY};
use super::store::{self, BusinessEventRow, DossierRow, FiringRow, ListFilter, TriggerRow, TypeRow, TypeVersionRow};
use crate::auth::Principal;
use crate::auth::{AdminOnly, Allowed, CaseWorkers};
use crate::clock::{as_utc, Clock};
use crate::db::Db;
use crate::events::Ctx;
use crate::http::etag::resource_response;
use crate::http::pagination::{PageRequest, PAGE_BYTES};
use crate::http::{ApiError, ApiJson, IfMatch, Page, Problem, QueryPairs};
use crate::tasks::model::Assignee;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A dossier type at one version.
#[derive(Debug, Serialize, ToSchema)]
pub struct DossierTypeOut {
    /// Type id.
    pub id: String,
    /// Its key.
    pub key: String,
    /// Display name at this version.
    pub name: String,
    /// Description at this version.
    pub description: Option<String>,
    /// The attribute schema at this version.
    pub attributes: Vec<AttributeDef>,
    /// The default owner at this version.
    pub default_owner: Option<Assignee>,
    /// The rules at this version.
    pub rules: Vec<RuleDef>,
    /// This version's number (the ETag of the current version).
    pub version: i64,
    /// The type's current version.
    pub current_version: i64,
    /// Who made this version.
    pub version_created_by: String,
    /// When this version was made.
    pub version_created_at: DateTime<Utc>,
    /// When the type was first defined.
    pub created_at: DateTime<Utc>,
    /// When its last version was made.
    pub updated_at: DateTime<Utc>,
}

impl DossierTypeOut {
    fn new(t: TypeRow, v: TypeVersionRow) -> DossierTypeOut {
        let d = service::def_of(&v);
        DossierTypeOut {
            id: t.id,
            key: t.key,
            name: v.name,
            description: v.description,
            attributes: d.attributes,
            default_owner: d.default_owner,
            rules: d.rules,
            version: v.version,
            current_version: t.version,
            version_created_by: v.created_by,
            version_created_at: as_utc(v.created_at),
            created_at: as_utc(t.created_at),
            updated_at: as_utc(t.updated_at),
        }
    }
}

/// A dossier: a long-lived customer case file.
#[derive(Debug, Serialize, ToSchema)]
pub struct DossierOut {
    /// Dossier id.
    pub id: String,
    /// The dossier type's key.
    #[serde(rename = "type")]
    pub dossier_type: String,
    /// The version of the type the dossier is on.
    pub type_version: i64,
    /// The customer.
    pub customer_ref: String,
    /// The linked contract.
    pub contract_id: Option<String>,
    /// The owner: a person or a department.
    pub owner: Assignee,
    /// `open` or `closed`.
    pub status: DossierStatus,
    /// The attribute values.
    #[schema(value_type = crate::http::openapi::AttributeValues)]
    pub attributes: Value,
    /// With `?as_of=`: the day this state was rebuilt for; `null` for the current state.
    pub as_of: Option<NaiveDate>,
    /// Increases with every change; the ETag is this number in quotes.
    pub version: i64,
    /// When the dossier was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed (as of `as_of` when given).
    pub updated_at: DateTime<Utc>,
}

impl DossierOut {
    fn new(d: DossierRow, as_of: Option<NaiveDate>) -> DossierOut {
        DossierOut {
            owner: Assignee::from_parts(d.owner_kind, &d.owner_name),
            status: d.status,
            attributes: Value::Object(d.attributes.into_inner()),
            id: d.id,
            dossier_type: d.type_key,
            type_version: d.type_version,
            customer_ref: d.customer_ref,
            contract_id: d.contract_id,
            as_of,
            version: d.version,
            created_at: as_utc(d.created_at),
            updated_at: as_utc(d.updated_at),
        }
    }
}

/// A business event posted on a dossier.
#[derive(Debug, Serialize, ToSchema)]
pub struct BusinessEventOut {
    /// Event id.
    pub id: String,
    /// The dossier.
    pub dossier_id: String,
    /// The event's name.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Its data.
    #[schema(value_type = crate::http::openapi::JsonObject)]
    pub data: Value,
    /// The idempotency key it was posted with.
    pub key: Option<String>,
    /// Who posted it.
    pub posted_by: String,
    /// When.
    pub posted_at: DateTime<Utc>,
}

impl From<BusinessEventRow> for BusinessEventOut {
    fn from(r: BusinessEventRow) -> BusinessEventOut {
        BusinessEventOut {
            data: Value::Object(r.data.into_inner()),
            id: r.id,
            dossier_id: r.dossier_id,
            event_type: r.event_type,
            key: r.idempotency_key,
            posted_by: r.posted_by,
            posted_at: as_utc(r.posted_at),
        }
    }
}

/// A rule that fired on a dossier, and what it started.
#[derive(Debug, Serialize, ToSchema)]
pub struct FiringOut {
    /// Firing id.
    pub id: String,
    /// The dossier.
    pub dossier_id: String,
    /// The rule's key.
    pub rule: String,
    /// What kind of trigger fired.
    pub trigger: TriggerKind,
    /// What occurrence it fired for (`change:<event id>`, `date:<day>`, `event:<posted event id>`);
    /// one firing per rule, dossier and occurrence.
    pub occurrence_key: String,
    /// The type version whose rule fired.
    pub type_version: i64,
    /// What happened: the attribute's old and new value, the due day, or the posted event.
    #[schema(value_type = crate::http::openapi::JsonObject)]
    pub details: Value,
    /// The workflow instance it started.
    pub workflow_instance_id: Option<String>,
    /// Who caused it (`system` for date rules).
    pub fired_by: String,
    /// When it fired.
    pub fired_at: DateTime<Utc>,
}

impl From<FiringRow> for FiringOut {
    fn from(r: FiringRow) -> FiringOut {
        FiringOut {
            details: r.details.into_inner(),
            id: r.id,
            dossier_id: r.dossier_id,
            rule: r.rule_key,
            trigger: r.trigger_kind,
            occurrence_key: r.occurrence_key,
            type_version: r.type_version,
            workflow_instance_id: r.workflow_instance_id,
            fired_by: r.fired_by,
            fired_at: as_utc(r.fired_at),
        }
    }
}

/// The answer to posting an event: the event and the rules it fired.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostedOut {
    /// The posted event.
    pub event: BusinessEventOut,
    /// The rules that fired, each with the workflow it started.
    pub firings: Vec<FiringOut>,
}

/// A date rule's trigger on a dossier.
#[derive(Debug, Serialize, ToSchema)]
pub struct TriggerOut {
    /// The rule's key.
    pub rule: String,
    /// The day it is (or was) due: the source attribute plus the rule's offset.
    pub due_on: NaiveDate,
    /// Where the trigger is.
    pub status: TriggerStatus,
    /// When it fired or was voided.
    pub fired_at: Option<DateTime<Utc>>,
}

impl From<TriggerRow> for TriggerOut {
    fn from(t: TriggerRow) -> TriggerOut {
        TriggerOut { rule: t.rule_key, due_on: t.due_on, status: t.status, fired_at: t.fired_at.map(as_utc) }
    }
}

fn type_ok(status: StatusCode, t: TypeRow, v: TypeVersionRow, location: Option<String>) -> HttpResponse {
    let version = t.version;
    resource_response(status, &DossierTypeOut::new(t, v), version, location)
}

fn ok(d: DossierRow) -> HttpResponse {
    let version = d.version;
    resource_response(StatusCode::OK, &DossierOut::new(d, None), version, None)
}

// ---------------------------------------------------------------------------------------------
// dossier types

/// Define a dossier type (admin).
#[utoipa::path(
    post, operation_id = "create_dossier_type", path = "/api/v1/dossier-types", tag = "dossier-types",
    request_body = DossierTypeIn,
    responses(
        (status = 201, description = "Defined (version 1)", body = DossierTypeOut,
         headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the type"))),
        (status = 409, description = "The key is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid schema or rules (unknown attribute or workflow, bad period, …)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_type(
    who: Allowed<AdminOnly>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<DossierHooks>,
    body: ApiJson<DossierTypeIn>,
) -> Result<HttpResponse, ApiError> {
    let (input, now) = (body.into_inner(), clock.now());
    let (t, v) = db.write(move |c| service::create_type(c, &Ctx { actor: &who.sub, now }, input, &hooks)).await?;
    let location = format!("/api/v1/dossier-types/{}", t.id);
    Ok(type_ok(StatusCode::CREATED, t, v, Some(location)))
}

/// List dossier types (current versions).
#[utoipa::path(
    get, operation_id = "list_dossier_types", path = "/api/v1/dossier-types", tag = "dossier-types",
    params(
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses((status = 200, description = "A page of dossier types, oldest first", body = Page<DossierTypeOut>)),
    security(("bearer" = []))
)]
pub async fn list_types(_who: Principal, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let p = page.clone();
    let rows =
        db.read(move |c| store::list_types_current(c, p.after.as_deref(), p.limit + 1).map_err(ApiError::from)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |(t, _)| t.id.clone(), |(t, v)| DossierTypeOut::new(t, v))))
}

/// Get a dossier type at its current version, by id or key.
#[utoipa::path(
    get, operation_id = "get_dossier_type", path = "/api/v1/dossier-types/{id}", tag = "dossier-types",
    params(("id" = String, Path, description = "Type id or key")),
    responses(
        (status = 200, description = "The type", body = DossierTypeOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 404, description = "No such type", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_type(_who: Principal, db: web::Data<Db>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (t, v) = db.read(move |c| service::load_type(c, &id)).await?;
    Ok(type_ok(StatusCode::OK, t, v, None))
}

/// Get one version of a dossier type.
#[utoipa::path(
    get, operation_id = "get_dossier_type_version", path = "/api/v1/dossier-types/{id}/versions/{version}", tag = "dossier-types",
    params(("id" = String, Path, description = "Type id or key"), ("version" = i64, Path, description = "Version number")),
    responses(
        (status = 200, description = "The type at that version", body = DossierTypeOut),
        (status = 404, description = "No such type or version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_type_version(
    _who: Principal,
    db: web::Data<Db>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, version) = path.into_inner();
    let (t, v) = db
        .read(move |c| {
            let (t, _) = service::load_type(c, &id)?;
            let v = service::load_type_version(c, &t, version)?;
            Ok::<_, ApiError>((t, v))
        })
        .await?;
    Ok(HttpResponse::Ok().json(DossierTypeOut::new(t, v)))
}

/// Change a dossier type (admin): makes a new version. Existing dossiers keep theirs.
#[utoipa::path(
    patch, operation_id = "update_dossier_type", path = "/api/v1/dossier-types/{id}", tag = "dossier-types",
    params(
        ("id" = String, Path, description = "Type id or key"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; a stale one gives 412"),
    ),
    request_body(content = DossierTypePatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The new current version", body = DossierTypeOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 404, description = "No such type", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid schema or rules", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update_type(
    who: Allowed<AdminOnly>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<DossierHooks>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: ApiJson<DossierTypePatch>,
) -> Result<HttpResponse, ApiError> {
    let (id, patch, now) = (id.into_inner(), body.into_inner(), clock.now());
    let (t, v) = db
        .write(move |c| service::update_type(c, &Ctx { actor: &who.sub, now }, &id, patch, &if_match, &hooks))
        .await?;
    Ok(type_ok(StatusCode::OK, t, v, None))
}

// ---------------------------------------------------------------------------------------------
// dossiers

/// Open a dossier (case_worker). Date rules of its type start counting at once.
#[utoipa::path(
    post, operation_id = "create_dossier", path = "/api/v1/dossiers", tag = "dossiers",
    request_body = DossierIn,
    responses(
        (status = 201, description = "Created", body = DossierOut,
         headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the dossier"))),
        (status = 422, description = "Invalid fields: unknown type or contract, missing owner, invalid attributes", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    who: Allowed<CaseWorkers>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    body: ApiJson<DossierIn>,
) -> Result<HttpResponse, ApiError> {
    let (input, now) = (body.into_inner(), clock.now());
    let d = db.write(move |c| service::create(c, &Ctx { actor: &who.sub, now }, input)).await?;
    let location = format!("/api/v1/dossiers/{}", d.id);
    let version = d.version;
    Ok(resource_response(StatusCode::CREATED, &DossierOut::new(d, None), version, Some(location)))
}

/// List the dossiers the caller may read.
///
/// Admins, case workers and viewers read every dossier; anyone else the dossiers it owns (by
/// `sub` or a role), those of the types that name it (default owner, a rule's responsible) and
/// those with a running workflow whose responsible or active step is it. Attribute filters are `attr.<key>=<value>`, compared by the attribute's type; dates and
/// numbers also take `attr.<key>.gte=` and `attr.<key>.lte=`.
#[utoipa::path(
    get, operation_id = "list_dossiers", path = "/api/v1/dossiers", tag = "dossiers",
    params(
        ("attr" = Option<std::collections::HashMap<String, String>>, Query, style = DeepObject, explode, description = "Attribute filters, one per key: `attr[region]=north` (or `attr.region=north`) matches the value, compared by the attribute's type; for numbers and dates `attr[amount.gte]=` and `attr[amount.lte]=` (or `attr.amount.gte=`) bound it from below and above, both included. The key must be defined for the entity kind (400 otherwise)."),
        ("type" = Option<String>, Query, description = "Only dossiers of this type (key)"),
        ("customer_ref" = Option<String>, Query, description = "Only dossiers of this customer"),
        ("contract_id" = Option<String>, Query, description = "Only dossiers linked to this contract"),
        ("owner_user" = Option<String>, Query, description = "Only dossiers owned by this person"),
        ("owner_role" = Option<String>, Query, description = "Only dossiers owned by this department (role or team)"),
        ("status" = Option<DossierStatus>, Query, description = "Only open or only closed dossiers"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses((status = 200, description = "A page of dossiers, oldest first", body = Page<DossierOut>)),
    security(("bearer" = []))
)]
pub async fn list(who: Principal, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let status = match q.take("status").as_deref() {
        None => None,
        Some(s @ ("open" | "closed")) => Some(s.to_string()),
        Some(s) => {
            return Err(ApiError::bad_request("invalid_query", format!("status {s:?} is not one of open, closed")))
        }
    };
    let owner = match (q.take("owner_user"), q.take("owner_role")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("invalid_query", "give owner_user or owner_role, not both"));
        }
        (Some(u), None) => Some(("user".to_string(), u)),
        (None, Some(r)) => Some(("role".to_string(), r)),
        (None, None) => None,
    };
    let mut filter = ListFilter {
        type_key: q.take("type"),
        customer_ref: q.take("customer_ref"),
        contract_id: q.take("contract_id"),
        owner,
        status,
        attrs: Vec::new(),
        reader: None,
    };
    let raw_attrs = q.take_prefixed("attr.");
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let p = page.clone();
    let rows = db
        .read(move |c| {
            filter.attrs = service::resolve_filters(c, filter.type_key.as_deref(), &raw_attrs)?;
            filter.reader = service::reader(c, &who.sub, &who.roles)?;
            store::list(c, &filter, p.after.as_deref(), p.limit + 1).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.id.clone(), |r| DossierOut::new(r, None))))
}

/// Get a dossier; with `as_of`, as it was at the end of that day (UTC).
///
/// A dossier the caller may not read (see the list) answers 404, like a missing one; so do its
/// history, posted events, rule firings and date triggers. `as_of` rebuilds the dossier from its history (every change records old and new values),
/// so attributes, owner and status are those of that day. Such an answer has no ETag.
#[utoipa::path(
    get, operation_id = "get_dossier", path = "/api/v1/dossiers/{id}", tag = "dossiers",
    params(
        ("id" = String, Path, description = "Dossier id"),
        ("as_of" = Option<NaiveDate>, Query, description = "A day: the dossier as it was at its end"),
    ),
    responses(
        (status = 200, description = "The dossier", body = DossierOut, headers(("ETag" = String, description = "Version tag (not with as_of)"))),
        (status = 404, description = "No such dossier, or not one the caller may read (or it did not exist yet on `as_of`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let as_of = q.take_date("as_of")?;
    q.finish()?;
    let id = id.into_inner();
    match as_of {
        None => Ok(ok(db.read(move |c| service::load_readable(c, &id, &who.sub, &who.roles)).await?)),
        Some(day) => {
            let d = db
                .read(move |c| {
                    let d = service::load_readable(c, &id, &who.sub, &who.roles)?;
                    service::as_of(c, &d, day)?
                        .ok_or_else(|| ApiError::not_found(format!("dossier {id} did not exist yet on {day}")))
                })
                .await?;
            Ok(HttpResponse::Ok().json(DossierOut::new(d, Some(day))))
        }
    }
}

/// Change a dossier (case_worker). Attribute changes fire the attribute rules of its type
/// version once each and move its date triggers.
#[utoipa::path(
    patch, operation_id = "update_dossier", path = "/api/v1/dossiers/{id}", tag = "dossiers",
    params(
        ("id" = String, Path, description = "Dossier id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; a stale one gives 412"),
    ),
    request_body(content = DossierPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Changed", body = DossierOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 404, description = "No such dossier, or not one the caller may read", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The dossier is closed, or changed concurrently", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    who: Allowed<CaseWorkers>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<DossierHooks>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: ApiJson<DossierPatch>,
) -> Result<HttpResponse, ApiError> {
    let (id, patch, now) = (id.into_inner(), body.into_inner(), clock.now());
    Ok(ok(db.write(move |c| service::update(c, &Ctx { actor: &who.sub, now }, &id, patch, &if_match, &hooks)).await?))
}

async fn set_status(
    who: Allowed<CaseWorkers>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<DossierHooks>,
    id: String,
    if_match: IfMatch,
    close: bool,
) -> Result<HttpResponse, ApiError> {
    let now = clock.now();
    Ok(ok(db
        .write(move |c| service::set_status(c, &Ctx { actor: &who.sub, now }, &id, close, &if_match, &hooks))
        .await?))
}

/// Close a dossier (case_worker); 409 while workflows run on it or when it is closed.
#[utoipa::path(
    post, operation_id = "close_dossier", path = "/api/v1/dossiers/{id}/close", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses(
        (status = 200, description = "Closed", body = DossierOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 404, description = "No such dossier, or not one the caller may read", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already closed, or workflows still run on it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn close(
    who: Allowed<CaseWorkers>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<DossierHooks>,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    set_status(who, db, clock, hooks, id.into_inner(), if_match, true).await
}

/// Reopen a closed dossier (case_worker); 409 when it is open.
#[utoipa::path(
    post, operation_id = "reopen_dossier", path = "/api/v1/dossiers/{id}/reopen", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses(
        (status = 200, description = "Reopened", body = DossierOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 404, description = "No such dossier, or not one the caller may read", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The dossier is open", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn reopen(
    who: Allowed<CaseWorkers>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<DossierHooks>,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    set_status(who, db, clock, hooks, id.into_inner(), if_match, false).await
}

/// Every change of a dossier ever, oldest first, with old and new values.
#[utoipa::path(
    get, operation_id = "get_dossier_history", path = "/api/v1/dossiers/{id}/history", tag = "dossiers",
    params(
        ("id" = String, Path, description = "Dossier id"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of events, oldest first", body = Page<crate::events::api::EventOut>),
        (status = 404, description = "No such dossier, or not one the caller may read", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn history(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let dossier = id.clone();
    db.read(move |c| service::load_readable(c, &dossier, &who.sub, &who.roles)).await?;
    crate::events::api::history(&db, &req, ENTITY, id, store::exists).await
}

/// Post a named business event on a dossier (case_worker); rules listening for it fire once.
#[utoipa::path(
    post, operation_id = "post_dossier_event", path = "/api/v1/dossiers/{id}/events", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id")),
    request_body = EventIn,
    responses(
        (status = 201, description = "Posted; the rules it fired", body = PostedOut,
         headers(("Location" = String, description = "URL of the dossier's events"))),
        (status = 200, description = "This idempotency key was posted before: the first post, nothing fired again", body = PostedOut),
        (status = 404, description = "No such dossier, or not one the caller may read", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The dossier is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn post_event(
    who: Allowed<CaseWorkers>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<DossierHooks>,
    max_data: web::Data<super::model::EventDataMaxBytes>,
    id: web::Path<String>,
    body: ApiJson<EventIn>,
) -> Result<HttpResponse, ApiError> {
    let (id, input, now) = (id.into_inner(), body.into_inner(), clock.now());
    let size = input.data.as_ref().map_or(0, |d| serde_json::to_string(d).map_or(0, |t| t.len()));
    if size > max_data.0 {
        return Err(ApiError::invalid(
            "data",
            "too_large",
            format!("{size} bytes of JSON; at most {} are kept with one event", max_data.0),
        ));
    }
    let (event, firings, created) =
        db.write(move |c| service::post_event(c, &Ctx { actor: &who.sub, now }, &id, input, &hooks)).await?;
    let location = format!("/api/v1/dossiers/{}/events", event.dossier_id);
    let out = PostedOut { event: event.into(), firings: firings.into_iter().map(FiringOut::from).collect() };
    if created {
        Ok(HttpResponse::Created().insert_header(("Location", location)).json(out))
    } else {
        Ok(HttpResponse::Ok().json(out))
    }
}

/// Rows of a dossier, one page at a time.
type PageOf<R> = fn(&mut crate::db::DbConnection, &str, Option<&str>, i64) -> diesel::QueryResult<Vec<R>>;

/// One page of a list that belongs to a dossier (posted events, rule firings); 404 when the
/// dossier does not exist.
async fn dossier_page<R: Send + 'static, T: Serialize>(
    who: Principal,
    db: &Db,
    req: &HttpRequest,
    id: String,
    rows_of: PageOf<R>,
    key: fn(&R) -> String,
    out: fn(R) -> T,
) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(req)?;
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let p = page.clone();
    let rows = db
        .read(move |c| {
            service::load_readable(c, &id, &who.sub, &who.roles)?;
            rows_of(c, &id, p.after.as_deref(), p.limit + 1).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page_within(rows, PAGE_BYTES, key, out)))
}

/// The business events posted on a dossier, oldest first.
#[utoipa::path(
    get, operation_id = "list_dossier_events", path = "/api/v1/dossiers/{id}/events", tag = "dossiers",
    params(
        ("id" = String, Path, description = "Dossier id"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of posted events", body = Page<BusinessEventOut>),
        (status = 404, description = "No such dossier, or not one the caller may read", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_events(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    dossier_page(who, &db, &req, id.into_inner(), store::business_events_of, |r| r.id.clone(), BusinessEventOut::from)
        .await
}

/// What fired on a dossier, when, and what it started, oldest first.
#[utoipa::path(
    get, operation_id = "list_dossier_rule_firings", path = "/api/v1/dossiers/{id}/rule-firings", tag = "dossiers",
    params(
        ("id" = String, Path, description = "Dossier id"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of rule firings", body = Page<FiringOut>),
        (status = 404, description = "No such dossier, or not one the caller may read", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_firings(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    dossier_page(who, &db, &req, id.into_inner(), store::firings_of, |r| r.id.clone(), FiringOut::from).await
}

/// The date triggers of a dossier: one per date rule of its type version, with its due day.
#[utoipa::path(
    get, operation_id = "list_dossier_date_triggers", path = "/api/v1/dossiers/{id}/date-triggers", tag = "dossiers",
    params(("id" = String, Path, description = "Dossier id")),
    responses(
        (status = 200, description = "The triggers (one page: at most one per rule)", body = Page<TriggerOut>),
        (status = 404, description = "No such dossier, or not one the caller may read", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_triggers(who: Principal, db: web::Data<Db>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let rows = db
        .read(move |c| {
            service::load_readable(c, &id, &who.sub, &who.roles)?;
            store::triggers_of(c, &id).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page { items: rows.into_iter().map(TriggerOut::from).collect(), next_cursor: None }))
}

/// The change feed shows a case file's events (its changes, posted events and rule firings)
/// only to those who may read the dossier.
pub const FEED_SCOPE: crate::events::FeedScope = crate::events::FeedScope {
    condition: |c, who| Ok(service::reader(c, &who.sub, &who.roles)?.map(|r| store::feed_readable_by(&r))),
    redact: |_, _| {},
};
