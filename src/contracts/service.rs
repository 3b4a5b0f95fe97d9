//! Contract use cases. Each runs inside the caller's transaction and appends its event there.

use super::input::{ContractIn, ContractPatch, RenewIn, TerminateIn};
use super::model::{self, Action, Deadlines, Period, Reminder, ReminderDefaults, Status, Term};
use super::service_level::ServiceLevel;
use super::store::{self, ContractRow};
use crate::attributes::model::{self as attribute_model, IndexedValue, Rule};
use crate::attributes::model::{merge, EntityKind};
use crate::attributes::store::AttributeValueRow;
use crate::attributes::{service as attributes, store as attribute_store};
use crate::db::hierarchy::{self, ParentProblem, Tree};
use crate::db::Expected;
use crate::db::{Db, DbConnection, Hold};
use crate::error::{check_text, check_year, ApiError, FieldError};
use crate::events::{store as events, Ctx};
use crate::http::Patch;
use crate::tasks::model::Assignee;
use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use futures_util::future::LocalBoxFuture;
use serde_json::{Map, Value};
use std::collections::HashMap;

pub const ENTITY: &str = "contract";

/// A hook run inside a change's transaction for contracts changed `(before, after)`.
pub type ChangedHook = fn(&mut DbConnection, &Ctx, &[(&ContractRow, &ContractRow)]) -> Result<(), ApiError>;

/// What a change of contracts moves in the features built on them (coverage, obligations and
/// their tasks). Contracts know none of those features: `flows::contract_hooks` fills this in
/// and `startup` registers it, so a handler passes it on as it passes on the database.
#[derive(Clone, Copy)]
pub struct ContractHooks {
    /// Inside the change's transaction, for contracts changed `(before, after)`: moves what
    /// follows from their type, term and status.
    pub changed: ChangedHook,
    /// Inside the transaction of a change to what these contracts cover: what follows from it.
    pub coverage_changed: fn(&mut DbConnection, &Ctx, &[&ContractRow]) -> Result<(), ApiError>,
    /// Before a contract is deleted: the refusal if records of the features above still hold
    /// on to it.
    pub held_by: fn(&mut DbConnection, &str) -> Result<Option<ApiError>, ApiError>,
    /// After the commit of such a change: brings the work of the contracts with these ids in
    /// line (task generation). It has committed, so a failure is logged and left to the
    /// scheduler, not answered.
    pub settle: fn(Db, String, DateTime<Utc>, Vec<String>) -> LocalBoxFuture<'static, ()>,
}

/// The JSON form of a contract used for history diffs.
pub fn snapshot(row: &ContractRow) -> Value {
    let attributes = &*row.attributes;
    serde_json::json!({
        "number": row.number, "title": row.title, "contract_type": row.contract_type,
        "customer_ref": row.customer_ref, "customer_name": row.customer_name, "status": row.status,
        "start_date": row.start_date, "term_months": row.term_months, "end_date": row.end_date,
        "auto_renew": row.auto_renew, "renewal_term_months": row.renewal_term_months,
        "notice_period": row.notice_period, "notice_deadline": row.notice_deadline,
        "signed_at": row.signed_at.map(crate::clock::as_utc), "terminated_on": row.terminated_on,
        "termination_reason": row.termination_reason, "external_ref": row.external_ref,
        "parent_id": row.parent_id, "attributes": attributes, "service_level": own_service_level(row),
        "owner": own_owner(row), "reminders": own_reminders(row),
    })
}

/// The contract's own owner, if it has one.
pub fn own_owner(row: &ContractRow) -> Option<Assignee> {
    Some(Assignee::from_parts(row.owner_kind?, row.owner_name.as_deref()?))
}

/// The owner in force: the contract's own, or else the nearest ancestor's.
pub fn effective_owner(row: &ContractRow) -> Option<Assignee> {
    Some(Assignee::from_parts(row.effective_owner_kind?, row.effective_owner_name.as_deref()?))
}

/// The contract's own reminders; `None`: the defaults of its type.
pub fn own_reminders(row: &ContractRow) -> Option<Vec<Reminder>> {
    row.reminders.as_deref().cloned()
}

/// The reminders in force for a contract: its own, or the defaults of its type.
pub fn reminders_of(row: &ContractRow, defaults: &ReminderDefaults) -> Vec<Reminder> {
    own_reminders(row).unwrap_or_else(|| defaults.of(&row.contract_type).to_vec())
}

/// The dates a contract's reminders count back from.
pub fn deadlines_of(row: &ContractRow) -> Deadlines {
    let status = row.status;
    Deadlines::of(status, row.auto_renew, row.notice_deadline, row.end_date)
}

/// Checks an owner and gives its stored parts.
fn owner_parts(
    owner: Option<&Assignee>,
) -> Result<(Option<crate::tasks::model::AssigneeKind>, Option<String>), ApiError> {
    let Some(owner) = owner else { return Ok((None, None)) };
    owner.check().map_err(|m| ApiError::invalid("owner", "invalid_value", m))?;
    let (kind, name) = owner.parts();
    Ok((Some(kind), Some(name.to_string())))
}

