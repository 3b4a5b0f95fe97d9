//! Handlers and request/response types for `/api/v1/installations` and the coverage links
//! `/api/v1/contracts/{id}/installations`.

use super::input::{CoverageItem, CoveragePatch, InstallationIn, InstallationPatch};
use super::model::{Location, Status};
use super::service::{self, ENTITY};
use super::store::{self, CoverageRow, InstallationRow, ListFilter};
use crate::attributes::model::EntityKind;
use crate::attributes::service as attributes;
use crate::auth::Principal;
use crate::auth::{Allowed, ContractWriters};
use crate::clock::{as_utc, Clock};
use crate::contracts::service::load as load_contract;
use crate::contracts::service::ContractHooks;
use crate::contracts::store::ContractRow;
use crate::db::Db;
use crate::events::Ctx;
use crate::http::etag::resource_response;
use crate::http::json::validate;
use crate::http::pagination::PageRequest;
use crate::http::{ApiError, ApiJson, IfMatch, Page, Problem, QueryPairs};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use validator::Validate;

/// An installation.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstallationOut {
    pub id: String,
    pub serial_number: String,
    pub name: String,
    pub installation_type: String,
    pub customer_ref: String,
    pub location: Location,
    pub installed_at: Option<NaiveDate>,
    pub status: Status,
    pub parent_id: Option<String>,
    pub external_ref: Option<String>,
    #[schema(value_type = crate::http::openapi::AttributeValues)]
    pub attributes: Map<String, Value>,
    /// Increases with every change; the ETag is this number in quotes.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<InstallationRow> for InstallationOut {
    fn from(r: InstallationRow) -> InstallationOut {
        InstallationOut {
            id: r.id,
            serial_number: r.serial_number,
            name: r.name,
            installation_type: r.installation_type,
            customer_ref: r.customer_ref,
            location: r.location.into_inner(),
            installed_at: r.installed_at,
            status: r.status,
            parent_id: r.parent_id,
            external_ref: r.external_ref,
            attributes: r.attributes.into_inner(),
            version: r.version,
            created_at: as_utc(r.created_at),
            updated_at: as_utc(r.updated_at),
        }
    }
}

/// Installations to put under a contract, all at once (1–500); all or nothing.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CoverageIn {
    #[validate(length(min = 1, max = 500))]
    #[schema(min_items = 1, max_items = 500)]
    pub installations: Vec<CoverageItem>,
}

/// The contract side of a coverage link.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractSummary {
    pub id: String,
    pub number: String,
    pub title: String,
    pub contract_type: String,
    pub status: crate::contracts::model::Status,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
}

impl From<ContractRow> for ContractSummary {
    fn from(c: ContractRow) -> ContractSummary {
        ContractSummary {
            status: c.status,
            id: c.id,
            number: c.number,
            title: c.title,
            contract_type: c.contract_type,
            start_date: c.start_date,
            end_date: c.end_date,
        }
    }
}

/// The installation side of a coverage link.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstallationSummary {
    pub id: String,
    pub serial_number: String,
    pub name: String,
    pub installation_type: String,
    pub status: Status,
}

impl From<InstallationRow> for InstallationSummary {
    fn from(i: InstallationRow) -> InstallationSummary {
        InstallationSummary {
            status: i.status,
            id: i.id,
            serial_number: i.serial_number,
            name: i.name,
            installation_type: i.installation_type,
        }
    }
}

/// A contract covering an installation for a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageOut {
    pub id: String,
    pub contract_id: String,
    pub installation_id: String,
    pub valid_from: NaiveDate,
    /// `null`: open-ended.
    pub valid_to: Option<NaiveDate>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A coverage link as listed from the installation's side: with its contract.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageWithContract {
    #[serde(flatten)]
    pub coverage: CoverageOut,
    /// The covering contract.
    pub contract: ContractSummary,
}

/// A coverage link as answered from the contract's side: with its installation.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageWithInstallation {
    #[serde(flatten)]
    pub coverage: CoverageOut,
    /// The covered installation.
    pub installation: InstallationSummary,
}

impl CoverageOut {
    fn new(c: CoverageRow) -> CoverageOut {
        CoverageOut {
            id: c.id,
            contract_id: c.contract_id,
            installation_id: c.installation_id,
            valid_from: c.valid_from,
            valid_to: c.valid_to,
            version: c.version,
            created_at: as_utc(c.created_at),
            updated_at: as_utc(c.updated_at),
        }
    }

