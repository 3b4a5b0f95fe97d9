//! What clients send to workflows: the request types the services take, with their
//! checks. Their doc comments become the OpenAPI schema.

use super::model::Step;
use crate::http::Patch;
use serde::Deserialize;
use utoipa::ToSchema;

/// A change of a definition (merge patch; `steps` is replaced as a whole). Any change makes a
/// new version; running instances keep the version they started with.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowPatch {
    /// New display name.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Patch<String>,
    /// New description; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    /// The new list of steps.
    #[serde(default)]
    #[schema(value_type = Vec<Step>, min_items = 1)]
    pub steps: Patch<Vec<Step>>,
}

/// A new workflow definition.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowIn {
    /// snake_case key, unique; rules name the workflow by it.
    #[schema(example = "relocation", pattern = "^[a-z][a-z0-9_]{0,62}$")]
    pub key: String,
    /// Display name; also the first part of each step task's title.
    #[schema(example = "Relocation", min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// What the workflow is for.
    pub description: Option<String>,
    /// The steps; the first one starts the workflow.
    #[schema(min_items = 1)]
    pub steps: Vec<Step>,
}
