//! What clients send to service calls: the request types the services take, with their
//! checks. Their doc comments become the OpenAPI schema.

use super::model::{Channel, Priority};
use crate::tasks::model::Assignee;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new service call. Name the installation by `installation_id` or by `serial_number`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceCallIn {
    /// The installation the call is about; or give `serial_number`.
    pub installation_id: Option<String>,
    /// The serial number of the installation; or give `installation_id`.
    #[schema(example = "LIFT-0042")]
    pub serial_number: Option<String>,
    /// When the customer reported the problem (default now); not in the future. Entitlement
    /// is checked on this (UTC) day and the SLA clocks start here.
    #[schema(pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub reported_at: Option<DateTime<Utc>>,
    /// Default `normal`.
    pub priority: Option<Priority>,
    /// Short summary (at most 200 characters); default: the description's first line.
    #[schema(example = "Lift stuck between floors", max_length = 200)]
    pub title: Option<String>,
    /// What the customer reports.
    #[schema(example = "Lift stuck between floors 3 and 4, nobody inside.", max_length = 10000)]
    pub description: String,
    pub reporter: Option<Reporter>,
    /// How the call came in (default `other`).
    pub channel: Option<Channel>,
    /// Unique reference of the call in the reporting system.
    #[schema(max_length = 200)]
    pub external_ref: Option<String>,
}

/// One service action: a task in the worklist.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionIn {
    /// Default: the call's number and title.
    #[schema(example = "Replace door sensor", max_length = 500)]
    pub title: Option<String>,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// Who does it.
    pub assignee: Assignee,
    /// The day it is planned for (the task's due date).
    #[schema(example = "2026-06-16", pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub planned_date: NaiveDate,
}

/// Who reported the call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reporter {
    #[schema(example = "Jan de Vries", max_length = 200)]
    pub name: Option<String>,
    /// Read back only by admin, viewer, service_agent and integration; `null` for others.
    #[schema(example = "+31 20 123 4567", max_length = 200)]
    pub phone: Option<String>,
    /// Read back only by admin, viewer, service_agent and integration; `null` for others.
    #[schema(example = "jan@example.com", max_length = 200)]
    pub email: Option<String>,
}
