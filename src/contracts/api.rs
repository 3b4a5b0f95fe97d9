//! Handlers and request/response types for `/api/v1/contracts`.

use super::input::{ContractIn, ContractPatch, RenewIn, TerminateIn};
use super::model::{Reminder, Status};
use super::service::{self, ContractHooks, Verb};
use super::service_level::ServiceLevel;
use super::store::{self, ContractRow, ListFilter};
use crate::attributes::model::EntityKind;
use crate::attributes::service as attributes;
use crate::auth::Principal;
use crate::auth::{Allowed, ContractWriters};
use crate::clock::{as_utc, Clock};
use crate::db::hierarchy::{self, Tree};
use crate::db::Db;
use crate::events::Ctx;
use crate::http::etag::resource_response;
use crate::http::json::validate;
use crate::http::pagination::PageRequest;
use crate::http::{ApiError, ApiJson, IfMatch, Page, Problem, QueryPairs};
use crate::tasks::model::Assignee;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use utoipa::ToSchema;

/// Renewal terms of a contract.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenewalOut {
    pub auto_renew: bool,
    pub term_months: Option<i32>,
    pub notice_period: Option<String>,
}

/// A contract.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractOut {
    pub id: String,
    pub number: String,
    pub title: String,
    pub contract_type: String,
    pub customer_ref: String,
    pub customer_name: Option<String>,
    pub status: Status,
    pub start_date: NaiveDate,
    /// Initial term in months; `null` = open-ended.
    pub term_months: Option<i32>,
    /// Last day in force: the end of the term (renewals included) or the termination date.
    pub end_date: Option<NaiveDate>,
    pub renewal: RenewalOut,
    /// Last day to give notice before `end_date`.
    pub notice_deadline: Option<NaiveDate>,
    pub signed_at: Option<DateTime<Utc>>,
    /// Effective termination date, once terminated.
    pub terminated_on: Option<NaiveDate>,
    pub termination_reason: Option<String>,
    pub external_ref: Option<String>,
    pub parent_id: Option<String>,
    #[schema(value_type = crate::http::openapi::AttributeValues)]
    pub attributes: Map<String, Value>,
    /// The contract's own service level; `GET /contracts/{id}/service-level` gives the one in
    /// force, which may come from a parent contract.
    pub service_level: Option<ServiceLevel>,
    /// The contract's own owner; `null`: it has none of its own.
    pub owner: Option<Assignee>,
    /// The owner in force: its own, or else the nearest ancestor's (`null`: none up the
    /// hierarchy). Reminders go to this owner; `owner_user` and `owner_role` filter on it.
    pub effective_owner: Option<Assignee>,
    /// Whether `effective_owner` comes from an ancestor (the contract has no owner of its own).
    pub owner_inherited: bool,
    /// The contract's own reminders, in a canonical order (notice deadline first, fewest days
    /// first); `null`: the defaults of its contract type apply.
    pub reminders: Option<Vec<Reminder>>,
    /// Increases with every change; the ETag is this number in quotes.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ContractRow> for ContractOut {
    fn from(r: ContractRow) -> ContractOut {
        let service_level = service::own_service_level(&r);
        let (owner, effective_owner, reminders) =
            (service::own_owner(&r), service::effective_owner(&r), service::own_reminders(&r));
        ContractOut {
            owner_inherited: owner.is_none() && effective_owner.is_some(),
            owner,
            effective_owner,
            reminders,
            id: r.id,
            number: r.number,
            title: r.title,
            contract_type: r.contract_type,
            customer_ref: r.customer_ref,
            customer_name: r.customer_name,
            status: r.status,
            start_date: r.start_date,
            term_months: r.term_months,
            end_date: r.end_date,
            renewal: RenewalOut {
                auto_renew: r.auto_renew,
                term_months: r.renewal_term_months,
                notice_period: r.notice_period,
            },
            notice_deadline: r.notice_deadline,
            signed_at: r.signed_at.map(as_utc),
            terminated_on: r.terminated_on,
            termination_reason: r.termination_reason,
            external_ref: r.external_ref,
            parent_id: r.parent_id,
            attributes: r.attributes.into_inner(),
            service_level,
            version: r.version,
            created_at: as_utc(r.created_at),
            updated_at: as_utc(r.updated_at),
        }
    }
}

