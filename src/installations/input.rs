//! What clients send to installations: the request types the services take, with their
//! checks. Their doc comments become the OpenAPI schema.

use super::model::{Location, Status};
use crate::http::Patch;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A merge patch of an installation: absent fields stay, `null` clears; `location` and
/// `attributes` merge key by key.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallationPatch {
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 100, pattern = r"\S")]
    pub serial_number: Patch<String>,
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 500, pattern = r"\S")]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 100, pattern = r"\S")]
    pub installation_type: Patch<String>,
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"\S")]
    pub customer_ref: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Location>)]
    pub location: Patch<Map<String, Value>>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>, pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub installed_at: Patch<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Status)]
    pub status: Patch<Status>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub parent_id: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"\S")]
    pub external_ref: Patch<String>,
    #[schema(value_type = Option<crate::http::openapi::AttributeValues>)]
    pub attributes: Option<Map<String, Value>>,
}

/// A new installation.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallationIn {
    /// Unique serial number.
    #[schema(example = "LIFT-000123", min_length = 1, max_length = 100, pattern = r"\S")]
    pub serial_number: String,
    #[schema(example = "Passenger lift, main entrance", min_length = 1, max_length = 500, pattern = r"\S")]
    pub name: String,
    /// Free type, e.g. `lift`, `boiler`; scopes attribute definitions.
    #[schema(example = "lift", min_length = 1, max_length = 100, pattern = r"\S")]
    pub installation_type: String,
    #[schema(example = "CUST-1001", min_length = 1, max_length = 200, pattern = r"\S")]
    pub customer_ref: String,
    pub location: Option<Location>,
    /// Day the installation was delivered.
    #[schema(pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub installed_at: Option<NaiveDate>,
    /// Default `active`.
    pub status: Option<Status>,
    /// The installation this one is a component of.
    pub parent_id: Option<String>,
    /// Unique reference in the pushing system.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub external_ref: Option<String>,
    #[schema(value_type = Option<crate::http::openapi::AttributeValues>)]
    pub attributes: Option<Map<String, Value>>,
}

/// A change of a coverage period.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoveragePatch {
    #[serde(default)]
    #[schema(value_type = NaiveDate, pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub valid_from: Patch<NaiveDate>,
    /// `null`: open-ended (only for an open-ended contract).
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>, pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub valid_to: Patch<NaiveDate>,
}

/// One installation to cover: by id or by serial number, for a period (default: the
/// contract's own period).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverageItem {
    pub installation_id: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub serial_number: Option<String>,
    /// First covered day; default the contract's start date.
    #[schema(pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub valid_from: Option<NaiveDate>,
    /// Last covered day; default the contract's end date (open-ended if it has none).
    #[schema(pattern = "^(19|2[0-9])[0-9]{2}-")]
    pub valid_to: Option<NaiveDate>,
}
