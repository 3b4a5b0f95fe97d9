//! Machine pushes from CRM and ERP systems: upserts of whole documents by external reference
//! and streamed NDJSON bulk imports. (Idempotency-Key handling for every POST lives in
//! `crate::idempotency`.)

pub mod api;
pub mod document;
pub mod import;
pub mod input;
pub mod model;
pub mod service;

use crate::http::routing::Endpoints;

/// The feature's endpoints, each handler once: its route and its OpenAPI operation.
pub fn endpoints(e: &mut Endpoints) {
    e.add(api::__path_put_contract, api::put_contract)
        .add(api::__path_put_installation, api::put_installation)
        .add(api::__path_import_contracts, api::import_contracts)
        .add(api::__path_import_installations, api::import_installations);
}
