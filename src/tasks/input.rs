//! What clients send to tasks: the request types the services take, with their
//! checks. Their doc comments become the OpenAPI schema.

use super::model::Assignee;
use crate::http::Patch;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

/// A change to a task by hand: reassign, reschedule, notes.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    #[serde(default)]
    #[schema(value_type = Assignee)]
    pub assignee: Patch<Assignee>,
    #[serde(default)]
    #[schema(value_type = NaiveDate, pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub due_date: Patch<NaiveDate>,
    /// `null` clears the notes.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
}

/// The note that goes with completing (the result), skipping or cancelling (the reason).
#[derive(Clone, Debug, Default, Deserialize, ToSchema, validator::Validate)]
#[serde(deny_unknown_fields)]
pub struct ActIn {
    /// The result (completing) or the reason (skipping, cancelling).
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    pub note: Option<String>,
    /// Workflow steps only, when completing: the step's outcome, which chooses the next step
    /// (required when the step lists outcomes; 422 when it is not one of them).
    #[validate(length(max = 100))]
    #[schema(max_length = 100, example = "reached")]
    pub outcome: Option<String>,
}