/// Checks a contract's own reminders and gives their stored form.
fn encode_reminders(list: Option<Vec<Reminder>>) -> Result<Option<crate::db::column::Json<Vec<Reminder>>>, ApiError> {
    let Some(mut list) = list else { return Ok(None) };
    let errors: Vec<FieldError> = model::check_reminders(&list)
        .into_iter()
        .map(|(i, m)| match i {
            Some(i) => FieldError::new(format!("reminders[{i}].days"), "invalid_value", m),
            None => FieldError::new("reminders", "too_many", m),
        })
        .collect();
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    list.sort();
    Ok(Some(crate::db::column::Json::new(list)))
}

/// The owner a contract without its own inherits: its parent's owner in force.
fn inherited_owner(conn: &mut DbConnection, parent_id: Option<&str>) -> Result<Option<Assignee>, ApiError> {
    let Some(parent) = parent_id else { return Ok(None) };
    Ok(store::get(conn, parent)?.as_ref().and_then(effective_owner))
}

fn set_effective(row: &mut ContractRow, owner: Option<&Assignee>) {
    let parts = owner.map(|o| o.parts());
    row.effective_owner_kind = parts.map(|p| p.0);
    row.effective_owner_name = parts.map(|p| p.1.to_string());
}

/// After a contract's own owner or parent changed: sets the owner in force of the contract and
/// of every contract below it that inherits it, a statement per distinct owner (not per row).
fn follow_owner(conn: &mut DbConnection, row: &mut ContractRow) -> Result<(), ApiError> {
    let top = match own_owner(row) {
        Some(o) => Some(o),
        None => inherited_owner(conn, row.parent_id.as_deref())?,
    };
    let mut links = hierarchy::descendant_ids(conn, Tree::Contracts, &row.id, hierarchy::MAX_LEVELS)?;
    links.sort_by_key(|l| l.depth);
    let below = store::get_many(conn, &links.iter().map(|l| l.id.clone()).collect::<Vec<_>>())?;
    let by_id: HashMap<&str, &ContractRow> = below.iter().map(|r| (r.id.as_str(), r)).collect();
    let ordered = links
        .iter()
        .filter_map(|l| by_id.get(l.id.as_str()))
        .map(|r| (r.id.as_str(), r.parent_id.as_deref().unwrap_or_default(), own_owner(r)));
    let mut changed: HashMap<Option<Assignee>, Vec<String>> = HashMap::new();
    for (id, owner) in model::owners_in_force((row.id.as_str(), top.clone()), ordered) {
        if by_id.get(id).is_some_and(|r| effective_owner(r) != owner) {
            changed.entry(owner).or_default().push(id.to_string());
        }
    }
    if effective_owner(row) != top {
        changed.entry(top.clone()).or_default().push(row.id.clone());
    }
    set_effective(row, top.as_ref());
    for (owner, ids) in changed {
        store::set_effective_owner(conn, &ids, owner.as_ref().map(|o| o.parts()))?;
    }
    Ok(())
}

/// The contract's own service level, if it has one.
pub fn own_service_level(row: &ContractRow) -> Option<ServiceLevel> {
    row.service_level.as_deref().cloned()
}

/// The service level in force for a contract: its own, or else the nearest ancestor's, with
/// the id of the contract it comes from.
pub fn effective_service_level(conn: &mut DbConnection, id: &str) -> Result<Option<(String, ServiceLevel)>, ApiError> {
    let chain: Vec<String> = hierarchy::ancestor_ids(conn, Tree::Contracts, id)?.into_iter().map(|l| l.id).collect();
    let rows = store::get_many(conn, &chain)?;
    Ok(chain.iter().find_map(|cid| {
        let row = rows.iter().find(|r| &r.id == cid)?;
        own_service_level(row).map(|l| (row.id.clone(), l))
    }))
}

/// [`effective_service_level`] of a contract already loaded: no query when it has its own, and
/// one per ancestor up to the one that has (contract trees are shallow; past a few levels the
/// rest of the chain is read at once).
pub fn effective_service_level_of(
    conn: &mut DbConnection,
    row: &ContractRow,
) -> Result<Option<(String, ServiceLevel)>, ApiError> {
    let mut parent = match own_service_level(row) {
        Some(level) => return Ok(Some((row.id.clone(), level))),
        None => row.parent_id.clone(),
    };
    for _ in 0..hierarchy::NEAR_LEVELS {
        let Some(id) = parent else { return Ok(None) };
        let Some(row) = store::get(conn, &id)? else { return Ok(None) };
        if let Some(level) = own_service_level(&row) {
            return Ok(Some((row.id, level)));
        }
        parent = row.parent_id;
    }
    match parent {
        Some(id) => effective_service_level(conn, &id),
        None => Ok(None),
    }
}

/// Checks a service level and gives its stored form.
fn encode_service_level(level: ServiceLevel) -> Result<crate::db::column::Json<ServiceLevel>, ApiError> {
    let errors = level.check("service_level");
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(crate::db::column::Json::new(level))
}

pub fn load(conn: &mut DbConnection, id: &str) -> Result<ContractRow, ApiError> {
    store::get(conn, id)?.ok_or_else(|| ApiError::not_found(format!("contract {id} does not exist")))
}

