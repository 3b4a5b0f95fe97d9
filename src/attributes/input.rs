//! What clients send to `/api/v1/attribute-definitions`, with the checks of its shape.

use super::model::{DataType, EntityKind};
use crate::error::FieldError;
use crate::http::Patch;
use serde::Deserialize;
use utoipa::ToSchema;

/// A new attribute definition.
#[derive(Clone, Debug, Deserialize, ToSchema)]
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
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
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

/// Adds an error for each problem of an attribute's options: an `enum` needs at least one,
/// each 1 to 200 characters and none twice; other types have none.
pub fn check_options(errors: &mut Vec<FieldError>, data_type: DataType, options: Option<&Vec<String>>) {
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