    fn with_contract(c: CoverageRow, contract: ContractRow) -> CoverageWithContract {
        CoverageWithContract { coverage: CoverageOut::new(c), contract: ContractSummary::from(contract) }
    }

    fn with_installation(c: CoverageRow, installation: InstallationRow) -> CoverageWithInstallation {
        CoverageWithInstallation {
            coverage: CoverageOut::new(c),
            installation: InstallationSummary::from(installation),
        }
    }
}

/// How a contract reaches the installation.
#[derive(Debug, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The contract covers this installation itself.
    Direct,
    /// The contract covers an installation this one is a component of.
    Parent,
}

/// One contract in force for the installation on the asked day.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoveringContract {
    pub contract: ContractSummary,
    pub via: Via,
    /// The installation the coverage is attached to (this one, or a parent).
    pub covered_installation_id: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

/// Whether an installation is covered on a day, and by what.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageAnswer {
    pub installation_id: String,
    pub at: NaiveDate,
    /// True when at least one contract covers the installation that day.
    pub covered: bool,
    pub contracts: Vec<CoveringContract>,
}

fn ok(row: InstallationRow) -> HttpResponse {
    let version = row.version;
    resource_response(StatusCode::OK, &InstallationOut::from(row), version, None)
}

/// Register an installation (contract_manager, integration).
#[utoipa::path(
    post, operation_id = "create_installation", path = "/api/v1/installations", tag = "installations",
    request_body = InstallationIn,
    responses(
        (status = 201, description = "Registered", body = InstallationOut,
         headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the installation"))),
        (status = 409, description = "Serial number or external_ref taken; hierarchy cycle", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or attributes", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    body: ApiJson<InstallationIn>,
) -> Result<HttpResponse, ApiError> {
    let (input, now) = (body.into_inner(), clock.now());
    let row = db.write(move |c| service::create(c, &Ctx { actor: &who.sub, now }, input)).await?;
    let location = format!("/api/v1/installations/{}", row.id);
    let version = row.version;
    Ok(resource_response(StatusCode::CREATED, &InstallationOut::from(row), version, Some(location)))
}

/// List installations.
///
/// Attribute filters are `attr.<key>=<value>`, and `attr.<key>.gte=` / `.lte=` for numbers and dates.
#[utoipa::path(
    get, operation_id = "list_installations", path = "/api/v1/installations", tag = "installations",
    params(
        ("attr" = Option<std::collections::HashMap<String, String>>, Query, style = DeepObject, explode, description = "Attribute filters, one per key: `attr[region]=north` (or `attr.region=north`) matches the value, compared by the attribute's type; for numbers and dates `attr[amount.gte]=` and `attr[amount.lte]=` (or `attr.amount.gte=`) bound it from below and above, both included. The key must be defined for the entity kind (400 otherwise)."),
        ("customer_ref" = Option<String>, Query, description = "Only installations of this customer"),
        ("installation_type" = Option<String>, Query, description = "Only installations of this type"),
        ("status" = Option<Status>, Query, description = "Only installations in this status"),
        ("serial_number" = Option<String>, Query, description = "The installation with this serial number"),
        ("external_ref" = Option<String>, Query, description = "The installation with this external reference"),
        ("q" = Option<String>, Query, description = "Case-insensitive search in serial number and name"),
        ("parent_id" = Option<String>, Query, description = "Only components of this installation"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of installations, oldest first", body = Page<InstallationOut>),
    ),
    security(("bearer" = []))
)]
pub async fn list(_who: Principal, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let status = match q.take("status") {
        None => None,
        Some(s) => Some(
            Status::parse(&s)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_query",
                        format!("status {s:?} is not one of active, inactive, decommissioned"),
                    )
                })?
                .as_str()
                .to_string(),
        ),
    };
    let mut filter = ListFilter {
        customer_ref: q.take("customer_ref"),
        installation_type: q.take("installation_type"),
        status,
        serial_number: q.take("serial_number"),
        external_ref: q.take("external_ref"),
        q: q.take("q"),
        parent_id: q.take("parent_id"),
        attrs: Vec::new(),
    };
    let raw_attrs = q.take_prefixed("attr.");
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let p = page.clone();
    let rows = db
        .read(move |c| {
            filter.attrs = attributes::resolve_filters(c, EntityKind::Installation, &raw_attrs)?;
            store::list(c, &filter, p.after.as_deref(), p.limit + 1).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.id.clone(), InstallationOut::from)))
}