fn record(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    action: &str,
    old: Option<&ContractRow>,
    new: Option<&ContractRow>,
) -> Result<(), ApiError> {
    let snap = |row: Option<&ContractRow>| row.map(snapshot).unwrap_or(Value::Null);
    events::record(conn, ctx, ENTITY, id, action, &snap(old), &snap(new))?;
    Ok(())
}

/// The lowercased text `q` searches in; lowercased here so both backends fold Unicode alike.
pub fn search_text(number: &str, title: &str) -> String {
    format!("{}\n{}", number.to_lowercase(), title.to_lowercase())
}

/// Recomputes the derived dates (end, notice deadline) from the stored facts.
fn derive_dates(row: &mut ContractRow) {
    let term = Term {
        start: row.start_date,
        total_months: row.total_term_months.map(|m| m as u32),
        terminated_on: row.terminated_on,
        notice: row.notice_period.as_deref().and_then(|p| Period::parse(p).ok()),
    };
    row.end_date = term.end_date();
    row.notice_deadline = term.notice_deadline();
}

fn check_months(errors: &mut Vec<FieldError>, field: &str, value: Option<i32>) {
    if let Some(m) = value {
        if !(1..=1200).contains(&m) {
            errors.push(FieldError::new(field, "out_of_range", "must be from 1 to 1200 months"));
        }
    }
}

fn check_notice(errors: &mut Vec<FieldError>, value: Option<&str>) {
    if let Some(p) = value {
        if let Err(m) = Period::parse(p) {
            errors.push(FieldError::new("renewal.notice_period", "invalid_period", m));
        }
    }
}

/// Field checks shared by create and update.
fn check_row(row: &ContractRow) -> Vec<FieldError> {
    let mut errors = Vec::new();
    check_text(&mut errors, "number", &row.number, 64);
    check_text(&mut errors, "title", &row.title, 500);
    check_text(&mut errors, "contract_type", &row.contract_type, 100);
    check_text(&mut errors, "customer_ref", &row.customer_ref, 200);
    if let Some(n) = &row.customer_name {
        check_text(&mut errors, "customer_name", n, 500);
    }
    if let Some(r) = &row.external_ref {
        check_text(&mut errors, "external_ref", r, 200);
    }
    check_months(&mut errors, "term_months", row.term_months);
    check_months(&mut errors, "renewal.term_months", row.renewal_term_months);
    check_notice(&mut errors, row.notice_period.as_deref());
    check_year(&mut errors, "start_date", row.start_date.year());
    if let Some(t) = row.signed_at {
        check_year(&mut errors, "signed_at", t.year());
    }
    if row.auto_renew && row.term_months.is_none() {
        errors.push(FieldError::new(
            "renewal.auto_renew",
            "not_allowed",
            "an open-ended contract (no term_months) cannot renew",
        ));
    }
    errors
}

fn duplicate_number(number: &str, other: &str) -> ApiError {
    ApiError::conflict("duplicate_number", format!("contract number {number} is already used by contract {other}"))
}

fn duplicate_external_ref(external_ref: &str, other: &str) -> ApiError {
    ApiError::conflict(
        "duplicate_external_ref",
        format!("external_ref {external_ref} is already used by contract {other}"),
    )
}

/// Checks up front, for a clear 409, that the contract's number (unless `number_free`:
/// generated as free a moment ago) and external reference are not another contract's; the
/// unique indexes stay the backstop.
fn check_unique(conn: &mut DbConnection, row: &ContractRow, number_free: bool) -> Result<(), ApiError> {
    if !number_free {
        let by_number =
            store::list(conn, &store::ListFilter { number: Some(row.number.clone()), ..Default::default() }, None, 1)?;
        if let Some(other) = by_number.into_iter().find(|o| o.id != row.id) {
            return Err(duplicate_number(&row.number, &other.id));
        }
    }
    if let Some(ext) = &row.external_ref {
        let by_ref =
            store::list(conn, &store::ListFilter { external_ref: Some(ext.clone()), ..Default::default() }, None, 1)?;
        if let Some(other) = by_ref.into_iter().find(|o| o.id != row.id) {
            return Err(duplicate_external_ref(ext, &other.id));
        }
    }
    Ok(())
}

/// Checks the parent exists and that linking to it makes no cycle.
fn check_parent(conn: &mut DbConnection, id: &str, parent_id: Option<&str>) -> Result<(), ApiError> {
    let Some(parent) = parent_id else { return Ok(()) };
    match hierarchy::check_parent(conn, Tree::Contracts, id, parent)? {
        Ok(()) => Ok(()),
        Err(ParentProblem::Missing) => {
            Err(ApiError::invalid("parent_id", "not_found", format!("contract {parent} does not exist")))
        }
        Err(ParentProblem::Cycle) => Err(ApiError::conflict(
            "hierarchy_cycle",
            format!("contract {parent} is this contract or below it; linking would create a cycle"),
        )),
        Err(ParentProblem::TooDeep) => Err(ApiError::invalid(
            "parent_id",
            "too_deep",
            format!("a contract hierarchy has at most {} levels; below {parent} this contract and the ones under it would exceed that", hierarchy::MAX_LEVELS),
        )),
    }
}

