//! Attribute use cases: defining, changing and deleting attribute definitions, and what other
//! features call inside their transactions (validating an entity's attributes, resolving
//! `attr.*` list filters).

use super::input::{check_options, DefinitionIn, DefinitionPatch};
use super::model::{self, AttrFilter, DataType, EntityKind, Rule};
use super::store::{self, DefinitionRow};
use crate::clock::as_utc;
use crate::db::{DbConnection, Expected, Hold};
use crate::error::{check_text, ApiError, FieldError};
use crate::events::model::diff;
use crate::events::{store as events, Ctx};
use crate::http::Patch;
use serde_json::{Map, Value};

pub fn rule_of(row: &DefinitionRow) -> Rule {
    Rule {
        key: row.key.clone(),
        data_type: row.data_type,
        required: row.required,
        options: row.options.as_deref().cloned().unwrap_or_default(),
    }
}

/// Validates `attrs` against the definitions in force for an entity of `kind` and type
/// `scope_type`; returns the canonical attributes and their index rows, or a 422.
pub fn validate(
    conn: &mut DbConnection,
    kind: EntityKind,
    scope_type: &str,
    attrs: &Map<String, Value>,
) -> Result<model::Validated, ApiError> {
    model::validate(attrs, &rules_in_force(conn, kind, scope_type)?).map_err(ApiError::validation)
}

/// The rules of the definitions in force for an entity of `kind` and type `scope_type`.
pub fn rules_in_force(conn: &mut DbConnection, kind: EntityKind, scope_type: &str) -> Result<Vec<Rule>, ApiError> {
    Ok(store::in_force(conn, kind, scope_type)?.iter().map(rule_of).collect())
}

/// Turns `attr.<key>[.gte|.lte]=value` query parameters into typed filters (400 when the key is
/// not defined for `kind` or the value does not fit its type).
pub fn resolve_filters(
    conn: &mut DbConnection,
    kind: EntityKind,
    raw: &[(String, String)],
) -> Result<Vec<AttrFilter>, ApiError> {
    let mut filters = Vec::with_capacity(raw.len());
    for (name, value) in raw {
        let bad = |m: String| ApiError::bad_request("invalid_attribute_filter", format!("attr.{name}: {m}"));
        let (key, op) = model::split_filter_name(name).map_err(bad)?;
        let defs = store::by_key(conn, kind, key)?;
        let def = defs.first().ok_or_else(|| bad(format!("no attribute `{key}` is defined for {}s", kind.as_str())))?;
        filters.push(model::parse_filter(&rule_of(def), op, value).map_err(bad)?);
    }
    Ok(filters)
}

/// The entity type of attribute definitions in the event log.
pub const ENTITY: &str = "attribute_definition";

/// The JSON form of a definition in its events (the fields of the API's `DefinitionOut`).
pub fn snapshot(r: &DefinitionRow) -> Value {
    let rule = rule_of(r);
    serde_json::json!({
        "id": r.id,
        "entity_kind": r.entity_kind,
        "scope": Some(&r.scope).filter(|s| !s.is_empty()),
        "key": r.key,
        "label": r.label,
        "data_type": rule.data_type,
        "required": r.required,
        "options": r.options.as_ref().map(|_| &rule.options),
        "description": r.description,
        "version": r.version,
        "created_at": as_utc(r.created_at),
        "updated_at": as_utc(r.updated_at),
    })
}

/// Which dossier types' current schemas hold an attribute key, and as which type.
pub type SchemaKeyTypes = fn(&mut DbConnection, &str) -> Result<Vec<(String, DataType)>, ApiError>;

/// What the features built on attributes answer about them. `startup` registers them:
/// attributes know no feature above them.
#[derive(Clone, Copy)]
pub struct AttributeHooks {
    pub dossier_schema_keys: SchemaKeyTypes,
}

/// Records a new definition with its `created` event. 409 when its key already means another
/// type or is defined for an overlapping scope (dossier type schemas included), or when it is
/// required while resources in its scope lack it.
pub fn define(
    conn: &mut DbConnection,
    ctx: &Ctx,
    row: DefinitionRow,
    kind: EntityKind,
    hooks: &AttributeHooks,
) -> Result<DefinitionRow, ApiError> {
    store::hold_definitions(conn, kind, Hold::Update)?;
    if kind == EntityKind::Dossier {
        for (type_key, data_type) in (hooks.dossier_schema_keys)(conn, &row.key)? {
            if data_type != row.data_type || row.scope.is_empty() || row.scope == type_key {
                return Err(ApiError::conflict(
                        "attribute_key_conflict",
                        format!(
                            "`{}` is already in the schema of dossier type `{type_key}` as {}; one key keeps one type and one definition",
                            row.key,
                            data_type.as_str()
                        ),
                    ));
            }
        }
    }
    for other in store::by_key(conn, kind, &row.key)? {
        if other.data_type != row.data_type {
            return Err(ApiError::conflict(
                    "attribute_key_conflict",
                    format!(
                        "`{}` is already defined as {} for `{}` (definition {}); one key has one type, so `attr.{}` filters mean one thing",
                        row.key, other.data_type.as_str(), other.scope, other.id, row.key
                    ),
                ));
        }
        if other.scope.is_empty() || row.scope.is_empty() || other.scope == row.scope {
            let where_ =
                if other.scope.is_empty() { "for all types".to_string() } else { format!("for `{}`", other.scope) };
            return Err(ApiError::conflict(
                "attribute_key_conflict",
                format!("`{}` is already defined for {}s {where_} (definition {})", row.key, kind.as_str(), other.id),
            ));
        }
    }
    if row.required && store::entities_missing(conn, kind, &row.scope, &row.key)? > 0 {
        return Err(ApiError::conflict(
                "attribute_values_missing",
                "a required attribute cannot be added while resources in its scope exist without it; add it as optional, fill it in, then make it required",
            ));
    }
    store::insert(conn, &row)?;
    events::record(conn, ctx, ENTITY, &row.id, "created", &serde_json::Value::Null, &snapshot(&row))?;
    Ok(row)
}

