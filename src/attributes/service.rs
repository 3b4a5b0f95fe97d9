//! Attribute use cases other features call inside their transactions: validating an entity's
//! attributes and resolving `attr.*` list filters.

use super::model::{self, AttrFilter, DataType, EntityKind, Rule};
use super::store::{self, DefinitionRow};
use crate::db::DbConnection;
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
