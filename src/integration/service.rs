//! Pushes from CRM and ERP systems: a whole signed contract (header, attributes, service level,
//! child contracts, covered installations, obligations) or an installation, created or
//! replaced by its external reference. Each runs inside the caller's transaction, so a
//! document is applied all or nothing; applying the same document again changes nothing.

use super::document::{self, opt};
use super::input::{ContractDocument, CoveredInstallation, InstallationDocument};
use super::model::Outcome;
use crate::contracts::service as contracts;
use crate::contracts::store::{self as contract_store, ContractRow};
use crate::db::Expected;
use crate::db::{DbConnection, Hold};
use crate::error::{ApiError, FieldError};
use crate::events::{store as events, Ctx};
use crate::flows;
use crate::http::Patch;
use crate::installations::input::{CoverageItem, CoveragePatch, InstallationIn};
use crate::installations::service as installations;
use crate::installations::store::{self as installation_store, InstallationRow};
use crate::obligations::service as obligations;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Child contracts nest at most this deep.
const MAX_DEPTH: usize = 5;

/// Prefixes the field paths of a validation problem with where the part sits in the document.
fn within(prefix: &str, mut e: ApiError) -> ApiError {
    if !prefix.is_empty() {
        for f in e.errors.iter_mut() {
            f.field = format!("{prefix}{}", f.field);
        }
    }
    e
}

/// Runs `apply` and tells whether it created, changed or left the data as it was: a change
/// always appends an event, so no event appended by `apply` means nothing changed.
pub fn with_outcome<T>(
    conn: &mut DbConnection,
    apply: impl FnOnce(&mut DbConnection) -> Result<(T, bool), ApiError>,
) -> Result<(T, Outcome), ApiError> {
    let before = events::appended_here();
    let (value, created) = apply(conn)?;
    let outcome = if created {
        Outcome::Created
    } else if events::appended_here() == before {
        Outcome::Unchanged
    } else {
        Outcome::Updated
    };
    Ok((value, outcome))
}

/// Creates or replaces an installation by its external reference.
pub fn put_installation(
    conn: &mut DbConnection,
    ctx: &Ctx,
    external_ref: &str,
    doc: InstallationDocument,
) -> Result<(InstallationRow, bool), ApiError> {
    if doc.external_ref.as_deref().is_some_and(|r| r != external_ref) {
        return Err(ApiError::invalid("external_ref", "mismatch", "differs from the external reference in the path"));
    }
    // Pushes of one reference follow each other: the later one finds what the earlier made.
    crate::db::hold_key(conn, crate::db::KEY_INSTALLATION_REF, external_ref)?;
    // A contract push creating this serial number meanwhile is waited for, so its installation
    // is adopted below rather than made twice.
    crate::db::hold_key(conn, crate::db::KEY_INSTALLATION_SERIAL, &doc.serial_number)?;
    // An installation a contract document created by serial number has no reference yet: the
    // first push naming both adopts it.
    let existing = match installation_store::by_external_ref(conn, external_ref)? {
        Some(row) => Some(row),
        None => installation_store::by_serial_number(conn, &doc.serial_number)?.filter(|r| r.external_ref.is_none()),
    };
    let existing = match existing {
        Some(old) => {
            Hold::Update.row(conn, "installations", &old.id)?;
            Some(installations::load(conn, &old.id)?)
        }
        None => None,
    };
    match existing {
        None => {
            let input = document::new_installation(doc, external_ref);
            Ok((installations::create(conn, ctx, input)?, true))
        }
        Some(old) => {
            let current: Map<String, Value> = (*old.attributes).clone();
            let patch = document::installation_patch(doc, external_ref, &current);
            Ok((installations::update(conn, ctx, &old.id, patch, &Expected::none())?, false))
        }
    }
}

/// Creates or replaces a contract document by its external reference; returns the contract
/// and whether it was new.
pub fn put_contract(
    conn: &mut DbConnection,
    ctx: &Ctx,
    external_ref: &str,
    doc: ContractDocument,
    number_pattern: &str,
) -> Result<(ContractRow, bool), ApiError> {
    if doc.external_ref.as_deref().is_some_and(|r| r != external_ref) {
        return Err(ApiError::invalid("external_ref", "mismatch", "differs from the external reference in the path"));
    }
    apply_contract(conn, ctx, external_ref, doc, None, "", 0, number_pattern)
}

