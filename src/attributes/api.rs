//! Handlers and response types for `/api/v1/attribute-definitions`.

use super::input::{DefinitionIn, DefinitionPatch};
use super::model::{DataType, EntityKind};
use super::service::{self, rule_of, AttributeHooks};
use super::store::{self, DefinitionRow};
use crate::auth::Principal;
use crate::auth::{AdminOnly, Allowed};
use crate::clock::{as_utc, Clock};
use crate::db::Db;
use crate::events::Ctx;
use crate::http::etag::resource_response;
use crate::http::pagination::PageRequest;
use crate::http::{ApiError, ApiJson, IfMatch, Page, Problem, QueryPairs};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// An attribute definition.
#[derive(Debug, Serialize, ToSchema)]
pub struct DefinitionOut {
    pub id: String,
    pub entity_kind: EntityKind,
    /// The type the attribute is limited to, or `null` for all.
    pub scope: Option<String>,
    pub key: String,
    pub label: String,
    pub data_type: DataType,
    pub required: bool,
    pub options: Option<Vec<String>>,
    pub description: Option<String>,
    /// Increases with every change; the ETag is this number in quotes.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<DefinitionRow> for DefinitionOut {
    fn from(r: DefinitionRow) -> DefinitionOut {
        let rule = rule_of(&r);
        DefinitionOut {
            id: r.id,
            entity_kind: r.entity_kind,
            scope: Some(r.scope).filter(|s| !s.is_empty()),
            key: r.key,
            label: r.label,
            data_type: rule.data_type,
            required: r.required,
            options: r.options.map(|_| rule.options),
            description: r.description,
            version: r.version,
            created_at: as_utc(r.created_at),
            updated_at: as_utc(r.updated_at),
        }
    }
}

/// Define an attribute (admin).
#[utoipa::path(
    post, operation_id = "create_attribute_definition", path = "/api/v1/attribute-definitions", tag = "attribute-definitions",
    request_body = DefinitionIn,
    responses(
        (status = 201, description = "Defined", body = DefinitionOut,
         headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the definition"))),
        (status = 409, description = "The key is already defined for this kind and scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid definition", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    who: Allowed<AdminOnly>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    hooks: web::Data<AttributeHooks>,
    body: ApiJson<DefinitionIn>,
) -> Result<HttpResponse, ApiError> {
    let (input, now, hooks) = (body.into_inner(), clock.now(), **hooks);
    let row = db.write(move |c| service::create(c, &Ctx { actor: &who.sub, now }, input, &hooks)).await?;
    let location = format!("/api/v1/attribute-definitions/{}", row.id);
    let version = row.version;
    Ok(resource_response(StatusCode::CREATED, &DefinitionOut::from(row), version, Some(location)))
}

/// List attribute definitions.
#[utoipa::path(
    get, operation_id = "list_attribute_definitions", path = "/api/v1/attribute-definitions", tag = "attribute-definitions",
    params(
        ("entity_kind" = Option<EntityKind>, Query, description = "Only definitions for this kind of resource"),
        ("scope" = Option<String>, Query, description = "Only definitions limited to this type"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of definitions", body = Page<DefinitionOut>),
    ),
    security(("bearer" = []))
)]
pub async fn list(_who: Principal, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let kind = match q.take("entity_kind") {
        None => None,
        Some(k) => Some(EntityKind::parse(&k).ok_or_else(|| {
            ApiError::bad_request("invalid_query", "entity_kind must be contract, installation or dossier")
        })?),
    };
    let scope = q.take("scope");
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let p = page.clone();
    let rows = db
        .read(move |c| {
            store::list(c, kind.map(|k| k.as_str()), scope.as_deref(), p.after.as_deref(), p.limit + 1)
                .map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.id.clone(), DefinitionOut::from)))
}

/// Get one attribute definition.
#[utoipa::path(
    get, operation_id = "get_attribute_definition", path = "/api/v1/attribute-definitions/{id}", tag = "attribute-definitions",
    params(("id" = String, Path, description = "Definition id")),
    responses(
        (status = 200, description = "The definition", body = DefinitionOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 404, description = "No such definition", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get(_who: Principal, db: web::Data<Db>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = db.read(move |c| service::load(c, &id)).await?;
    let version = row.version;
    Ok(resource_response(StatusCode::OK, &DefinitionOut::from(row), version, None))
}

/// Change an attribute definition (admin).
///
/// Changes that would make stored values invalid are refused with 409: changing the type while
/// values exist, removing an enum option in use, making it required while resources lack it.
#[utoipa::path(
    patch, operation_id = "update_attribute_definition", path = "/api/v1/attribute-definitions/{id}", tag = "attribute-definitions",
    params(
        ("id" = String, Path, description = "Definition id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; a stale one gives 412"),
    ),
    request_body(content = DefinitionPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Changed", body = DefinitionOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 404, description = "No such definition", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The change would invalidate stored values", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid change", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    who: Allowed<AdminOnly>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: ApiJson<DefinitionPatch>,
) -> Result<HttpResponse, ApiError> {
    let (id, patch, now) = (id.into_inner(), body.into_inner(), clock.now());
    let row = db.write(move |c| service::update(c, &Ctx { actor: &who.sub, now }, &id, patch, &if_match)).await?;
    let version = row.version;
    Ok(resource_response(StatusCode::OK, &DefinitionOut::from(row), version, None))
}

/// Delete an attribute definition (admin); 409 while values are stored.
#[utoipa::path(
    delete, operation_id = "delete_attribute_definition", path = "/api/v1/attribute-definitions/{id}", tag = "attribute-definitions",
    params(
        ("id" = String, Path, description = "Definition id"),
        ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on; a stale one gives 412"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such definition", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Values of the attribute are stored", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    who: Allowed<AdminOnly>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (id.into_inner(), clock.now());
    db.write(move |c| service::delete(c, &Ctx { actor: &who.sub, now }, &id, &if_match)).await?;
    Ok(HttpResponse::NoContent().finish())
}
