//! Handlers and request/response types for `/api/v1/attribute-definitions`.

use super::model::{self, DataType, EntityKind};
use super::service::{self, rule_of, snapshot, AttributeHooks};
use super::store::{self, DefinitionRow};
use crate::auth::Principal;
use crate::auth::{AdminOnly, Allowed};
use crate::clock::{as_utc, Clock};
use crate::db::{Db, DbConnection};
use crate::events::{model::diff, store as events, Ctx};
use crate::http::etag::resource_response;
use crate::http::pagination::PageRequest;
use crate::http::{check_text, ApiError, ApiJson, FieldError, IfMatch, Page, Patch, Problem, QueryPairs};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::ENTITY;

/// A new attribute definition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefinitionIn {
    /// Which kind of resource carries the attribute.
    pub entity_kind: EntityKind,
    /// Limit the attribute to one contract type, installation type or dossier type.
    /// Absent: it applies to every resource of the kind.
    #[schema(example = "maintenance", min_length = 1, max_length = 100, pattern = r"\S")]
    pub scope: Option<String>,
    /// snake_case key, unique per kind and scope; immutable.
    #[schema(example = "region", pattern = "^[a-z][a-z0-9_]{0,62}$")]
    pub key: String,
    /// Display label.
    #[schema(example = "Sales region", min_length = 1, max_length = 200, pattern = r"\S")]
    pub label: String,
    pub data_type: DataType,
    /// Whether every resource in scope must have a value.
    #[serde(default)]
    pub required: bool,
    /// The allowed values of an `enum` attribute (required for `enum`, refused otherwise): at
    /// least one, each 1 to 200 characters, no repeats.
    #[schema(value_type = Option<std::collections::BTreeSet<AttributeOption>>, min_items = 1)]
    pub options: Option<Vec<String>>,
    /// What the attribute means.
    pub description: Option<String>,
}

/// A merge patch of a definition. `entity_kind`, `scope` and `key` cannot change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefinitionPatch {
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"\S")]
    pub label: Patch<String>,
    /// `null` clears the description.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    /// Making an attribute required fails with 409 while resources in scope lack a value.
    #[serde(default)]
    #[schema(value_type = bool)]
    pub required: Patch<bool>,
    /// Changing the type fails with 409 while values are stored.
    #[serde(default)]
    #[schema(value_type = DataType)]
    pub data_type: Patch<DataType>,
    /// New options of an `enum`, as in `DefinitionIn`; removing an option still in use fails with 409.
    #[serde(default)]
    #[schema(value_type = Option<std::collections::BTreeSet<AttributeOption>>, min_items = 1)]
    pub options: Patch<Vec<String>>,
}

/// One allowed value of an `enum` attribute: 1 to 200 characters.
pub struct AttributeOption;

impl utoipa::PartialSchema for AttributeOption {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(200))
            .into()
    }
}

impl utoipa::ToSchema for AttributeOption {
    fn name() -> std::borrow::Cow<'static, str> {
        "AttributeOption".into()
    }
}

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
            entity_kind: EntityKind::parse(&r.entity_kind).unwrap_or(EntityKind::Contract),
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

fn check_options(errors: &mut Vec<FieldError>, data_type: DataType, options: Option<&Vec<String>>) {
    match (data_type, options) {
        (DataType::Enum, None) => errors.push(FieldError::new("options", "required", "an enum needs its options")),
        (DataType::Enum, Some(opts)) => {
            if opts.is_empty() {
                errors.push(FieldError::new("options", "required", "an enum needs at least one option"));
            }
            let mut seen = std::collections::HashSet::new();
            for (i, o) in opts.iter().enumerate() {
                if o.is_empty() || o.chars().count() > 200 {
                    errors.push(FieldError::new(
                        format!("options[{i}]"),
                        "invalid_value",
                        "options are 1 to 200 characters",
                    ));
                } else if !seen.insert(o) {
                    errors.push(FieldError::new(
                        format!("options[{i}]"),
                        "duplicate",
                        format!("{o:?} is listed twice"),
                    ));
                }
            }
        }
        (_, Some(_)) => errors.push(FieldError::new("options", "not_allowed", "only enum attributes have options")),
        (_, None) => {}
    }
}