/// Validates the attributes against the definitions for the contract's type and stores the
/// canonical set and its index rows (`stored`: the contract had some already, which go; a new
/// one has none to look for).
fn apply_attributes(
    conn: &mut DbConnection,
    row: &mut ContractRow,
    attrs: &Map<String, Value>,
    stored: bool,
) -> Result<(), ApiError> {
    let (canonical, indexed) = attributes::validate(conn, EntityKind::Contract, &row.contract_type, attrs)?;
    row.attributes = crate::db::column::Json::new(canonical);
    if stored {
        attribute_store::replace_values(conn, EntityKind::Contract, &row.id, &indexed)?;
    } else {
        attribute_store::add_values(conn, EntityKind::Contract, &row.id, &indexed)?;
    }
    Ok(())
}

fn number_exhausted() -> ApiError {
    ApiError::conflict("number_exhausted", "no free contract number found; give the number explicitly")
}

fn generate_number(conn: &mut DbConnection, pattern: &str, year: i32) -> Result<String, ApiError> {
    for _ in 0..20 {
        let seq = store::NUMBERS.next(conn)?;
        let number = model::format_number(pattern, year, seq);
        if store::ids_by(conn, store::UniqueKey::Number, std::slice::from_ref(&number))?.is_empty() {
            return Ok(number);
        }
    }
    Err(number_exhausted())
}

/// Builds a new contract's row from its input and checks its fields, without I/O; gives the
/// row (attributes not yet set) and the attributes to validate.
fn new_row(
    input: ContractIn,
    number: String,
    now: NaiveDateTime,
) -> Result<(ContractRow, Map<String, Value>), ApiError> {
    let renewal = input.renewal.unwrap_or_default();
    let mut row = ContractRow {
        id: uuid::Uuid::now_v7().to_string(),
        number,
        search_text: String::new(),
        title: input.title,
        contract_type: input.contract_type,
        customer_ref: input.customer_ref,
        customer_name: input.customer_name,
        status: input.status.unwrap_or(Status::Draft),
        start_date: input.start_date,
        term_months: input.term_months,
        total_term_months: input.term_months,
        end_date: None,
        auto_renew: renewal.auto_renew,
        renewal_term_months: renewal.term_months,
        notice_period: renewal.notice_period,
        notice_deadline: None,
        signed_at: input.signed_at.map(|t| crate::clock::to_micros(t).naive_utc()),
        terminated_on: None,
        termination_reason: None,
        external_ref: input.external_ref,
        parent_id: input.parent_id,
        attributes: Default::default(),
        version: 1,
        created_at: now,
        updated_at: now,
        service_level: None,
        owner_kind: None,
        owner_name: None,
        effective_owner_kind: None,
        effective_owner_name: None,
        reminders: None,
    };
    let errors = check_row(&row);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    row.service_level = input.service_level.map(encode_service_level).transpose()?;
    (row.owner_kind, row.owner_name) = owner_parts(input.owner.as_ref())?;
    row.reminders = encode_reminders(input.reminders)?;
    derive_dates(&mut row);
    row.search_text = search_text(&row.number, &row.title);
    Ok((row, input.attributes.unwrap_or_default()))
}

pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    mut input: ContractIn,
    number_pattern: &str,
) -> Result<ContractRow, ApiError> {
    let generated = input.number.is_none();
    let number = match input.number.take() {
        Some(n) => n,
        None => generate_number(conn, number_pattern, ctx.today().year())?,
    };
    let (mut row, attrs) = new_row(input, number, ctx.now.naive_utc())?;
    check_parent(conn, &row.id, row.parent_id.as_deref())?;
    check_unique(conn, &row, generated)?;
    apply_attributes(conn, &mut row, &attrs, false)?;
    let owner = match own_owner(&row) {
        Some(o) => Some(o),
        None => inherited_owner(conn, row.parent_id.as_deref())?,
    };
    set_effective(&mut row, owner.as_ref());
    store::insert(conn, &row)?;
    record(conn, ctx, &row.id, "created", None, Some(&row))?;
    Ok(row)
}

/// What [`create_many`] knows while it takes its inputs in order: the numbers and external
/// references taken so far (stored, or by an earlier input), the running numbers it reserved
/// and how many of them the inputs so far used, and the attribute rules of each contract type
/// met.
struct Batch<'a> {
    pattern: &'a str,
    year: i32,
    reserved: Vec<i64>,
    used: usize,
    /// The first this many reserved numbers were looked up in the database up front.
    looked_up: usize,
    numbers: HashMap<String, String>,
    refs: HashMap<String, String>,
    rules: HashMap<String, Vec<Rule>>,
}