/// Whether applying the document touches its own contract alone: no child contracts, covered
/// installations or obligations to apply.
pub fn is_header_only(doc: &ContractDocument) -> bool {
    doc.children.as_ref().is_none_or(Vec::is_empty)
        && doc.installations.as_ref().is_none_or(Vec::is_empty)
        && doc.obligations.as_ref().is_none_or(Vec::is_empty)
}

/// The external references of a document and of all its child documents.
pub fn external_refs<'a>(doc: &'a ContractDocument, out: &mut Vec<&'a str>) {
    out.extend(doc.external_ref.as_deref());
    for child in doc.children.iter().flatten() {
        external_refs(child, out);
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_contract(
    conn: &mut DbConnection,
    ctx: &Ctx,
    external_ref: &str,
    mut doc: ContractDocument,
    parent_id: Option<&str>,
    at: &str,
    depth: usize,
    number_pattern: &str,
) -> Result<(ContractRow, bool), ApiError> {
    let (children, covered, duties) = (doc.children.take(), doc.installations.take(), doc.obligations.take());
    // Pushes of one reference follow each other: the later one finds what the earlier made.
    crate::db::hold_key(conn, crate::db::KEY_CONTRACT_REF, external_ref)?;
    let existing = contract_store::list(
        conn,
        &contract_store::ListFilter { external_ref: Some(external_ref.to_string()), ..Default::default() },
        None,
        1,
    )?
    .into_iter()
    .next();
    // The document replaces what is stored: read that after holding it, so a change committed
    // meanwhile is replaced too rather than kept beside the document.
    let existing = match existing {
        Some(old) => {
            Hold::Update.row(conn, "contracts", &old.id)?;
            Some(contracts::load(conn, &old.id)?)
        }
        None => None,
    };
    let (mut row, created) = match existing {
        None => {
            let input = document::new_contract(doc, external_ref, parent_id);
            (contracts::create(conn, ctx, input, number_pattern).map_err(|e| within(at, e))?, true)
        }
        Some(old) => {
            let current: Map<String, Value> = (*old.attributes).clone();
            let status = doc.status;
            let patch = document::contract_patch(doc, &current, old.parent_id.as_deref(), parent_id);
            let mut row = contracts::update(conn, ctx, &old.id, patch, &Expected::none(), &flows::contract_hooks())
                .map_err(|e| within(at, e))?;
            if let Some(verb) = document::status_step(status, row.status)? {
                row = contracts::act(conn, ctx, &row.id, verb, &Expected::none(), &flows::contract_hooks())?;
            }
            (row, false)
        }
    };
    if let Some(items) = covered {
        apply_coverage(conn, ctx, &row, items, at)?;
    }
    if let Some(list) = duties {
        document::check_unique_titles(&list, at)?;
        let existing = crate::obligations::store::of_contract(conn, &row.id, None, 10_000)?;
        let by_title: HashMap<&str, &str> = existing.iter().map(|o| (o.title.as_str(), o.id.as_str())).collect();
        for (i, o) in list.into_iter().enumerate() {
            let prefix = format!("{at}obligations[{i}].");
            match by_title.get(o.title.as_str()) {
                None => {
                    obligations::create(conn, ctx, &row.id, o).map_err(|e| within(&prefix, e))?;
                }
                Some(id) => {
                    let patch = document::obligation_patch(o);
                    obligations::update(conn, ctx, id, patch, &Expected::none()).map_err(|e| within(&prefix, e))?;
                }
            }
        }
    }
    if let Some(kids) = children {
        if depth + 1 >= MAX_DEPTH && !kids.is_empty() {
            return Err(ApiError::validation(vec![FieldError::new(
                format!("{at}children"),
                "too_deep",
                format!("child contracts nest at most {MAX_DEPTH} levels in one document"),
            )]));
        }
        for (i, child) in kids.into_iter().enumerate() {
            let prefix = format!("{at}children[{i}].");
            let Some(child_ref) = child.external_ref.clone() else {
                return Err(ApiError::validation(vec![FieldError::new(
                    format!("{prefix}external_ref"),
                    "required",
                    "every child contract needs its external_ref",
                )]));
            };
            apply_contract(conn, ctx, &child_ref, child, Some(&row.id), &prefix, depth + 1, number_pattern)?;
        }
        row = contracts::load(conn, &row.id)?;
    }
    Ok((row, created))
}

/// Makes the contract cover exactly the listed installations (by serial number, created when
/// unknown), each for its period (default: the contract's).
fn apply_coverage(
    conn: &mut DbConnection,
    ctx: &Ctx,
    contract: &ContractRow,
    items: Vec<CoveredInstallation>,
    at: &str,
) -> Result<(), ApiError> {
    let serials: Vec<String> = items.iter().map(|i| i.serial_number.clone()).collect();
    let mut known: HashMap<String, InstallationRow> = installation_store::by_serial_numbers(conn, &serials)?
        .into_iter()
        .map(|r| (r.serial_number.clone(), r))
        .collect();
    // Pushes that name one unknown serial number follow each other, so the later one finds the
    // installation the earlier made instead of failing on its unique number. Keys in serial
    // order: two one-level documents naming the same serials never wait in a circle; across
    // the levels of a pushed tree or the documents of one import batch a circle remains
    // possible, and the database's deadlock detection with the whole-write retry breaks it.
    let unknown: std::collections::BTreeSet<String> =
        serials.iter().filter(|s| !known.contains_key(*s)).cloned().collect();
    if !unknown.is_empty() {
        for serial in &unknown {
            crate::db::hold_key(conn, crate::db::KEY_INSTALLATION_SERIAL, serial)?;
        }
        let unknown: Vec<String> = unknown.into_iter().collect();
        known.extend(
            installation_store::by_serial_numbers(conn, &unknown)?.into_iter().map(|r| (r.serial_number.clone(), r)),
        );
    }
    let current: HashMap<String, crate::installations::store::CoverageRow> =
        installation_store::all_coverage_of_contract(conn, &contract.id)?
            .into_iter()
            .map(|c| (c.installation_id.clone(), c))
            .collect();
    let mut wanted = std::collections::HashSet::new();
    let mut to_add = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let prefix = format!("{at}installations[{i}].");
        let installation = match known.get(&item.serial_number) {
            Some(r) => r.clone(),
            None => {
                let Some(installation_type) = item.installation_type.clone() else {
                    return Err(ApiError::validation(vec![FieldError::new(
                        format!("{prefix}installation_type"),
                        "required",
                        format!(
                            "installation {} is unknown; its installation_type is needed to create it",
                            item.serial_number
                        ),
                    )]));
                };
                let input = InstallationIn {
                    serial_number: item.serial_number.clone(),
                    name: item.name.clone().unwrap_or_else(|| item.serial_number.clone()),
                    installation_type,
                    customer_ref: item.customer_ref.clone().unwrap_or_else(|| contract.customer_ref.clone()),
                    location: item.location.clone(),
                    installed_at: None,
                    status: None,
                    parent_id: None,
                    external_ref: None,
                    attributes: None,
                };
                let row = installations::create(conn, ctx, input).map_err(|e| within(&prefix, e))?;
                known.insert(row.serial_number.clone(), row.clone());
                row
            }
        };
        wanted.insert(installation.id.clone());
        let from = item.valid_from.unwrap_or(contract.start_date);
        let to = item.valid_to.or(contract.end_date);
        match current.get(&installation.id) {
            None => to_add.push(CoverageItem {
                installation_id: Some(installation.id.clone()),
                serial_number: None,
                valid_from: item.valid_from,
                valid_to: item.valid_to,
            }),
            Some(link) if (link.valid_from, link.valid_to) != (from, to) => {
                let patch = CoveragePatch { valid_from: Patch::Value(from), valid_to: opt(to) };
                installations::update_coverage(
                    conn,
                    ctx,
                    &contract.id,
                    &installation.id,
                    patch,
                    &Expected::none(),
                    &flows::contract_hooks(),
                )
                .map_err(|e| within(&prefix, e))?;
            }
            Some(_) => {}
        }
    }
    for installation_id in current.keys().filter(|id| !wanted.contains(*id)) {
        installations::delete_coverage(
            conn,
            ctx,
            &contract.id,
            installation_id,
            &Expected::none(),
            &flows::contract_hooks(),
        )?;
    }
    if !to_add.is_empty() {
        installations::add_coverage(conn, ctx, &contract.id, to_add, &flows::contract_hooks())
            .map_err(|e| within(&format!("{at}installations."), e))?;
    }
    Ok(())
}