/// A contract and its descendants.
#[derive(Debug, Serialize, ToSchema)]
pub struct TreeNode {
    pub id: String,
    pub number: String,
    pub title: String,
    pub contract_type: String,
    pub status: Status,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    /// Child contracts, oldest first; empty at the depth limit.
    #[schema(no_recursion)]
    pub children: Vec<TreeNode>,
}

fn ok(row: ContractRow) -> HttpResponse {
    let version = row.version;
    resource_response(StatusCode::OK, &ContractOut::from(row), version, None)
}

fn ctx<'a>(who: &'a Principal, clock: &Clock) -> Ctx<'a> {
    Ctx { actor: &who.sub, now: clock.now() }
}

/// Create a contract (contract_manager, integration).
#[utoipa::path(
    post, operation_id = "create_contract", path = "/api/v1/contracts", tag = "contracts",
    request_body = ContractIn,
    responses(
        (status = 201, description = "Created", body = ContractOut,
         headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the contract"))),
        (status = 409, description = "Number or external_ref taken; hierarchy cycle", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or attributes", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    pattern: web::Data<super::model::NumberPattern>,
    body: ApiJson<ContractIn>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let pattern = pattern.0.clone();
    let now = clock.now();
    let row = db.write(move |c| service::create(c, &Ctx { actor: &who.sub, now }, input, &pattern)).await?;
    let location = format!("/api/v1/contracts/{}", row.id);
    let version = row.version;
    Ok(resource_response(StatusCode::CREATED, &ContractOut::from(row), version, Some(location)))
}

/// List contracts.
///
/// Besides the parameters below, attribute filters are `attr.<key>=<value>`, compared by the
/// attribute's type; dates and numbers also take `attr.<key>.gte=` and `attr.<key>.lte=`.
#[utoipa::path(
    get, operation_id = "list_contracts", path = "/api/v1/contracts", tag = "contracts",
    params(
        ("attr" = Option<std::collections::HashMap<String, String>>, Query, style = DeepObject, explode, description = "Attribute filters, one per key: `attr[region]=north` (or `attr.region=north`) matches the value, compared by the attribute's type; for numbers and dates `attr[amount.gte]=` and `attr[amount.lte]=` (or `attr.amount.gte=`) bound it from below and above, both included. The key must be defined for the entity kind (400 otherwise)."),
        ("status" = Option<Status>, Query, description = "Only contracts in this status"),
        ("contract_type" = Option<String>, Query, description = "Only contracts of this type"),
        ("customer_ref" = Option<String>, Query, description = "Only contracts of this customer"),
        ("external_ref" = Option<String>, Query, description = "The contract with this external reference"),
        ("number" = Option<String>, Query, description = "The contract with this number (case-insensitive)"),
        ("q" = Option<String>, Query, description = "Case-insensitive search in number and title"),
        ("parent_id" = Option<String>, Query, description = "Only children of this contract"),
        ("root" = Option<bool>, Query, description = "`true`: only contracts without a parent; `false`: only those with one"),
        ("expiring_before" = Option<NaiveDate>, Query, description = "Only contracts whose end date is before this date"),
        ("notice_before" = Option<NaiveDate>, Query, description = "Only contracts whose last day to give notice is before this date"),
        ("owner_user" = Option<String>, Query, description = "Only contracts whose owner in force (`effective_owner`: their own or inherited from an ancestor) is this user"),
        ("owner_role" = Option<String>, Query, description = "Only contracts whose owner in force (`effective_owner`: their own or inherited from an ancestor) is this role or team"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of contracts, oldest first", body = Page<ContractOut>),
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
                        format!("status {s:?} is not one of draft, active, suspended, terminated, expired"),
                    )
                })?
                .as_str()
                .to_string(),
        ),
    };
    let mut filter = ListFilter {
        status,
        contract_type: q.take("contract_type"),
        customer_ref: q.take("customer_ref"),
        external_ref: q.take("external_ref"),
        number: q.take("number"),
        q: q.take("q"),
        parent_id: q.take("parent_id"),
        root: q.take_bool("root")?,
        expiring_before: q.take_date("expiring_before")?,
        notice_before: q.take_date("notice_before")?,
        owner_user: q.take("owner_user"),
        owner_role: q.take("owner_role"),
        attrs: Vec::new(),
    };
    let raw_attrs = q.take_prefixed("attr.");
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let p = page.clone();
    let rows = db
        .read(move |c| {
            filter.attrs = attributes::resolve_filters(c, EntityKind::Contract, &raw_attrs)?;
            store::list(c, &filter, p.after.as_deref(), p.limit + 1).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.id.clone(), ContractOut::from)))
}