impl Batch<'_> {
    /// The next free generated number, as [`generate_number`] would find it.
    fn next_number(&mut self, conn: &mut DbConnection) -> Result<String, ApiError> {
        for _ in 0..20 {
            if self.used == self.reserved.len() {
                self.reserved.push(store::NUMBERS.next(conn)?);
            }
            let number = model::format_number(self.pattern, self.year, self.reserved[self.used]);
            self.used += 1;
            if self.used > self.looked_up {
                self.numbers.extend(store::ids_by(conn, store::UniqueKey::Number, std::slice::from_ref(&number))?);
            }
            if !self.numbers.contains_key(&number) {
                return Ok(number);
            }
        }
        Err(number_exhausted())
    }

    /// Checks one input as [`create`] does, in the same order; gives its row and index values.
    fn accept(
        &mut self,
        conn: &mut DbConnection,
        mut input: ContractIn,
        now: NaiveDateTime,
    ) -> Result<(ContractRow, Vec<IndexedValue>), ApiError> {
        let explicit = input.number.is_some();
        let number = match input.number.take() {
            Some(n) => n,
            None => self.next_number(conn)?,
        };
        let (mut row, attrs) = new_row(input, number, now)?;
        check_parent(conn, &row.id, row.parent_id.as_deref())?;
        if let Some(other) = self.numbers.get(&row.number).filter(|_| explicit) {
            return Err(duplicate_number(&row.number, other));
        }
        if let Some((r, other)) = row.external_ref.as_ref().and_then(|r| self.refs.get_key_value(r)) {
            return Err(duplicate_external_ref(r, other));
        }
        if !self.rules.contains_key(&row.contract_type) {
            let in_force = attributes::rules_in_force(conn, EntityKind::Contract, &row.contract_type)?;
            self.rules.insert(row.contract_type.clone(), in_force);
        }
        let (canonical, indexed) =
            attribute_model::validate(&attrs, &self.rules[&row.contract_type]).map_err(ApiError::validation)?;
        row.attributes = crate::db::column::Json::new(canonical);
        Ok((row, indexed))
    }
}

/// Creates many contracts at once, as [`create`] would one after the other, for bulk imports:
/// the same checks in the same order, but the lookups run once for all (one query per unique
/// key, the attribute definitions once per contract type) and the rows, index values and
/// events are written in a few statements. Gives each input's contract or the problem that
/// refused it, in input order; a refused input writes nothing, and the number it took goes to
/// the next input (numbers left over at the end are given back, see [`store::NUMBERS`]). A parent
/// must already be stored: an input cannot be the parent of another. An error of the whole
/// (`Err`) may leave some rows written: run it in a savepoint.
pub fn create_many(
    conn: &mut DbConnection,
    ctx: &Ctx,
    inputs: Vec<ContractIn>,
    number_pattern: &str,
) -> Result<Vec<Result<ContractRow, ApiError>>, ApiError> {
    let (now, year) = (ctx.now.naive_utc(), ctx.today().year());
    let to_generate = inputs.iter().filter(|i| i.number.is_none()).count() as i64;
    let reserved = store::NUMBERS.take(conn, to_generate)?;
    let mut numbers: Vec<String> = inputs.iter().filter_map(|i| i.number.clone()).collect();
    numbers.extend(reserved.iter().map(|seq| model::format_number(number_pattern, year, *seq)));
    let refs: Vec<String> = inputs.iter().filter_map(|i| i.external_ref.clone()).collect();
    let mut batch = Batch {
        pattern: number_pattern,
        year,
        looked_up: reserved.len(),
        reserved,
        used: 0,
        numbers: store::ids_by(conn, store::UniqueKey::Number, &numbers)?.into_iter().collect(),
        refs: store::ids_by(conn, store::UniqueKey::ExternalRef, &refs)?.into_iter().collect(),
        rules: HashMap::new(),
    };
    let (mut results, mut created, mut values) = (Vec::with_capacity(inputs.len()), Vec::new(), Vec::new());
    for input in inputs {
        let used_before = batch.used;
        match batch.accept(conn, input, now) {
            Ok((row, indexed)) => {
                values.extend(indexed.iter().map(|v| AttributeValueRow::of(EntityKind::Contract, &row.id, v)));
                batch.numbers.insert(row.number.clone(), row.id.clone());
                if let Some(r) = &row.external_ref {
                    batch.refs.insert(r.clone(), row.id.clone());
                }
                results.push(Ok(row.clone()));
                created.push(row);
            }
            Err(e) => {
                // The number a refused input took goes to the next one, as a refused `create` rolls back.
                batch.used = used_before;
                results.push(Err(e));
            }
        }
    }
    store::NUMBERS.give_back(conn, (batch.reserved.len() - batch.used) as i64)?;
    // Owners in force: the own one, or the (stored) parent's; the parents read at once.
    let parents: Vec<String> =
        created.iter().filter(|r| r.owner_kind.is_none()).filter_map(|r| r.parent_id.clone()).collect();
    let parents: HashMap<String, Option<Assignee>> =
        store::get_many(conn, &parents)?.iter().map(|p| (p.id.clone(), effective_owner(p))).collect();
    for row in &mut created {
        let owner = own_owner(row).or_else(|| row.parent_id.as_ref().and_then(|p| parents.get(p)).cloned().flatten());
        set_effective(row, owner.as_ref());
    }
    store::insert_many(conn, &created)?;
    attribute_store::insert_values(conn, &values)?;
    let snapshots: Vec<(&str, Value)> = created.iter().map(|r| (r.id.as_str(), snapshot(r))).collect();
    events::record_created(conn, ctx, ENTITY, &snapshots)?;
    Ok(results)
}

pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    patch: ContractPatch,
    expected: &Expected,
    hooks: &ContractHooks,
) -> Result<ContractRow, ApiError> {
    if let Patch::Value(parent) = &patch.parent_id {
        hierarchy::hold_trees(conn, Tree::Contracts, id, parent)?;
    }
    Hold::Update.row(conn, "contracts", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    let mut row = old.clone();
    let mut cleared = Vec::new();
    let mut required = |field: &str, p: Patch<String>, current: String| {
        p.require(field, current.clone()).unwrap_or_else(|e| {
            cleared.push(e);
            current
        })
    };
    row.number = required("number", patch.number, row.number);
    row.title = required("title", patch.title, row.title);
    row.contract_type = required("contract_type", patch.contract_type, row.contract_type);
    row.customer_ref = required("customer_ref", patch.customer_ref, row.customer_ref);
    row.start_date = patch.start_date.require("start_date", row.start_date).unwrap_or_else(|e| {
        cleared.push(e);
        old.start_date
    });
    if !cleared.is_empty() {
        return Err(ApiError::validation(cleared));
    }
    row.customer_name = patch.customer_name.apply_to(row.customer_name);
    if !patch.term_months.is_absent() {
        let renewed = old.total_term_months.unwrap_or(0) - old.term_months.unwrap_or(0);
        row.term_months = patch.term_months.apply_to(row.term_months);
        row.total_term_months = row.term_months.map(|t| t + renewed.max(0));
    }
    if let Some(r) = patch.renewal {
        if let Some(a) = r.auto_renew {
            row.auto_renew = a;
        }
        row.renewal_term_months = r.term_months.apply_to(row.renewal_term_months);
        row.notice_period = r.notice_period.apply_to(row.notice_period);
    }
    row.signed_at = match patch.signed_at {
        Patch::Absent => row.signed_at,
        Patch::Null => None,
        Patch::Value(t) => Some(crate::clock::to_micros(t).naive_utc()),
    };
    row.external_ref = patch.external_ref.apply_to(row.external_ref);
    row.service_level = match patch.service_level {
        Patch::Absent => row.service_level,
        Patch::Null => None,
        Patch::Value(level) => Some(encode_service_level(level)?),
    };
    let owner_changed = !patch.owner.is_absent();
    if owner_changed {
        let owner = patch.owner.apply_to(own_owner(&old));
        (row.owner_kind, row.owner_name) = owner_parts(owner.as_ref())?;
    }
    row.reminders = match patch.reminders {
        Patch::Absent => row.reminders,
        Patch::Null => None,
        Patch::Value(list) => encode_reminders(Some(list))?,
    };
    let parent_changed = !patch.parent_id.is_absent();
    row.parent_id = patch.parent_id.apply_to(row.parent_id);
    let errors = check_row(&row);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if parent_changed {
        check_parent(conn, &row.id, row.parent_id.as_deref())?;
    }
    if (&row.number, &row.external_ref) != (&old.number, &old.external_ref) {
        check_unique(conn, &row, false)?;
    }
    derive_dates(&mut row);
    if let Some(end) = row.end_date.filter(|end| *end < row.start_date) {
        return Err(ApiError::invalid(
            "start_date",
            "after_end",
            format!("the contract ends on {end}; it cannot start after that"),
        ));
    }
    row.search_text = search_text(&row.number, &row.title);
    let current: Map<String, Value> = (*old.attributes).clone();
    let attrs = match &patch.attributes {
        Some(p) => merge(&current, p),
        None => current,
    };
    if patch.attributes.is_some() || row.contract_type != old.contract_type {
        apply_attributes(conn, &mut row, &attrs, true)?;
    }
    if row == old {
        return Ok(old);
    }
    row.version = old.version + 1;
    row.updated_at = ctx.now.naive_utc();
    if !store::update(conn, &row, old.version)? {
        return Err(ApiError::conflict(
            "concurrent_update",
            "the contract changed meanwhile; fetch it again and retry",
        ));
    }
    record(conn, ctx, id, "updated", Some(&old), Some(&row))?;
    if (owner_changed || parent_changed) && (own_owner(&old), &old.parent_id) != (own_owner(&row), &row.parent_id) {
        follow_owner(conn, &mut row)?;
    }
    follow_reminders(conn, ctx, &old, &row)?;
    (hooks.changed)(conn, ctx, &[(&old, &row)])?;
    Ok(row)
}

pub fn delete(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    expected: &Expected,
    hooks: &ContractHooks,
) -> Result<(), ApiError> {
    Hold::Update.row(conn, "contracts", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    if store::has_children(conn, id)? {
        return Err(ApiError::conflict("has_children", "the contract has child contracts; delete or move them first"));
    }
    if let Some(refusal) = (hooks.held_by)(conn, id)? {
        return Err(refusal);
    }
    if crate::tasks::store::contract_has_tasks(conn, id)? {
        return Err(ApiError::conflict(
            "has_tasks",
            "tasks on the worklist belong to the contract (reminders, service actions); it stays as their record",
        ));
    }
    attribute_store::delete_values(conn, EntityKind::Contract, id)?;
    store::delete(conn, id)?;
    record(conn, ctx, id, "deleted", Some(&old), None)
}

/// The arguments a lifecycle verb may carry.
#[derive(Clone)]
pub enum Verb {
    Activate,
    Suspend,
    Terminate(TerminateIn),
    Renew(RenewIn),
}

pub fn act(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    verb: Verb,
    expected: &Expected,
    hooks: &ContractHooks,
) -> Result<ContractRow, ApiError> {
    Hold::Update.row(conn, "contracts", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    let action = match &verb {
        Verb::Activate => Action::Activate,
        Verb::Suspend => Action::Suspend,
        Verb::Terminate(_) => Action::Terminate,
        Verb::Renew(_) => Action::Renew,
    };
    let from = old.status;
    let to = model::transition(from, action).ok_or_else(|| {
        ApiError::conflict("invalid_transition", format!("a {} contract cannot {}", from.as_str(), action.as_str()))
    })?;
    let mut row = old.clone();
    row.status = to;
    match verb {
        Verb::Activate | Verb::Suspend => {}
        Verb::Terminate(t) => {
            let effective = t.effective_date.unwrap_or_else(|| ctx.today());
            let mut errors = Vec::new();
            check_year(&mut errors, "effective_date", effective.year());
            if !errors.is_empty() {
                return Err(ApiError::validation(errors));
            }
            if effective < row.start_date {
                return Err(ApiError::invalid(
                    "effective_date",
                    "before_start",
                    format!("the contract starts on {}", row.start_date),
                ));
            }
            if let Some(end) = row.end_date {
                if effective > end {
                    return Err(ApiError::invalid(
                        "effective_date",
                        "after_end",
                        format!("the contract already ends on {end}"),
                    ));
                }
            }
            row.terminated_on = Some(effective);
            row.termination_reason = t.reason;
            row.auto_renew = false;
        }
        Verb::Renew(r) => {
            let months = r.term_months.or(row.renewal_term_months).or(row.term_months);
            match (row.total_term_months, months) {
                (Some(total), Some(m)) => row.total_term_months = Some(total + m),
                _ => return Err(ApiError::conflict("not_renewable", "an open-ended contract has no term to renew")),
            }
        }
    }
    derive_dates(&mut row);
    if row.end_date.is_some_and(|end| end.year() > 2999) {
        return Err(ApiError::conflict("not_renewable", "the contract would run past the year 2999"));
    }
    row.version = old.version + 1;
    row.updated_at = ctx.now.naive_utc();
    if !store::update(conn, &row, old.version)? {
        return Err(ApiError::conflict(
            "concurrent_update",
            "the contract changed meanwhile; fetch it again and retry",
        ));
    }
    record(conn, ctx, id, action.past_tense(), Some(&old), Some(&row))?;
    follow_reminders(conn, ctx, &old, &row)?;
    (hooks.changed)(conn, ctx, &[(&old, &row)])?;
    Ok(row)
}

/// What a renewal pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RenewalPass {
    pub renewed: usize,
    pub expired: usize,
}

/// Renews the auto-renewing contracts among `rows` whose end date has passed and expires the
/// others, all at once: one statement each writes the contracts, their events, their coverage
/// and finds their obligations, however many contracts there are. Gives each contract's
/// action, `None` for one with nothing to do or that changed since it was read.
///
/// Safe to run on several instances at once: each change is a conditional update on the
/// version that was read, so a contract another instance already handled is skipped.
pub fn end_of_term(
    conn: &mut DbConnection,
    ctx: &Ctx,
    rows: &[ContractRow],
    hooks: &ContractHooks,
) -> Result<Vec<Option<Action>>, ApiError> {
    let planned: Vec<(usize, ContractRow, Action)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, row)| term_end(ctx, row).map(|(new, action)| (i, new, action)))
        .collect();
    let written: std::collections::HashSet<String> =
        store::update_terms(conn, &planned.iter().map(|(_, new, _)| new).collect::<Vec<_>>())?.into_iter().collect();
    let done: Vec<(usize, ContractRow, Action)> =
        planned.into_iter().filter(|(_, new, _)| written.contains(&new.id)).collect();
    let snapshots: Vec<(Value, Value)> = done.iter().map(|(i, new, _)| (snapshot(&rows[*i]), snapshot(new))).collect();
    let changes: Vec<_> = done
        .iter()
        .zip(&snapshots)
        .map(|((_, new, action), (before, after))| (new.id.as_str(), action.past_tense(), before, after))
        .collect();
    events::record_many(conn, ctx, ENTITY, &changes)?;
    let pairs: Vec<(&ContractRow, &ContractRow)> = done.iter().map(|(i, new, _)| (&rows[*i], new)).collect();
    (hooks.changed)(conn, ctx, &pairs)?;
    let mut out = vec![None; rows.len()];
    for (i, _, action) in done {
        out[i] = Some(action);
    }
    Ok(out)
}

