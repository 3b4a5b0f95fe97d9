//! What clients send to contracts: the request types the services take, with their
//! checks. Their doc comments become the OpenAPI schema.

use super::model::{Reminder, Status};
use super::service_level::ServiceLevel;
use crate::http::Patch;
use crate::tasks::model::Assignee;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use validator::Validate;

/// Termination details.
#[derive(Clone, Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct TerminateIn {
    /// Last day in force (default today); between the start and the current end date.
    #[schema(pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub effective_date: Option<NaiveDate>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// Renewal details.
#[derive(Clone, Debug, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RenewIn {
    /// Months to extend by; default: the renewal term, else the initial term.
    #[validate(range(min = 1, max = 1200))]
    #[schema(minimum = 1, maximum = 1200)]
    pub term_months: Option<i32>,
}

/// A merge patch of a contract: absent fields stay, `null` clears. The status changes only
/// through the lifecycle endpoints; attributes merge key by key (`null` removes a key).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractPatch {
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 64, pattern = r"\S")]
    pub number: Patch<String>,
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 500, pattern = r"\S")]
    pub title: Patch<String>,
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 100, pattern = r"\S")]
    pub contract_type: Patch<String>,
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"\S")]
    pub customer_ref: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 500, pattern = r"\S")]
    pub customer_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = NaiveDate, pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub start_date: Patch<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 1200)]
    pub term_months: Patch<i32>,
    pub renewal: Option<RenewalPatch>,
    #[serde(default)]
    #[schema(value_type = Option<DateTime<Utc>>, pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub signed_at: Patch<DateTime<Utc>>,
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"\S")]
    pub external_ref: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub parent_id: Patch<String>,
    #[schema(value_type = Option<crate::http::openapi::AttributeValues>)]
    pub attributes: Option<Map<String, Value>>,
    /// Replaces the contract's own service level as a whole; `null` removes it (the parent's
    /// then applies).
    #[serde(default)]
    #[schema(value_type = Option<ServiceLevel>)]
    pub service_level: Patch<ServiceLevel>,
    /// The contract's own owner; `null` removes it (the parent's then applies, also to the
    /// contracts below that inherit it).
    #[serde(default)]
    #[schema(value_type = Option<Assignee>)]
    pub owner: Patch<Assignee>,
    /// Replaces the contract's own reminders as a whole; `null` goes back to the defaults of
    /// its type.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Reminder>>, max_items = 10)]
    pub reminders: Patch<Vec<Reminder>>,
}

/// A new contract.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractIn {
    /// Unique contract number; absent: generated from CONTRACT_NUMBER_PATTERN.
    #[schema(example = "C-2026-000001", min_length = 1, max_length = 64, pattern = r"\S")]
    pub number: Option<String>,
    #[schema(example = "Lift maintenance Amsterdam office", min_length = 1, max_length = 500, pattern = r"\S")]
    pub title: String,
    /// Free contract type, e.g. `maintenance`, `lease`, `framework`; scopes attribute definitions.
    #[schema(example = "maintenance", min_length = 1, max_length = 100, pattern = r"\S")]
    pub contract_type: String,
    /// The customer's reference in the CRM.
    #[schema(example = "CUST-1001", min_length = 1, max_length = 200, pattern = r"\S")]
    pub customer_ref: String,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub customer_name: Option<String>,
    /// Initial status (default `draft`).
    pub status: Option<Status>,
    /// First day in force.
    #[schema(example = "2026-01-01", pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub start_date: NaiveDate,
    /// Initial term in months; absent: open-ended.
    #[schema(minimum = 1, maximum = 1200, example = 12)]
    pub term_months: Option<i32>,
    pub renewal: Option<RenewalTerms>,
    /// When the contract was signed.
    #[schema(pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub signed_at: Option<DateTime<Utc>>,
    /// Unique reference of the contract in the pushing system.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub external_ref: Option<String>,
    /// Parent contract (framework agreement, master contract).
    pub parent_id: Option<String>,
    /// Values of the attribute definitions for contracts of this type.
    #[schema(value_type = Option<crate::http::openapi::AttributeValues>, example = json!({"region": "north"}))]
    pub attributes: Option<Map<String, Value>>,
    /// Response and resolution times for service calls on what this contract covers; absent:
    /// the parent contract's applies.
    pub service_level: Option<ServiceLevel>,
    /// Who is responsible for the contract: a user or a role. Absent: the parent contract's
    /// owner (in force) applies. Its reminders go to the owner's worklist.
    pub owner: Option<Assignee>,
    /// The contract's own reminders, replacing the defaults of its type (`[]`: none). Absent:
    /// the defaults of its contract type (`CONTRACT_REMINDERS`).
    #[schema(max_items = 10)]
    pub reminders: Option<Vec<Reminder>>,
}

/// Renewal terms of a new contract.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewalTerms {
    /// Renew by itself when the end date passes without termination (tacit renewal).
    #[serde(default)]
    pub auto_renew: bool,
    /// Months added by each renewal; absent: the initial term.
    #[schema(minimum = 1, maximum = 1200, example = 12)]
    pub term_months: Option<i32>,
    /// Notice period before the end date, ISO 8601 (`P3M`, `P30D`, `P1Y`).
    #[schema(example = "P3M")]
    pub notice_period: Option<String>,
}

/// Merge patch of the renewal terms.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewalPatch {
    pub auto_renew: Option<bool>,
    #[serde(default)]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 1200)]
    pub term_months: Patch<i32>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notice_period: Patch<String>,
}