fn load(conn: &mut DbConnection, id: &str) -> Result<DefinitionRow, ApiError> {
    store::get(conn, id)?.ok_or_else(|| ApiError::not_found(format!("attribute definition {id} does not exist")))
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
    let input = body.into_inner();
    let mut errors = Vec::new();
    if !model::valid_key(&input.key) {
        errors.push(FieldError::new(
            "key",
            "invalid_key",
            "use snake_case: a lowercase letter, then letters, digits or _ (at most 63)",
        ));
    }
    check_text(&mut errors, "label", &input.label, 200);
    if let Some(s) = &input.scope {
        check_text(&mut errors, "scope", s, 100);
    }
    check_options(&mut errors, input.data_type, input.options.as_ref());
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = clock.now().naive_utc();
    let row = DefinitionRow {
        id: uuid::Uuid::now_v7().to_string(),
        entity_kind: input.entity_kind.as_str().into(),
        scope: input.scope.unwrap_or_default(),
        key: input.key,
        label: input.label,
        data_type: input.data_type.as_str().into(),
        required: input.required,
        options: input.options.map(|o| serde_json::to_string(&o).unwrap_or_default()),
        description: input.description,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let (kind, hooks) = (input.entity_kind, **hooks);
    let row =
        db.write(move |c| service::define(c, &Ctx { actor: &who.sub, now: as_utc(now) }, row, kind, &hooks)).await?;
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
    let row = db.read(move |c| load(c, &id)).await?;
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
    let id = id.into_inner();
    let patch = body.into_inner();
    let now = clock.now().naive_utc();
    let row = db
        .write(move |c| {
            let old = load(c, &id)?;
            if_match.check(old.version)?;
            let kind = EntityKind::parse(&old.entity_kind).unwrap_or(EntityKind::Contract);
            let old_rule = rule_of(&old);
            let mut new = old.clone();
            let mut errors = Vec::new();
            match patch.label.require("label", new.label.clone()) {
                Ok(label) => {
                    check_text(&mut errors, "label", &label, 200);
                    new.label = label;
                }
                Err(e) => errors.push(e),
            }
            new.description = patch.description.apply_to(new.description);
            let data_type = patch.data_type.require("data_type", old_rule.data_type).unwrap_or_else(|e| {
                errors.push(e);
                old_rule.data_type
            });
            new.data_type = data_type.as_str().into();
            let options = match patch.options {
                Patch::Absent if data_type == DataType::Enum => Some(old_rule.options.clone()),
                Patch::Absent => None,
                p => p.apply_to(None),
            };
            check_options(&mut errors, data_type, options.as_ref());
            new.options = options.as_ref().map(|o| serde_json::to_string(o).unwrap_or_default());
            match patch.required.require("required", old.required) {
                Ok(r) => new.required = r,
                Err(e) => errors.push(e),
            }
            if !errors.is_empty() {
                return Err(ApiError::validation(errors));
            }
            if data_type != old_rule.data_type {
                if let Some(other) = store::by_key(c, kind, &old.key)?.into_iter().find(|o| o.id != old.id) {
                    return Err(ApiError::conflict(
                        "attribute_key_conflict",
                        format!(
                            "`{}` is also defined for `{}` (definition {}); one key keeps one type",
                            old.key, other.scope, other.id
                        ),
                    ));
                }
                let n = store::values_in_use(c, kind, &old.scope, &old.key)?;
                if n > 0 {
                    return Err(ApiError::conflict(
                        "attribute_in_use",
                        format!("the type of `{}` cannot change while {n} resources hold a value", old.key),
                    ));
                }
            } else if data_type == DataType::Enum {
                let kept = options.clone().unwrap_or_default();
                let mut in_use: Vec<String> = store::distinct_values(c, kind, &old.scope, &old.key)?
                    .into_iter()
                    .filter(|v| !kept.contains(v))
                    .collect();
                in_use.sort();
                if !in_use.is_empty() {
                    return Err(ApiError::conflict(
                        "attribute_in_use",
                        format!("options still in use cannot be removed: {}", in_use.join(", ")),
                    ));
                }
            }
            if new.required && !old.required {
                let n = store::entities_missing(c, kind, &old.scope, &old.key)?;
                if n > 0 {
                    return Err(ApiError::conflict(
                        "attribute_values_missing",
                        format!("`{}` cannot become required: {n} resources in scope have no value", old.key),
                    ));
                }
            }
            let changes = diff(&snapshot(&old), &snapshot(&new));
            if changes.is_empty() {
                return Ok(old);
            }
            new.version = old.version + 1;
            new.updated_at = now;
            if !store::update(c, &new, old.version)? {
                return Err(ApiError::conflict("concurrent_update", "the definition changed meanwhile; retry"));
            }
            let ctx = Ctx { actor: &who.sub, now: as_utc(now) };
            events::record(c, &ctx, ENTITY, &new.id, "updated", &snapshot(&old), &snapshot(&new))?;
            Ok(new)
        })
        .await?;
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
    let id = id.into_inner();
    let now = clock.now().naive_utc();
    db.write(move |c| {
        let old = load(c, &id)?;
        if_match.check(old.version)?;
        let kind = EntityKind::parse(&old.entity_kind).unwrap_or(EntityKind::Contract);
        let n = store::values_in_use(c, kind, &old.scope, &old.key)?;
        if n > 0 {
            return Err(ApiError::conflict(
                "attribute_in_use",
                format!("`{}` cannot be deleted while {n} resources hold a value", old.key),
            ));
        }
        store::delete(c, &id)?;
        let ctx = Ctx { actor: &who.sub, now: as_utc(now) };
        events::record(c, &ctx, ENTITY, &id, "deleted", &snapshot(&old), &serde_json::Value::Null)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