/// Get one contract.
#[utoipa::path(
    get, operation_id = "get_contract", path = "/api/v1/contracts/{id}", tag = "contracts",
    params(("id" = String, Path, description = "Contract id")),
    responses(
        (status = 200, description = "The contract", body = ContractOut, headers(("ETag" = String, description = "Version tag"))),
    ),
    security(("bearer" = []))
)]
pub async fn get(_who: Principal, db: web::Data<Db>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    Ok(ok(db.read(move |c| service::load(c, &id)).await?))
}

/// Change a contract (merge patch; contract_manager, integration).
#[utoipa::path(
    patch, operation_id = "update_contract", path = "/api/v1/contracts/{id}", tag = "contracts",
    params(
        ("id" = String, Path, description = "Contract id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; a stale one gives 412"),
    ),
    request_body(content = ContractPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Changed", body = ContractOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 409, description = "Number or external_ref taken; hierarchy cycle; concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or attributes", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    hooks: web::Data<ContractHooks>,
    if_match: IfMatch,
    body: ApiJson<ContractPatch>,
) -> Result<HttpResponse, ApiError> {
    let (id, patch, now) = (id.into_inner(), body.into_inner(), clock.now());
    let actor = who.sub.clone();
    let h = *hooks.get_ref();
    let row = db.write(move |c| service::update(c, &Ctx { actor: &who.sub, now }, &id, patch, &if_match, &h)).await?;
    (hooks.settle)(db.get_ref().clone(), actor, now, vec![row.id.clone()]).await;
    Ok(ok(row))
}