/// Get one installation.
#[utoipa::path(
    get, operation_id = "get_installation", path = "/api/v1/installations/{id}", tag = "installations",
    params(("id" = String, Path, description = "Installation id")),
    responses(
        (status = 200, description = "The installation", body = InstallationOut, headers(("ETag" = String, description = "Version tag"))),
    ),
    security(("bearer" = []))
)]
pub async fn get(_who: Principal, db: web::Data<Db>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    Ok(ok(db.read(move |c| service::load(c, &id)).await?))
}

/// Change an installation (merge patch; contract_manager, integration).
#[utoipa::path(
    patch, operation_id = "update_installation", path = "/api/v1/installations/{id}", tag = "installations",
    params(
        ("id" = String, Path, description = "Installation id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; a stale one gives 412"),
    ),
    request_body(content = InstallationPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Changed", body = InstallationOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 409, description = "Serial number or external_ref taken; hierarchy cycle; concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or attributes", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: ApiJson<InstallationPatch>,
) -> Result<HttpResponse, ApiError> {
    let (id, patch, now) = (id.into_inner(), body.into_inner(), clock.now());
    Ok(ok(db.write(move |c| service::update(c, &Ctx { actor: &who.sub, now }, &id, patch, &if_match)).await?))
}

/// Delete an installation; 409 while it has components or coverage.
#[utoipa::path(
    delete, operation_id = "delete_installation", path = "/api/v1/installations/{id}", tag = "installations",
    params(
        ("id" = String, Path, description = "Installation id"),
        ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on; a stale one gives 412"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The installation has components or is covered by contracts", body = Problem, content_type = "application/problem+json"),
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

/// The components of an installation (its direct children), oldest first.
#[utoipa::path(
    get, operation_id = "list_installation_components", path = "/api/v1/installations/{id}/components", tag = "installations",
    params(
        ("id" = String, Path, description = "Installation id"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of components", body = Page<InstallationOut>),
    ),
    security(("bearer" = []))
)]
pub async fn components(
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
            service::load(c, &id)?;
            let filter = ListFilter { parent_id: Some(id), ..Default::default() };
            store::list(c, &filter, p.after.as_deref(), p.limit + 1).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.id.clone(), InstallationOut::from)))
}

/// Every change of an installation, oldest first (kept after deletion).
#[utoipa::path(
    get, operation_id = "get_installation_history", path = "/api/v1/installations/{id}/history", tag = "installations",
    params(
        ("id" = String, Path, description = "Installation id"),
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

/// The contracts linked to an installation (both sides show the same links).
#[utoipa::path(
    get, operation_id = "list_installation_contracts", path = "/api/v1/installations/{id}/contracts", tag = "coverage",
    params(
        ("id" = String, Path, description = "Installation id"),
        ("at" = Option<NaiveDate>, Query, description = "Only the agreements in force for the installation that day"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of coverage links with their contracts", body = Page<CoverageWithContract>),
    ),
    security(("bearer" = []))
)]
pub async fn contracts_of(
    _who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let at = q.take_date("at")?;
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let (id, p) = (id.into_inner(), page.clone());
    let rows = db
        .read(move |c| {
            service::load(c, &id)?;
            store::coverage_of_installations(c, &[id], at, p.after.as_deref(), p.limit + 1).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page(
        rows,
        |(cov, _)| cov.contract_id.clone(),
        |(cov, contract)| CoverageOut::with_contract(cov, contract),
    )))
}