/// What the end of its term makes of a contract whose end date has passed, as of `ctx`'s day:
/// an auto-renewing active one renewed by as many terms as have run out, any other one in
/// force expired; `None` when there is nothing to do.
fn term_end(ctx: &Ctx, row: &ContractRow) -> Option<(ContractRow, Action)> {
    let mut new = row.clone();
    let action = if row.status == Status::Active && row.auto_renew && row.terminated_on.is_none() {
        let months = row.renewal_term_months.or(row.term_months).unwrap_or(0).max(0) as u32;
        let total = row.total_term_months.unwrap_or(0).max(0) as u32;
        let n = model::renewals_due(row.start_date, total, months, ctx.today());
        if n == 0 {
            return None;
        }
        new.total_term_months = Some((total + n * months) as i32);
        Action::Renew
    } else {
        let to = model::transition(row.status, Action::Expire)?;
        new.status = to;
        Action::Expire
    };
    derive_dates(&mut new);
    new.version = row.version + 1;
    new.updated_at = ctx.now.naive_utc();
    Some((new, action))
}

/// After a change of a contract's dates or status: cancels its open reminder tasks of a
/// deadline still ahead that is no longer one of its own (a term changed, an early renewal, a
/// termination), so the worklist does not keep a deadline that moved or went away. Those of a
/// deadline that passed stay, overdue, as the record of a reminder that was not acted on.
fn follow_reminders(conn: &mut DbConnection, ctx: &Ctx, old: &ContractRow, new: &ContractRow) -> Result<(), ApiError> {
    let deadlines = deadlines_of(new);
    if deadlines_of(old) == deadlines {
        return Ok(());
    }
    let filter = crate::tasks::store::ListFilter {
        contract_id: Some(new.id.clone()),
        kind: Some(crate::tasks::model::Kind::Reminder.as_str().into()),
        statuses: crate::tasks::store::OPEN.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let stale: Vec<_> = crate::tasks::store::list(conn, &filter, None, 1000)?
        .into_iter()
        .filter(|t| t.due_date >= ctx.today())
        .filter(|t| deadlines.notice != Some(t.due_date) && deadlines.end != Some(t.due_date))
        .collect();
    crate::tasks::service::cancel_open(conn, ctx, stale, "the contract's deadline moved or went away")?;
    Ok(())
}

/// Who gets the reminders of a contract without an owner anywhere up its hierarchy.
pub const UNOWNED_REMINDERS_TO: &str = "contract_manager";

/// Fires the reminders of `rows` that are due on `ctx`'s day (see [`model::due_reminders`]):
/// for each, a `reminder` task on the worklist of the contract's owner in force (the role
/// [`UNOWNED_REMINDERS_TO`] when it has none) due on the deadline, and a
/// `contract.notice_approaching` or `contract.expiring` event. Each fires once per contract,
/// reminder and deadline: its firing is keyed on those in the same transaction as its task and
/// event, so a second pass, or one of another instance at the same moment, adds nothing. Gives
/// how many fired.
pub fn fire_reminders(
    conn: &mut DbConnection,
    ctx: &Ctx,
    defaults: &ReminderDefaults,
    rows: &[ContractRow],
) -> Result<usize, ApiError> {
    let (today, now) = (ctx.today(), ctx.now.naive_utc());
    let mut tasks = Vec::new();
    let mut fired = Vec::new();
    for row in rows {
        for due in model::due_reminders(&deadlines_of(row), &reminders_of(row, defaults), today) {
            let key = due.reminder.key();
            let assignee = effective_owner(row).unwrap_or_else(|| Assignee::Role(UNOWNED_REMINDERS_TO.into()));
            let (title, description) = match due.reminder.before {
                model::Anchor::NoticeDeadline => (
                    format!("Notice deadline {}: {} {}", due.deadline, row.number, row.title),
                    format!(
                        "Last day to give notice on contract {} is {} ({} days from the reminder).",
                        row.number, due.deadline, due.reminder.days
                    ),
                ),
                model::Anchor::EndDate => (
                    format!("Contract ends {}: {} {}", due.deadline, row.number, row.title),
                    format!(
                        "Contract {} ends on {} and does not renew by itself ({} days from the reminder).",
                        row.number, due.deadline, due.reminder.days
                    ),
                ),
            };
            let mut task = crate::tasks::store::TaskRow::open(
                crate::tasks::model::Kind::Reminder,
                title,
                &assignee,
                due.deadline,
                now,
            );
            if !store::claim_reminder(conn, &row.id, &key, due.deadline, &task.id, now)? {
                continue;
            }
            task.description = Some(description);
            task.contract_id = Some(row.id.clone());
            task.occurrence_key = Some(format!("reminder:{}:{key}:{}", row.id, due.deadline));
            fired.push((
                row.id.as_str(),
                due.reminder.before.event_action(),
                crate::events::model::diff(
                    &Value::Null,
                    &serde_json::json!({"reminder": {
                        "before": due.reminder.before, "days": due.reminder.days, "deadline": due.deadline,
                        "day": due.day, "task_id": task.id, "assignee": assignee,
                    }}),
                ),
            ));
            tasks.push(task);
        }
    }
    crate::tasks::service::create(conn, ctx, &tasks)?;
    let list: Vec<events::NewEvent> = fired
        .iter()
        .map(|(id, action, changes)| events::NewEvent {
            entity_type: ENTITY,
            entity_id: id,
            action,
            actor: ctx.actor,
            at: now,
            changes,
        })
        .collect();
    events::append_many(conn, &list)?;
    Ok(fired.len())
}
