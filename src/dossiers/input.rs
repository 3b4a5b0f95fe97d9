//! What clients send to dossiers: the request types the services take, with their
//! checks. Their doc comments become the OpenAPI schema.

use super::model::{AttributeDef, RuleDef};
use crate::http::Patch;
use crate::tasks::model::Assignee;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A named business event to post on a dossier.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    /// The event's name; rules with an `event_posted` trigger of this name fire.
    #[serde(rename = "type")]
    #[schema(example = "moved")]
    pub event_type: String,
    /// A JSON object with what goes with it (default `{}`), at most 32 KiB as JSON
    /// (`EVENT_DATA_MAX_BYTES`).
    #[schema(value_type = Option<crate::http::openapi::JsonObject>)]
    pub data: Option<Map<String, Value>>,
    /// Optional idempotency key: posting the same key again on the dossier returns the first
    /// post (200) and fires nothing again.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub key: Option<String>,
}

/// A change of a dossier type (merge patch; `attributes` and `rules` are replaced as a whole).
/// Any change makes a new version; existing dossiers keep theirs until moved with `type_version`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DossierTypePatch {
    /// New display name.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Patch<String>,
    /// New description; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    /// The new attribute schema; `null` empties it.
    #[serde(default)]
    #[schema(value_type = Option<Vec<AttributeDef>>)]
    pub attributes: Patch<Vec<AttributeDef>>,
    /// The new default owner; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<Assignee>)]
    pub default_owner: Patch<Assignee>,
    /// The new rules; `null` removes them all.
    #[serde(default)]
    #[schema(value_type = Option<Vec<RuleDef>>)]
    pub rules: Patch<Vec<RuleDef>>,
}

/// A new dossier type (version 1).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DossierTypeIn {
    /// snake_case key, unique; dossiers name their type by it.
    #[schema(example = "mortgage", pattern = "^[a-z][a-z0-9_]{0,62}$")]
    pub key: String,
    /// Display name.
    #[schema(example = "Mortgage", min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// What the type is for.
    pub description: Option<String>,
    /// The attribute schema: the attributes dossiers of this type carry.
    #[serde(default)]
    pub attributes: Vec<AttributeDef>,
    /// The owner new dossiers get when none is given: a person or a department.
    pub default_owner: Option<Assignee>,
    /// What to do when something happens on a dossier of this type.
    #[serde(default)]
    pub rules: Vec<RuleDef>,
}

/// A merge patch of a dossier. `attributes` is merged key by key (`null` removes a key).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DossierPatch {
    /// New customer reference.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 100, pattern = r"\S")]
    pub customer_ref: Patch<String>,
    /// New contract; `null` unlinks it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub contract_id: Patch<String>,
    /// New owner.
    #[serde(default)]
    #[schema(value_type = Assignee)]
    pub owner: Patch<Assignee>,
    /// Attribute changes; changes fire the type version's attribute rules.
    #[schema(value_type = Option<crate::http::openapi::AttributeValues>)]
    pub attributes: Option<Map<String, Value>>,
    /// Move the dossier to another version of its type (its attributes are validated against it).
    #[serde(default)]
    #[schema(value_type = i64, minimum = 1)]
    pub type_version: Patch<i64>,
}

/// A new dossier.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DossierIn {
    /// The dossier type's key; the dossier gets its current version.
    #[serde(rename = "type")]
    #[schema(example = "mortgage")]
    pub dossier_type: String,
    /// The customer the dossier is about.
    #[schema(example = "CUST-1", min_length = 1, max_length = 100, pattern = r"\S")]
    pub customer_ref: String,
    /// The contract the dossier belongs to.
    pub contract_id: Option<String>,
    /// A person or department; default the type's default owner.
    pub owner: Option<Assignee>,
    /// Values validated against the type version's schema (and global dossier attribute definitions).
    #[schema(value_type = Option<crate::http::openapi::AttributeValues>)]
    pub attributes: Option<Map<String, Value>>,
}