pub fn load(conn: &mut DbConnection, id: &str) -> Result<DefinitionRow, ApiError> {
    store::get(conn, id)?.ok_or_else(|| ApiError::not_found(format!("attribute definition {id} does not exist")))
}

/// Defines a new attribute from what a client sent: checks it, then [`define`]s it.
pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    input: DefinitionIn,
    hooks: &AttributeHooks,
) -> Result<DefinitionRow, ApiError> {
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
    let now = ctx.now.naive_utc();
    let kind = input.entity_kind;
    let row = DefinitionRow {
        id: uuid::Uuid::now_v7().to_string(),
        entity_kind: input.entity_kind,
        scope: input.scope.unwrap_or_default(),
        key: input.key,
        label: input.label,
        data_type: input.data_type,
        required: input.required,
        options: input.options.map(crate::db::column::Json::new),
        description: input.description,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    define(conn, ctx, row, kind, hooks)
}

/// Changes a definition by a merge patch. A change of type is refused while values are stored
/// or another scope defines the key; removing an option still in use and making an attribute
/// required while resources lack a value are refused too. No change, no new version.
pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    patch: DefinitionPatch,
    expected: &Expected,
) -> Result<DefinitionRow, ApiError> {
    Hold::Update.row(conn, "attribute_definitions", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    let kind = old.entity_kind;
    store::hold_definitions(conn, kind, Hold::Update)?;
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
    new.data_type = data_type;
    let options = match patch.options {
        Patch::Absent if data_type == DataType::Enum => Some(old_rule.options.clone()),
        Patch::Absent => None,
        p => p.apply_to(None),
    };
    check_options(&mut errors, data_type, options.as_ref());
    new.options = options.clone().map(crate::db::column::Json::new);
    match patch.required.require("required", old.required) {
        Ok(r) => new.required = r,
        Err(e) => errors.push(e),
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if data_type != old_rule.data_type {
        if let Some(other) = store::by_key(conn, kind, &old.key)?.into_iter().find(|o| o.id != old.id) {
            return Err(ApiError::conflict(
                "attribute_key_conflict",
                format!(
                    "`{}` is also defined for `{}` (definition {}); one key keeps one type",
                    old.key, other.scope, other.id
                ),
            ));
        }
        let n = store::values_in_use(conn, kind, &old.scope, &old.key)?;
        if n > 0 {
            return Err(ApiError::conflict(
                "attribute_in_use",
                format!("the type of `{}` cannot change while {n} resources hold a value", old.key),
            ));
        }
    } else if data_type == DataType::Enum {
        let kept = options.clone().unwrap_or_default();
        let mut in_use: Vec<String> = store::distinct_values(conn, kind, &old.scope, &old.key)?
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
        let n = store::entities_missing(conn, kind, &old.scope, &old.key)?;
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
    new.updated_at = ctx.now.naive_utc();
    if !store::update(conn, &new, old.version)? {
        return Err(ApiError::conflict("concurrent_update", "the definition changed meanwhile; retry"));
    }
    events::record(conn, ctx, ENTITY, &new.id, "updated", &snapshot(&old), &snapshot(&new))?;
    Ok(new)
}

/// Deletes a definition; refused while values of it are stored.
pub fn delete(conn: &mut DbConnection, ctx: &Ctx, id: &str, expected: &Expected) -> Result<(), ApiError> {
    Hold::Update.row(conn, "attribute_definitions", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    let kind = old.entity_kind;
    store::hold_definitions(conn, kind, Hold::Update)?;
    let n = store::values_in_use(conn, kind, &old.scope, &old.key)?;
    if n > 0 {
        return Err(ApiError::conflict(
            "attribute_in_use",
            format!("`{}` cannot be deleted while {n} resources hold a value", old.key),
        ));
    }
    store::delete(conn, id)?;
    events::record(conn, ctx, ENTITY, id, "deleted", &snapshot(&old), &serde_json::Value::Null)?;
    Ok(())
}
