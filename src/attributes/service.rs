//! Attribute use cases other features call inside their transactions: validating an entity's
//! attributes and resolving `attr.*` list filters.

use super::model::{self, AttrFilter, DataType, EntityKind, Rule};
use super::store::{self, DefinitionRow};
use crate::clock::as_utc;
use crate::db::DbConnection;
use crate::events::{store as events, Ctx};
use crate::http::ApiError;
use serde_json::{Map, Value};

pub fn rule_of(row: &DefinitionRow) -> Rule {
    Rule {
        key: row.key.clone(),
        data_type: DataType::parse(&row.data_type).unwrap_or(DataType::Text),
        required: row.required,
        options: row.options.as_deref().and_then(|o| serde_json::from_str(o).ok()).unwrap_or_default(),
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
        "entity_kind": EntityKind::parse(&r.entity_kind).unwrap_or(EntityKind::Contract),
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
    if kind == EntityKind::Dossier {
        for (type_key, data_type) in (hooks.dossier_schema_keys)(conn, &row.key)? {
            if data_type.as_str() != row.data_type || row.scope.is_empty() || row.scope == type_key {
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
                        row.key, other.data_type, other.scope, other.id, row.key
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
