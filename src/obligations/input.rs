//! What clients send to obligations: the request types the services take, with their
//! checks. Their doc comments become the OpenAPI schema.

use super::model::Scope;
use crate::http::Patch;
use crate::tasks::model::Assignee;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A recurring schedule.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleIn {
    /// An RFC 5545 recurrence rule without DTSTART, e.g. `FREQ=MONTHLY;INTERVAL=6` or
    /// `FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1`. Months without the anchor's day are skipped, as
    /// RFC 5545 says; use `BYMONTHDAY=-1` for the last day of every month.
    #[schema(example = "FREQ=MONTHLY;INTERVAL=6")]
    pub rrule: String,
    /// Days the rule skips.
    #[serde(default)]
    pub exdates: Vec<NaiveDate>,
    /// The first occurrence the rule counts from; default the contract's start date.
    #[schema(pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub anchor_date: Option<NaiveDate>,
}

/// A merge patch of an obligation; `schedule` is replaced as a whole. Open tasks that were not
/// changed by hand follow the change; done, in-progress and hand-edited tasks stay.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObligationPatch {
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 500, pattern = r"\S")]
    pub title: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 100, pattern = r"\S")]
    pub kind: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Assignee)]
    pub assignee: Patch<Assignee>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>, pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub due_date: Patch<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<ScheduleIn>)]
    pub schedule: Patch<ScheduleIn>,
    #[serde(default)]
    #[schema(value_type = i32, minimum = 0, maximum = 366)]
    pub lead_days: Patch<i32>,
    #[serde(default)]
    #[schema(value_type = Scope)]
    pub scope: Patch<Scope>,
    #[serde(default)]
    #[schema(value_type = i32, minimum = 1, maximum = 60)]
    pub horizon_months: Patch<i32>,
}

/// A new obligation: a one-off `due_date` or a recurring `schedule`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObligationIn {
    #[schema(example = "Preventive maintenance", min_length = 1, max_length = 500, pattern = r"\S")]
    pub title: String,
    pub description: Option<String>,
    /// Free text, e.g. `preventive_maintenance`, `inspection`, `report`.
    #[schema(example = "preventive_maintenance", min_length = 1, max_length = 100, pattern = r"\S")]
    pub kind: String,
    /// Who is responsible for the tasks.
    pub assignee: Assignee,
    /// The one day a one-off obligation falls on.
    #[schema(pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub due_date: Option<NaiveDate>,
    pub schedule: Option<ScheduleIn>,
    /// Days before each occurrence its task is due (default 0, at most 366).
    #[schema(minimum = 0, maximum = 366)]
    pub lead_days: Option<i32>,
    /// One task per occurrence for the contract, or for each covered installation (default `contract`).
    pub scope: Option<Scope>,
    /// How far ahead tasks are generated, in months (default 12, at most 60).
    #[schema(minimum = 1, maximum = 60)]
    pub horizon_months: Option<i32>,
}