/// Is this installation covered on a day, and by which contracts — directly or through the
/// installation it is a component of.
#[utoipa::path(
    get, operation_id = "get_installation_coverage", path = "/api/v1/installations/{id}/coverage", tag = "coverage",
    params(
        ("id" = String, Path, description = "Installation id"),
        ("at" = Option<NaiveDate>, Query, description = "The day to ask about (default today, UTC)"),
    ),
    responses(
        (status = 200, description = "The contracts in force for the installation that day", body = CoverageAnswer),
    ),
    security(("bearer" = []))
)]
pub async fn coverage(
    _who: Principal,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let at = q.take_date("at")?.unwrap_or_else(|| clock.today());
    q.finish()?;
    let id = id.into_inner();
    let answer = db
        .read(move |c| {
            let contracts: Vec<CoveringContract> = service::covering(c, &id, at)?
                .into_iter()
                .map(|(cov, contract)| CoveringContract {
                    via: if cov.installation_id == id { Via::Direct } else { Via::Parent },
                    covered_installation_id: cov.installation_id,
                    valid_from: cov.valid_from,
                    valid_to: cov.valid_to,
                    contract: contract.into(),
                })
                .collect();
            Ok::<_, ApiError>(CoverageAnswer { installation_id: id, at, covered: !contracts.is_empty(), contracts })
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// Put installations under a contract (contract_manager, integration); all or nothing.
#[utoipa::path(
    post, operation_id = "add_contract_installations", path = "/api/v1/contracts/{id}/installations", tag = "coverage",
    params(("id" = String, Path, description = "Contract id")),
    request_body = CoverageIn,
    responses(
        (status = 201, description = "The new coverage links", body = Page<CoverageWithInstallation>),
        (status = 409, description = "Already covered by this contract, or by another contract of the same type in an overlapping period", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown installation, or a period outside the contract's", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn add_coverage(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<ContractHooks>,
    id: web::Path<String>,
    body: ApiJson<CoverageIn>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    validate(&input)?;
    let (id, items, now) = (id.into_inner(), input.installations, clock.now());
    let (actor, contract_id, h) = (who.sub.clone(), id.clone(), *hooks.get_ref());
    let rows = db.write(move |c| service::add_coverage(c, &Ctx { actor: &who.sub, now }, &id, items, &h)).await?;
    (hooks.settle)(db.get_ref().clone(), actor, now, vec![contract_id]).await;
    Ok(HttpResponse::Created().json(Page {
        items: rows.into_iter().map(|(cov, inst)| CoverageOut::with_installation(cov, inst)).collect(),
        next_cursor: None,
    }))
}

/// The installations a contract covers.
#[utoipa::path(
    get, operation_id = "list_contract_installations", path = "/api/v1/contracts/{id}/installations", tag = "coverage",
    params(
        ("id" = String, Path, description = "Contract id"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of coverage links with their installations", body = Page<CoverageWithInstallation>),
    ),
    security(("bearer" = []))
)]
pub async fn list_coverage(
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
            store::coverage_of_contract(c, &id, p.after.as_deref(), p.limit + 1).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page(
        rows,
        |(cov, _)| cov.installation_id.clone(),
        |(cov, inst)| CoverageOut::with_installation(cov, inst),
    )))
}

/// Change the period a contract covers an installation.
#[utoipa::path(
    patch, operation_id = "update_contract_installation", path = "/api/v1/contracts/{id}/installations/{installation_id}", tag = "coverage",
    params(
        ("id" = String, Path, description = "Contract id"),
        ("installation_id" = String, Path, description = "Installation id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; a stale one gives 412"),
    ),
    request_body(content = CoveragePatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Changed", body = CoverageWithInstallation, headers(("ETag" = String, description = "Version tag"))),
        (status = 404, description = "The contract does not cover the installation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Overlaps another contract of the same type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A period outside the contract's", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update_coverage(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<ContractHooks>,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: ApiJson<CoveragePatch>,
) -> Result<HttpResponse, ApiError> {
    let ((id, installation_id), patch, now) = (path.into_inner(), body.into_inner(), clock.now());
    let (actor, contract_id, h) = (who.sub.clone(), id.clone(), *hooks.get_ref());
    let (cov, inst) = db
        .write(move |c| {
            service::update_coverage(c, &Ctx { actor: &who.sub, now }, &id, &installation_id, patch, &if_match, &h)
        })
        .await?;
    (hooks.settle)(db.get_ref().clone(), actor, now, vec![contract_id]).await;
    let version = cov.version;
    Ok(resource_response(StatusCode::OK, &CoverageOut::with_installation(cov, inst), version, None))
}

/// Remove an installation from a contract's coverage.
#[utoipa::path(
    delete, operation_id = "delete_contract_installation", path = "/api/v1/contracts/{id}/installations/{installation_id}", tag = "coverage",
    params(
        ("id" = String, Path, description = "Contract id"),
        ("installation_id" = String, Path, description = "Installation id"),
        ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on; a stale one gives 412"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "The contract does not cover the installation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_coverage(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<ContractHooks>,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let ((id, installation_id), now) = (path.into_inner(), clock.now());
    let (actor, contract_id, h) = (who.sub.clone(), id.clone(), *hooks.get_ref());
    db.write(move |c| service::delete_coverage(c, &Ctx { actor: &who.sub, now }, &id, &installation_id, &if_match, &h))
        .await?;
    (hooks.settle)(db.get_ref().clone(), actor, now, vec![contract_id]).await;
    Ok(HttpResponse::NoContent().finish())
}
