//! What clients send to integration: the request types the services take, with their
//! checks. Their doc comments become the OpenAPI schema.

use crate::contracts::input::RenewalTerms;
use crate::contracts::model::Status as ContractStatus;
use crate::contracts::service_level::ServiceLevel;
use crate::error::ApiError;
use crate::installations::model::{Location, Status as InstallationStatus};
use crate::obligations::input::ObligationIn;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub fn check_ref(external_ref: &str) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    crate::http::check_text(&mut errors, "external_ref", external_ref, 200);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// An installation as an ERP pushes it, created or replaced as a whole.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallationDocument {
    /// Optional in a PUT (must match the path); required in import lines.
    pub external_ref: Option<String>,
    #[schema(example = "LIFT-000123", min_length = 1, max_length = 100, pattern = r"\S")]
    pub serial_number: String,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub name: String,
    #[schema(example = "lift", min_length = 1, max_length = 100, pattern = r"\S")]
    pub installation_type: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub customer_ref: String,
    pub location: Option<Location>,
    #[schema(pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub installed_at: Option<NaiveDate>,
    /// Absent: `active` on create, unchanged on replace.
    pub status: Option<InstallationStatus>,
    /// The full set of attribute values; keys not given are removed on replace.
    #[schema(value_type = Option<crate::http::openapi::AttributeValues>)]
    pub attributes: Option<Map<String, Value>>,
}

/// An installation a pushed contract covers.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoveredInstallation {
    #[schema(example = "LIFT-000123", min_length = 1, max_length = 100, pattern = r"\S")]
    pub serial_number: String,
    /// Used only when the installation is created (default: the serial number).
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub name: Option<String>,
    /// Needed when the installation is unknown and gets created.
    #[schema(example = "lift", min_length = 1, max_length = 100, pattern = r"\S")]
    pub installation_type: Option<String>,
    /// Used only when the installation is created (default: the contract's customer).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub customer_ref: Option<String>,
    /// Used only when the installation is created.
    pub location: Option<Location>,
    /// First covered day (default: the contract's start).
    #[schema(pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub valid_from: Option<NaiveDate>,
    /// Last covered day (default: the contract's end).
    #[schema(pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub valid_to: Option<NaiveDate>,
}

/// A whole signed contract as a CRM pushes it. Applied all or nothing; the same document
/// twice changes nothing. Omitted optional header fields are cleared on replace; omitted lists
/// (`children`, `installations`, `obligations`) leave what is stored alone.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractDocument {
    /// Optional in a PUT (the path names it; it must match); required for child contracts and
    /// import lines.
    #[schema(example = "CRM-2026-0042")]
    pub external_ref: Option<String>,
    /// Absent: generated on create, kept on replace.
    pub number: Option<String>,
    #[schema(example = "Lift maintenance Amsterdam office", min_length = 1, max_length = 500, pattern = r"\S")]
    pub title: String,
    #[schema(example = "maintenance", min_length = 1, max_length = 100, pattern = r"\S")]
    pub contract_type: String,
    #[schema(example = "CUST-1001", min_length = 1, max_length = 200, pattern = r"\S")]
    pub customer_ref: String,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub customer_name: Option<String>,
    /// On create the initial status (default `draft`); on replace `active` or `suspended`
    /// moves the contract there. Absent: unchanged.
    pub status: Option<ContractStatus>,
    #[schema(example = "2026-01-01", pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub start_date: NaiveDate,
    #[schema(minimum = 1, maximum = 1200)]
    pub term_months: Option<i32>,
    pub renewal: Option<RenewalTerms>,
    #[schema(pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub signed_at: Option<DateTime<Utc>>,
    /// The full set of attribute values; keys not given are removed on replace.
    #[schema(value_type = Option<crate::http::openapi::AttributeValues>)]
    pub attributes: Option<Map<String, Value>>,
    pub service_level: Option<ServiceLevel>,
    /// Child contracts (call-offs, schedules), each with its own `external_ref`; at most 5
    /// levels deep. Children not listed are left alone.
    #[schema(no_recursion)]
    pub children: Option<Vec<ContractDocument>>,
    /// Exactly the installations this contract covers: links not listed are removed.
    /// Installations are found by serial number and created when unknown.
    pub installations: Option<Vec<CoveredInstallation>>,
    /// Obligations, matched to the stored ones by title: new titles are added, known ones
    /// replaced. Obligations not listed are left alone.
    pub obligations: Option<Vec<ObligationIn>>,
}