/// Delete a contract (contract_manager, integration); 409 while other records depend on it.
#[utoipa::path(
    delete, operation_id = "delete_contract", path = "/api/v1/contracts/{id}", tag = "contracts",
    params(
        ("id" = String, Path, description = "Contract id"),
        ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on; a stale one gives 412"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "The contract has child contracts, obligations, covered installations or tasks (reminders, service actions)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<ContractHooks>,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (id, now, hooks) = (id.into_inner(), clock.now(), *hooks.get_ref());
    db.write(move |c| service::delete(c, &Ctx { actor: &who.sub, now }, &id, &if_match, &hooks)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn act(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<ContractHooks>,
    id: String,
    verb: Verb,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (now, actor, h) = (ctx(&who, &clock).now, who.sub.clone(), *hooks.get_ref());
    let row = db.write(move |c| service::act(c, &Ctx { actor: &who.sub, now }, &id, verb, &if_match, &h)).await?;
    (hooks.settle)(db.get_ref().clone(), actor, now, vec![row.id.clone()]).await;
    Ok(ok(row))
}

/// Activate a draft or suspended contract.
#[utoipa::path(
    post, operation_id = "activate_contract", path = "/api/v1/contracts/{id}/activate", tag = "contracts",
    params(("id" = String, Path, description = "Contract id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses(
        (status = 200, description = "Now active", body = ContractOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 409, description = "Not allowed from the current status", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn activate(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<ContractHooks>,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    act(who, db, clock, hooks, id.into_inner(), Verb::Activate, if_match).await
}

/// Suspend an active contract.
#[utoipa::path(
    post, operation_id = "suspend_contract", path = "/api/v1/contracts/{id}/suspend", tag = "contracts",
    params(("id" = String, Path, description = "Contract id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    responses(
        (status = 200, description = "Now suspended", body = ContractOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 409, description = "Not allowed from the current status", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn suspend(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<ContractHooks>,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    act(who, db, clock, hooks, id.into_inner(), Verb::Suspend, if_match).await
}

/// Terminate a contract with effect from a date (default today).
#[utoipa::path(
    post, operation_id = "terminate_contract", path = "/api/v1/contracts/{id}/terminate", tag = "contracts",
    params(("id" = String, Path, description = "Contract id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = Option<TerminateIn>, description = "Optional; defaults to today without a reason"),
    responses(
        (status = 200, description = "Terminated", body = ContractOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 409, description = "Not allowed from the current status", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Effective date outside the contract's period", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn terminate(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<ContractHooks>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: ApiJson<Option<TerminateIn>>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().unwrap_or_default();
    validate(&input)?;
    let verb = Verb::Terminate(input);
    act(who, db, clock, hooks, id.into_inner(), verb, if_match).await
}

/// Renew a contract: extend its end date by the renewal term or the given months. Needs the
/// contract's ETag as `If-Match` or an `Idempotency-Key`, so that a retry cannot renew twice.
#[utoipa::path(
    post, operation_id = "renew_contract", path = "/api/v1/contracts/{id}/renew", tag = "contracts",
    params(("id" = String, Path, description = "Contract id"), ("If-Match" = Option<String>, Header, description = "ETag the change is based on")),
    request_body(content = Option<RenewIn>, description = "Optional; defaults to the renewal term"),
    responses(
        (status = 200, description = "Renewed", body = ContractOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 409, description = "Not renewable in its status, or open-ended", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid term", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "Neither If-Match (an ETag) nor Idempotency-Key was sent", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[allow(clippy::too_many_arguments)]
pub async fn renew(
    who: Allowed<ContractWriters>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<ContractHooks>,
    id: web::Path<String>,
    if_match: IfMatch,
    req: HttpRequest,
    body: ApiJson<Option<RenewIn>>,
) -> Result<HttpResponse, ApiError> {
    // Each renewal moves the end date on by a term, so a retried one would renew twice.
    if if_match.pins_no_version() && !req.headers().contains_key(crate::idempotency::HEADER) {
        return Err(ApiError::new(
            crate::error::Kind::PreconditionRequired,
            "precondition_required",
            "renewing extends the term each time it runs: send the contract's ETag as If-Match, or an \
             Idempotency-Key, so that a retried request cannot renew twice",
        ));
    }
    let input = body.into_inner().unwrap_or_default();
    validate(&input)?;
    let verb = Verb::Renew(input);
    act(who, db, clock, hooks, id.into_inner(), verb, if_match).await
}

/// The direct children of a contract, oldest first.
#[utoipa::path(
    get, operation_id = "list_contract_children", path = "/api/v1/contracts/{id}/children", tag = "contracts",
    params(
        ("id" = String, Path, description = "Contract id"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of child contracts", body = Page<ContractOut>),
    ),
    security(("bearer" = []))
)]
pub async fn children(
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
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.id.clone(), ContractOut::from)))
}

/// The ancestors of a contract, root first (the contract itself not included). A hierarchy has
/// at most 20 levels, so this list has at most 19 items.
#[utoipa::path(
    get, operation_id = "list_contract_ancestors", path = "/api/v1/contracts/{id}/ancestors", tag = "contracts",
    params(
        ("id" = String, Path, description = "Contract id"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of the ancestors, root first", body = Page<ContractOut>),
    ),
    security(("bearer" = []))
)]
pub async fn ancestors(
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
            let links = hierarchy::ancestor_ids(c, Tree::Contracts, &id)?;
            if links.is_empty() {
                return Err(ApiError::not_found(format!("contract {id} does not exist")));
            }
            let mut ids: Vec<String> = links.into_iter().filter(|l| l.depth > 0).map(|l| l.id).collect();
            ids.reverse();
            if let Some(after) = &p.after {
                let Some(at) = ids.iter().position(|i| i == after) else {
                    return Err(ApiError::bad_request(
                        "invalid_cursor",
                        "the cursor is not an ancestor of this contract (its hierarchy changed); start again",
                    ));
                };
                ids.drain(..=at);
            }
            ids.truncate(p.limit as usize + 1);
            let mut by_id: HashMap<String, ContractRow> =
                store::get_many(c, &ids)?.into_iter().map(|r| (r.id.clone(), r)).collect();
            Ok(ids.iter().filter_map(|i| by_id.remove(i)).collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.id.clone(), ContractOut::from)))
}

/// A contract with its descendants, nested, down to `depth` levels.
#[utoipa::path(
    get, operation_id = "get_contract_tree", path = "/api/v1/contracts/{id}/tree", tag = "contracts",
    params(
        ("id" = String, Path, description = "Contract id"),
        ("depth" = Option<i32>, Query, description = "Levels below the contract to include, 1–20 (default 5)", minimum = 1, maximum = 20),
    ),
    responses(
        (status = 200, description = "The contract tree", body = TreeNode),
    ),
    security(("bearer" = []))
)]
pub async fn tree(
    _who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let depth = q.take_parsed::<i32>("depth", "an integer from 1 to 20")?.unwrap_or(5);
    q.finish()?;
    if !(1..=20).contains(&depth) {
        return Err(ApiError::bad_request("invalid_query", "query parameter `depth` must be from 1 to 20"));
    }
    let id = id.into_inner();
    let (root, rows) = db
        .read(move |c| {
            let root = service::load(c, &id)?;
            let ids: Vec<String> =
                hierarchy::descendant_ids(c, Tree::Contracts, &id, depth)?.into_iter().map(|l| l.id).collect();
            Ok::<_, ApiError>((root, store::get_many(c, &ids)?))
        })
        .await?;
    let mut by_parent: HashMap<String, Vec<ContractRow>> = HashMap::new();
    for r in rows {
        by_parent.entry(r.parent_id.clone().unwrap_or_default()).or_default().push(r);
    }
    Ok(HttpResponse::Ok().json(build_tree(root, &mut by_parent)))
}

fn build_tree(row: ContractRow, by_parent: &mut HashMap<String, Vec<ContractRow>>) -> TreeNode {
    let mut kids = by_parent.remove(&row.id).unwrap_or_default();
    kids.sort_by(|a, b| a.id.cmp(&b.id));
    TreeNode {
        status: row.status,
        children: kids.into_iter().map(|k| build_tree(k, by_parent)).collect(),
        id: row.id,
        number: row.number,
        title: row.title,
        contract_type: row.contract_type,
        start_date: row.start_date,
        end_date: row.end_date,
    }
}

/// Every change of a contract, oldest first (kept after deletion).
#[utoipa::path(
    get, operation_id = "get_contract_history", path = "/api/v1/contracts/{id}/history", tag = "contracts",
    params(
        ("id" = String, Path, description = "Contract id"),
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
    crate::events::api::history(&db, &req, service::ENTITY, id.into_inner(), |c, id| {
        crate::events::store::has_history(c, "contract", id)
            .and_then(|h| if h { Ok(true) } else { store::exists(c, id) })
    })
    .await
}
