//! Installation and coverage use cases. Each runs inside the caller's transaction and appends
//! its events there.

use super::input::{CoverageItem, CoveragePatch, InstallationIn, InstallationPatch};
use super::model::{extended_end, Location, Period, Status};
use super::store::{self, CoverageRow, InstallationRow};
use crate::attributes::model::{merge, EntityKind};
use crate::attributes::{service as attributes, store as attribute_store};
use crate::contracts::service::{load as load_contract, ContractHooks};
use crate::contracts::store::ContractRow;
use crate::db::hierarchy::{self, ParentProblem, Tree};
use crate::db::Expected;
use crate::db::{DbConnection, Hold};
use crate::error::{check_text, check_year, ApiError, FieldError};
use crate::events::store as events;
use crate::events::Ctx;
use crate::http::Patch;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

pub const ENTITY: &str = "installation";
pub const COVERAGE: &str = "coverage";

/// The JSON form of an installation used for history diffs.
pub fn snapshot(row: &InstallationRow) -> Value {
    serde_json::json!({
        "serial_number": row.serial_number, "name": row.name, "installation_type": row.installation_type,
        "customer_ref": row.customer_ref, "location": &*row.location, "installed_at": row.installed_at,
        "status": row.status, "parent_id": row.parent_id, "external_ref": row.external_ref,
        "attributes": &*row.attributes,
    })
}

fn coverage_snapshot(row: &CoverageRow) -> Value {
    serde_json::json!({
        "contract_id": row.contract_id, "installation_id": row.installation_id,
        "valid_from": row.valid_from, "valid_to": row.valid_to,
    })
}

pub fn load(conn: &mut DbConnection, id: &str) -> Result<InstallationRow, ApiError> {
    store::get(conn, id)?.ok_or_else(|| ApiError::not_found(format!("installation {id} does not exist")))
}

fn check_row(row: &InstallationRow, location: &Location) -> Vec<FieldError> {
    let mut errors = Vec::new();
    check_text(&mut errors, "serial_number", &row.serial_number, 100);
    check_text(&mut errors, "name", &row.name, 500);
    check_text(&mut errors, "installation_type", &row.installation_type, 100);
    check_text(&mut errors, "customer_ref", &row.customer_ref, 200);
    if let Some(r) = &row.external_ref {
        check_text(&mut errors, "external_ref", r, 200);
    }
    for (name, value) in location.fields() {
        if value.as_ref().is_some_and(|v| v.chars().count() > 200) {
            errors.push(FieldError::new(format!("location.{name}"), "too_long", "at most 200 characters"));
        }
    }
    if let Some(d) = row.installed_at {
        check_year(&mut errors, "installed_at", chrono::Datelike::year(&d));
    }
    errors
}

fn check_unique(conn: &mut DbConnection, row: &InstallationRow) -> Result<(), ApiError> {
    if let Some(other) = store::by_serial_number(conn, &row.serial_number)?.filter(|o| o.id != row.id) {
        return Err(ApiError::conflict(
            "duplicate_serial_number",
            format!("serial number {} is already used by installation {}", row.serial_number, other.id),
        ));
    }
    if let Some(ext) = &row.external_ref {
        if let Some(other) = store::by_external_ref(conn, ext)?.filter(|o| o.id != row.id) {
            return Err(ApiError::conflict(
                "duplicate_external_ref",
                format!("external_ref {ext} is already used by installation {}", other.id),
            ));
        }
    }
    Ok(())
}

fn check_parent(conn: &mut DbConnection, id: &str, parent_id: Option<&str>) -> Result<(), ApiError> {
    let Some(parent) = parent_id else { return Ok(()) };
    match hierarchy::check_parent(conn, Tree::Installations, id, parent)? {
        Ok(()) => Ok(()),
        Err(ParentProblem::Missing) => {
            Err(ApiError::invalid("parent_id", "not_found", format!("installation {parent} does not exist")))
        }
        Err(ParentProblem::Cycle) => Err(ApiError::conflict(
            "hierarchy_cycle",
            format!(
                "installation {parent} is this installation or one of its components; linking would create a cycle"
            ),
        )),
        Err(ParentProblem::TooDeep) => Err(ApiError::invalid(
            "parent_id",
            "too_deep",
            format!("a installation hierarchy has at most {} levels; below {parent} this installation and the ones under it would exceed that", hierarchy::MAX_LEVELS),
        )),
    }
}

fn apply_attributes(
    conn: &mut DbConnection,
    row: &mut InstallationRow,
    attrs: &Map<String, Value>,
) -> Result<(), ApiError> {
    let (canonical, indexed) = attributes::validate(conn, EntityKind::Installation, &row.installation_type, attrs)?;
    row.attributes = crate::db::column::Json::new(canonical);
    attribute_store::replace_values(conn, EntityKind::Installation, &row.id, &indexed)?;
    Ok(())
}

pub fn search_text(row: &InstallationRow) -> String {
    format!("{}\n{}", row.serial_number.to_lowercase(), row.name.to_lowercase())
}

/// The coverage in force for an installation on `day`: its own links and its parent
/// installations' (a component is covered by what covers the machine it is part of), with the
/// contracts in force that day; the installation's own links first, then by contract number.
pub fn covering(
    conn: &mut DbConnection,
    id: &str,
    day: chrono::NaiveDate,
) -> Result<Vec<(CoverageRow, ContractRow)>, ApiError> {
    let chain = hierarchy::ancestor_ids(conn, Tree::Installations, id)?;
    if chain.is_empty() {
        return Err(ApiError::not_found(format!("installation {id} does not exist")));
    }
    covering_along(conn, id, &chain, day)
}

/// [`covering`] of an installation already loaded.
pub fn covering_of(
    conn: &mut DbConnection,
    row: &InstallationRow,
    day: chrono::NaiveDate,
) -> Result<Vec<(CoverageRow, ContractRow)>, ApiError> {
    let chain = hierarchy::ancestor_ids_of(conn, Tree::Installations, &row.id, row.parent_id.as_deref())?;
    covering_along(conn, &row.id, &chain, day)
}

/// [`covering`] of installation `id`, whose ancestors (itself first) are `chain`.
fn covering_along(
    conn: &mut DbConnection,
    id: &str,
    chain: &[hierarchy::Link],
    day: chrono::NaiveDate,
) -> Result<Vec<(CoverageRow, ContractRow)>, ApiError> {
    let ids: Vec<String> = chain.iter().map(|l| l.id.clone()).collect();
    let mut rows = store::coverage_of_installations(conn, &ids, Some(day), None, 10_000)?;
    rows.sort_by(|(a, ca), (b, cb)| (a.installation_id != id, &ca.number).cmp(&(b.installation_id != id, &cb.number)));
    Ok(rows)
}

pub fn create(conn: &mut DbConnection, ctx: &Ctx, input: InstallationIn) -> Result<InstallationRow, ApiError> {
    let now = ctx.now.naive_utc();
    let location = input.location.unwrap_or_default();
    let mut row = InstallationRow {
        id: uuid::Uuid::now_v7().to_string(),
        serial_number: input.serial_number,
        name: input.name,
        search_text: String::new(),
        installation_type: input.installation_type,
        customer_ref: input.customer_ref,
        location: crate::db::column::Json::new(location.clone()),
        installed_at: input.installed_at,
        status: input.status.unwrap_or(Status::Active),
        parent_id: input.parent_id,
        external_ref: input.external_ref,
        attributes: Default::default(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let errors = check_row(&row, &location);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    row.search_text = search_text(&row);
    check_parent(conn, &row.id, row.parent_id.as_deref())?;
    check_unique(conn, &row)?;
    apply_attributes(conn, &mut row, &input.attributes.unwrap_or_default())?;
    store::insert(conn, &row)?;
    events::record(conn, ctx, ENTITY, &row.id, "created", &Value::Null, &snapshot(&row))?;
    Ok(row)
}

pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    patch: InstallationPatch,
    expected: &Expected,
) -> Result<InstallationRow, ApiError> {
    if let Patch::Value(parent) = &patch.parent_id {
        hierarchy::hold_trees(conn, Tree::Installations, id, parent)?;
    }
    Hold::Update.row(conn, "installations", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    let mut row = old.clone();
    let mut errors = Vec::new();
    let mut required = |field: &str, p: Patch<String>, current: String| {
        p.require(field, current.clone()).unwrap_or_else(|e| {
            errors.push(e);
            current
        })
    };
    row.serial_number = required("serial_number", patch.serial_number, row.serial_number);
    row.name = required("name", patch.name, row.name);
    row.installation_type = required("installation_type", patch.installation_type, row.installation_type);
    row.customer_ref = required("customer_ref", patch.customer_ref, row.customer_ref);
    match patch.status.require("status", old.status) {
        Ok(s) => row.status = s,
        Err(e) => errors.push(e),
    }
    row.installed_at = patch.installed_at.apply_to(row.installed_at);
    row.external_ref = patch.external_ref.apply_to(row.external_ref);
    let parent_changed = !patch.parent_id.is_absent();
    row.parent_id = patch.parent_id.apply_to(row.parent_id);
    let current_location = match serde_json::to_value(&*old.location) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let location_json = match &patch.location {
        Patch::Absent => current_location,
        Patch::Null => Map::new(),
        Patch::Value(p) => merge(&current_location, p),
    };
    let location: Location = match serde_json::from_value(Value::Object(location_json)) {
        Ok(l) => l,
        Err(e) => {
            errors.push(FieldError::new("location", "invalid_value", e.to_string()));
            Location::default()
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    row.location = crate::db::column::Json::new(location.clone());
    let errors = check_row(&row, &location);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if parent_changed {
        check_parent(conn, &row.id, row.parent_id.as_deref())?;
    }
    if (&row.serial_number, &row.external_ref) != (&old.serial_number, &old.external_ref) {
        check_unique(conn, &row)?;
    }
    row.search_text = search_text(&row);
    let current: Map<String, Value> = (*old.attributes).clone();
    if patch.attributes.is_some() || row.installation_type != old.installation_type {
        let attrs = match &patch.attributes {
            Some(p) => merge(&current, p),
            None => current,
        };
        apply_attributes(conn, &mut row, &attrs)?;
    }
    if row == old {
        return Ok(old);
    }
    row.version = old.version + 1;
    row.updated_at = ctx.now.naive_utc();
    if !store::update(conn, &row, old.version)? {
        return Err(ApiError::conflict(
            "concurrent_update",
            "the installation changed meanwhile; fetch it again and retry",
        ));
    }
    events::record(conn, ctx, ENTITY, id, "updated", &snapshot(&old), &snapshot(&row))?;
    Ok(row)
}

pub fn delete(conn: &mut DbConnection, ctx: &Ctx, id: &str, expected: &Expected) -> Result<(), ApiError> {
    Hold::Update.row(conn, "installations", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    if store::has_components(conn, id)? {
        return Err(ApiError::conflict("has_components", "the installation has components; delete or move them first"));
    }
    if store::installation_has_coverage(conn, id)? {
        return Err(ApiError::conflict("has_coverage", "contracts cover this installation; remove the coverage first"));
    }
    attribute_store::delete_values(conn, EntityKind::Installation, id)?;
    store::delete(conn, id)?;
    events::record(conn, ctx, ENTITY, id, "deleted", &snapshot(&old), &Value::Null)?;
    Ok(())
}

fn contract_period(c: &ContractRow) -> Period {
    Period { from: c.start_date, to: c.end_date }
}

/// Refuses a link that would let two contracts of one type cover the installation on one day.
fn check_overlap(
    conn: &mut DbConnection,
    contract: &ContractRow,
    installation_id: &str,
    period: &Period,
) -> Result<(), ApiError> {
    let others = store::coverage_of_installations(conn, &[installation_id.to_string()], None, None, i64::MAX)?;
    overlap_among(&others, contract, installation_id, period)
}

/// PostgreSQL's exclusion constraint `coverages_no_overlap` refused a link that raced past
/// [`check_overlap`] (a write beside it added the other link after the check read): the same
/// answer as the check's.
fn overlap_refused(e: diesel::result::Error) -> ApiError {
    match &e {
        diesel::result::Error::DatabaseError(_, info) if info.constraint_name() == Some("coverages_no_overlap") => {
            ApiError::conflict(
                "coverage_overlap",
                "the installation is already covered by another contract of the same type in an overlapping period",
            )
        }
        _ => e.into(),
    }
}

/// The overlap rule over already loaded links (`others`: coverage with its contracts).
fn overlap_among(
    others: &[(CoverageRow, ContractRow)],
    contract: &ContractRow,
    installation_id: &str,
    period: &Period,
) -> Result<(), ApiError> {
    for (cov, other) in others {
        if cov.installation_id != installation_id
            || other.id == contract.id
            || other.contract_type != contract.contract_type
        {
            continue;
        }
        let theirs = Period { from: cov.valid_from, to: cov.valid_to };
        if theirs.overlaps(period) {
            return Err(ApiError::conflict(
                "coverage_overlap",
                format!(
                    "installation {installation_id} is already covered by {} contract {} ({}) from {} to {}",
                    other.contract_type,
                    other.number,
                    other.id,
                    cov.valid_from,
                    cov.valid_to.map_or("open end".to_string(), |d| d.to_string())
                ),
            ));
        }
    }
    Ok(())
}

fn check_period(contract: &ContractRow, period: &Period, field: &str) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    check_year(&mut errors, &format!("{field}valid_from"), chrono::Datelike::year(&period.from));
    if let Some(to) = period.to {
        check_year(&mut errors, &format!("{field}valid_to"), chrono::Datelike::year(&to));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if period.to.is_some_and(|to| to < period.from) {
        return Err(ApiError::invalid(
            &format!("{field}valid_to"),
            "before_valid_from",
            "must not be before valid_from",
        ));
    }
    if !period.within(&contract_period(contract)) {
        let until = contract.end_date.map_or("open end".to_string(), |d| d.to_string());
        // Name the end that lies outside: a start before the contract's, else the end after it.
        let outside = if period.from < contract.start_date { "valid_from" } else { "valid_to" };
        return Err(ApiError::invalid(
            &format!("{field}{outside}"),
            "outside_contract_period",
            format!("the coverage must lie within the contract's period {} to {until}", contract.start_date),
        ));
    }
    Ok(())
}

/// Links installations to a contract; the default period is the contract's own.
pub fn add_coverage(
    conn: &mut DbConnection,
    ctx: &Ctx,
    contract_id: &str,
    items: Vec<CoverageItem>,
    hooks: &ContractHooks,
) -> Result<Vec<(CoverageRow, InstallationRow)>, ApiError> {
    // The contract's period and type stay as read until the commit: a change of them (which
    // moves the coverage it finds) waits for these links, or they for it.
    Hold::Share.row(conn, "contracts", contract_id)?;
    let contract = load_contract(conn, contract_id)?;
    // Everything the checks need, in a handful of queries whatever the number of items.
    let ids: Vec<String> = items.iter().filter_map(|i| i.installation_id.clone()).collect();
    let serials: Vec<String> = items.iter().filter_map(|i| i.serial_number.clone()).collect();
    let by_id: HashMap<String, InstallationRow> =
        store::get_many(conn, &ids)?.into_iter().map(|r| (r.id.clone(), r)).collect();
    let by_serial: HashMap<String, InstallationRow> =
        store::by_serial_numbers(conn, &serials)?.into_iter().map(|r| (r.serial_number.clone(), r)).collect();
    let targets: Vec<String> = by_id.keys().chain(by_serial.values().map(|r| &r.id)).cloned().collect();
    let others = store::coverage_of_installations(conn, &targets, None, None, i64::MAX)?;
    // Among the listed installations' links, not all of the contract's: a contract may cover
    // thousands.
    let covered: HashSet<String> =
        others.iter().filter(|(c, _)| c.contract_id == contract.id).map(|(c, _)| c.installation_id.clone()).collect();

    let now = ctx.now.naive_utc();
    let mut out = Vec::with_capacity(items.len());
    let mut seen = HashSet::new();
    for (i, item) in items.into_iter().enumerate() {
        let field = format!("installations[{i}].");
        let installation = match (&item.installation_id, &item.serial_number) {
            (Some(id), None) => by_id.get(id),
            (None, Some(serial)) => by_serial.get(serial),
            _ => {
                return Err(ApiError::invalid(
                    &format!("{field}installation_id"),
                    "required",
                    "give either installation_id or serial_number",
                ));
            }
        }
        .cloned()
        .ok_or_else(|| ApiError::invalid(&format!("{field}installation_id"), "not_found", "no such installation"))?;
        if !seen.insert(installation.id.clone()) {
            return Err(ApiError::invalid(
                &format!("{field}installation_id"),
                "duplicate",
                "the installation is listed twice",
            ));
        }
        let period =
            Period { from: item.valid_from.unwrap_or(contract.start_date), to: item.valid_to.or(contract.end_date) };
        check_period(&contract, &period, &field)?;
        if covered.contains(&installation.id) {
            return Err(ApiError::conflict(
                "already_covered",
                format!(
                    "contract {} already covers installation {}; change that coverage instead",
                    contract.number, installation.serial_number
                ),
            ));
        }
        overlap_among(&others, &contract, &installation.id, &period)?;
        let row = CoverageRow {
            id: uuid::Uuid::now_v7().to_string(),
            contract_id: contract.id.clone(),
            installation_id: installation.id.clone(),
            valid_from: period.from,
            valid_to: period.to,
            version: 1,
            created_at: now,
            updated_at: now,
            contract_type: contract.contract_type.clone(),
        };
        out.push((row, installation));
    }
    let rows: Vec<CoverageRow> = out.iter().map(|(row, _)| row.clone()).collect();
    store::insert_coverages(conn, &rows).map_err(overlap_refused)?;
    let snapshots: Vec<(&str, Value)> = rows.iter().map(|r| (r.id.as_str(), coverage_snapshot(r))).collect();
    events::record_created(conn, ctx, COVERAGE, &snapshots)?;
    (hooks.coverage_changed)(conn, ctx, &[&contract])?;
    Ok(out)
}

pub fn load_coverage(
    conn: &mut DbConnection,
    contract_id: &str,
    installation_id: &str,
) -> Result<CoverageRow, ApiError> {
    store::get_coverage(conn, contract_id, installation_id)?.ok_or_else(|| {
        ApiError::not_found(format!("contract {contract_id} does not cover installation {installation_id}"))
    })
}

pub fn update_coverage(
    conn: &mut DbConnection,
    ctx: &Ctx,
    contract_id: &str,
    installation_id: &str,
    patch: CoveragePatch,
    expected: &Expected,
    hooks: &ContractHooks,
) -> Result<(CoverageRow, InstallationRow), ApiError> {
    // In the order of every coverage write: the contract (its period bounds the link), then
    // the installation (coverage changes of one installation one after the other).
    Hold::Share.row(conn, "contracts", contract_id)?;
    Hold::Update.row(conn, "installations", installation_id)?;
    let old = load_coverage(conn, contract_id, installation_id)?;
    expected.check(old.version)?;
    let contract = load_contract(conn, contract_id)?;
    let mut row = old.clone();
    row.valid_from =
        patch.valid_from.require("valid_from", old.valid_from).map_err(|e| ApiError::validation(vec![e]))?;
    row.valid_to = patch.valid_to.apply_to(old.valid_to);
    let period = Period { from: row.valid_from, to: row.valid_to };
    check_period(&contract, &period, "")?;
    check_overlap(conn, &contract, installation_id, &period)?;
    let installation = load(conn, installation_id)?;
    if row == old {
        return Ok((old, installation));
    }
    row.version = old.version + 1;
    row.updated_at = ctx.now.naive_utc();
    if !store::update_coverage(conn, &row, old.version).map_err(overlap_refused)? {
        return Err(ApiError::conflict("concurrent_update", "the coverage changed meanwhile; retry"));
    }
    events::record(conn, ctx, COVERAGE, &row.id, "updated", &coverage_snapshot(&old), &coverage_snapshot(&row))?;
    (hooks.coverage_changed)(conn, ctx, &[&contract])?;
    Ok((row, installation))
}

pub fn delete_coverage(
    conn: &mut DbConnection,
    ctx: &Ctx,
    contract_id: &str,
    installation_id: &str,
    expected: &Expected,
    hooks: &ContractHooks,
) -> Result<(), ApiError> {
    Hold::Share.row(conn, "contracts", contract_id)?;
    Hold::Update.row(conn, "installations", installation_id)?;
    let old = load_coverage(conn, contract_id, installation_id)?;
    expected.check(old.version)?;
    store::delete_coverage(conn, &old.id)?;
    events::record(conn, ctx, COVERAGE, &old.id, "deleted", &coverage_snapshot(&old), &Value::Null)?;
    let contract = load_contract(conn, contract_id)?;
    (hooks.coverage_changed)(conn, ctx, &[&contract])
}

/// For each `(contract, installation, after)`, the first day after `after` on which another
/// contract of that contract's type covers the installation (an extension must stop short of
/// that day); one query for all of them.
fn next_same_type_starts(
    conn: &mut DbConnection,
    wanted: &[(&ContractRow, String, chrono::NaiveDate)],
) -> Result<HashMap<(String, String), chrono::NaiveDate>, ApiError> {
    let mut next = HashMap::new();
    if wanted.is_empty() {
        return Ok(next);
    }
    let mut installation_ids: Vec<String> = wanted.iter().map(|(_, i, _)| i.clone()).collect();
    installation_ids.sort();
    installation_ids.dedup();
    let mut others: HashMap<String, Vec<(CoverageRow, ContractRow)>> = HashMap::new();
    for chunk in installation_ids.chunks(500) {
        for (cov, other) in store::coverage_of_installations(conn, chunk, None, None, i64::MAX)? {
            others.entry(cov.installation_id.clone()).or_default().push((cov, other));
        }
    }
    for (contract, installation_id, after) in wanted {
        let first = others.get(installation_id).into_iter().flatten().filter_map(|(cov, other)| {
            (other.id != contract.id && other.contract_type == contract.contract_type && cov.valid_from > *after)
                .then_some(cov.valid_from)
        });
        if let Some(day) = first.min() {
            next.insert((contract.id.clone(), installation_id.clone()), day);
        }
    }
    Ok(next)
}

/// Keeps contracts' coverage in step with the contracts `(old, new)` after any change to them:
/// - a renewal (the end moves later) extends the links that ran to the old end date, up to the
///   day before another contract of the same type takes the installation over;
/// - every link is then kept inside the contract's period: a termination or a shorter term
///   ends it on the new end date, a later start moves its start, and a link left with no day
///   inside the period is removed;
/// - after a change of contract type, a link that would overlap a contract of the new type
///   refuses the change (409).
///
/// All at once: one query reads all their links, one the other contracts their extensions
/// must stop short of, and one statement writes the links that change.
pub fn follow_contracts(
    conn: &mut DbConnection,
    ctx: &Ctx,
    changes: &[(&ContractRow, &ContractRow)],
) -> Result<(), ApiError> {
    let changes: Vec<(&ContractRow, &ContractRow)> = changes
        .iter()
        .copied()
        .filter(|(old, new)| {
            old.contract_type != new.contract_type || old.start_date != new.start_date || old.end_date != new.end_date
        })
        .collect();
    if changes.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = changes.iter().map(|(_, new)| new.id.clone()).collect();
    let mut links: HashMap<String, Vec<CoverageRow>> = HashMap::new();
    for cov in store::all_coverage_of_contracts(conn, &ids)? {
        links.entry(cov.contract_id.clone()).or_default().push(cov);
    }
    let extended = |old: &ContractRow, new: &ContractRow| match (old.end_date, new.end_date) {
        (Some(before), Some(after)) if after > before => Some((before, after)),
        _ => None,
    };
    let mut ending = Vec::new();
    for (old, new) in &changes {
        if let Some((before, _)) = extended(old, new) {
            for cov in links.get(&new.id).into_iter().flatten().filter(|c| c.valid_to == Some(before)) {
                ending.push((*new, cov.installation_id.clone(), before));
            }
        }
    }
    let next_starts = next_same_type_starts(conn, &ending)?;
    let mut written: Vec<(&CoverageRow, CoverageRow, &str)> = Vec::new();
    for (old, new) in &changes {
        let type_changed = old.contract_type != new.contract_type;
        let extended = extended(old, new);
        for cov in links.get(&new.id).into_iter().flatten() {
            let (mut from, mut to) = (cov.valid_from, cov.valid_to);
            let mut action =
                if new.terminated_on.is_some() && old.terminated_on.is_none() { "ended" } else { "adjusted" };
            if let Some((before, after)) = extended {
                if to == Some(before) {
                    let next = next_starts.get(&(new.id.clone(), cov.installation_id.clone())).copied();
                    to = Some(extended_end(before, after, next));
                    action = "extended";
                }
            }
            from = from.max(new.start_date);
            if let Some(end) = new.end_date {
                to = Some(to.map_or(end, |t| t.min(end)));
            }
            if to.is_some_and(|t| t < from) {
                store::delete_coverage(conn, &cov.id)?;
                events::record(conn, ctx, COVERAGE, &cov.id, "deleted", &coverage_snapshot(cov), &Value::Null)?;
                continue;
            }
            if type_changed {
                check_overlap(conn, new, &cov.installation_id, &Period { from, to })?;
            }
            if (from, to) == (cov.valid_from, cov.valid_to) {
                continue;
            }
            let changed = CoverageRow {
                valid_from: from,
                valid_to: to,
                version: cov.version + 1,
                updated_at: ctx.now.naive_utc(),
                contract_type: new.contract_type.clone(),
                ..cov.clone()
            };
            written.push((cov, changed, action));
        }
    }
    let rows: Vec<&CoverageRow> = written.iter().map(|(_, changed, _)| changed).collect();
    if store::update_coverages(conn, &rows).map_err(overlap_refused)?.len() != rows.len() {
        return Err(ApiError::conflict("concurrent_update", "the contract's coverage changed meanwhile; retry"));
    }
    // The links whose days did not move take the new type on their own (after the moved ones,
    // which took it with their days, so the constraint never sees old days with the new type).
    for (_, new) in changes.iter().filter(|(old, new)| old.contract_type != new.contract_type) {
        store::set_coverage_type(conn, &new.id, &new.contract_type).map_err(overlap_refused)?;
    }
    let snapshots: Vec<(Value, Value)> =
        written.iter().map(|(old, changed, _)| (coverage_snapshot(old), coverage_snapshot(changed))).collect();
    let changes: Vec<_> = written
        .iter()
        .zip(&snapshots)
        .map(|((_, changed, action), (before, after))| (changed.id.as_str(), *action, before, after))
        .collect();
    events::record_many(conn, ctx, COVERAGE, &changes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::overlap_refused;
    use crate::error::Kind;
    use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error};

    struct Refused(&'static str);

    impl DatabaseErrorInformation for Refused {
        fn message(&self) -> &str {
            "conflicting key value violates exclusion constraint"
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            Some("coverages")
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            Some(self.0)
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    #[test]
    fn the_overlap_constraint_answers_like_the_overlap_check() {
        let e = overlap_refused(Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(Refused("coverages_no_overlap")),
        ));
        assert_eq!((e.kind, e.code.as_str()), (Kind::Conflict, "coverage_overlap"));
        let other = overlap_refused(Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new(Refused("elsewhere"))));
        assert_ne!(other.code, "coverage_overlap");
    }
}
