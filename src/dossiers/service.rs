//! Dossier use cases: versioned dossier types, dossiers and their attributes, rules firing
//! exactly once, posted business events, date triggers for the scheduler, and `as_of`.
//! Each runs inside the caller's transaction and appends its events there.

use super::input::{DossierIn, DossierPatch, DossierTypeIn, DossierTypePatch, EventIn};
use super::model::{self, AttributeDef, RuleDef, Trigger, TriggerStatus};
use super::store::{self, BusinessEventRow, DossierRow, FiringRow, TriggerRow, TypeRow, TypeVersionRow};
use crate::attributes::model::{merge, DataType, EntityKind, Rule, Validated};
use crate::attributes::store as attribute_store;
use crate::db::Expected;
use crate::db::{DbConnection, Hold};
use crate::error::{check_text, ApiError, FieldError};
use crate::events::{store as events, Ctx};
use crate::tasks::model::Assignee;
use chrono::NaiveDate;
use diesel::QueryResult;
use serde_json::{Map, Value};

/// Starts workflow `key` on a dossier with `responsible` for the rule `rule_key`, in the
/// caller's transaction; gives the instance's id.
pub type StartWorkflow =
    fn(&mut DbConnection, &Ctx, &DossierRow, &str, Option<Assignee>, Option<&str>) -> Result<String, ApiError>;

/// What dossiers ask of the workflows that run on them. Dossiers know no workflow code:
/// `flows::dossier_hooks` fills this in and `startup` registers it.
#[derive(Clone, Copy)]
pub struct DossierHooks {
    /// Whether a workflow with this key is defined (a rule may only start one that is).
    pub workflow_exists: fn(&mut DbConnection, &str) -> QueryResult<bool>,
    /// How many workflows run on the dossier with this id (it cannot close while one does).
    pub workflows_running: fn(&mut DbConnection, &str) -> QueryResult<i64>,
    /// Starts workflow `key` on the dossier with `responsible` (default: the dossier's owner)
    /// for the rule `rule_key`, in the caller's transaction; gives the instance's id.
    pub start_workflow: StartWorkflow,
}

pub const ENTITY: &str = "dossier";
pub const TYPE_ENTITY: &str = "dossier_type";
pub const FIRING_ENTITY: &str = "rule_firing";
pub const EVENT_ENTITY: &str = "dossier_event";

/// What a type version says, parsed.
pub struct TypeDef {
    pub attributes: Vec<AttributeDef>,
    pub rules: Vec<RuleDef>,
    pub default_owner: Option<Assignee>,
}

pub fn def_of(v: &TypeVersionRow) -> TypeDef {
    TypeDef {
        attributes: (*v.attributes).clone(),
        rules: (*v.rules).clone(),
        default_owner: match (&v.default_owner_kind, &v.default_owner_name) {
            (Some(k), Some(n)) => Some(Assignee::from_parts(*k, n)),
            _ => None,
        },
    }
}

fn type_snapshot(t: &TypeRow, v: &TypeVersionRow) -> Value {
    let d = def_of(v);
    serde_json::json!({"key": t.key, "name": v.name, "description": v.description, "attributes": d.attributes,
                       "default_owner": d.default_owner, "rules": d.rules, "type_version": v.version})
}

pub fn attrs_of(d: &DossierRow) -> Map<String, Value> {
    (*d.attributes).clone()
}

/// The JSON form of a dossier used for history diffs (and rebuilt by `as_of`).
pub fn snapshot(d: &DossierRow) -> Value {
    serde_json::json!({
        "type": d.type_key, "type_version": d.type_version, "customer_ref": d.customer_ref,
        "contract_id": d.contract_id, "owner": Assignee::from_parts(d.owner_kind, &d.owner_name),
        "status": d.status, "attributes": Value::Object(attrs_of(d)),
    })
}

// ---------------------------------------------------------------------------------------------
// dossier types

pub fn load_type(conn: &mut DbConnection, id_or_key: &str) -> Result<(TypeRow, TypeVersionRow), ApiError> {
    let t = store::type_by_id_or_key(conn, id_or_key)?
        .ok_or_else(|| ApiError::not_found(format!("dossier type {id_or_key} does not exist")))?;
    let v = load_type_version(conn, &t, t.version)?;
    Ok((t, v))
}

pub fn load_type_version(conn: &mut DbConnection, t: &TypeRow, version: i64) -> Result<TypeVersionRow, ApiError> {
    store::type_version(conn, &t.id, version)?
        .ok_or_else(|| ApiError::not_found(format!("dossier type {} has no version {version}", t.key)))
}

/// Checks a type version: its texts, schema and rules, and that each attribute key keeps one
/// data type across dossier types and global dossier attribute definitions.
fn check_type(
    conn: &mut DbConnection,
    type_key: &str,
    name: &str,
    description: Option<&String>,
    d: &TypeDef,
    hooks: &DossierHooks,
) -> Result<(), ApiError> {
    // A type's schema keys and the global dossier definitions must agree: changed alone.
    attribute_store::hold_definitions(conn, EntityKind::Dossier, Hold::Update)?;
    let mut errors = Vec::new();
    check_text(&mut errors, "name", name, 200);
    if description.is_some_and(|x| x.chars().count() > 10_000) {
        errors.push(FieldError::new("description", "too_long", "at most 10000 characters"));
    }
    if let Some(Err(m)) = d.default_owner.as_ref().map(Assignee::check) {
        errors.push(FieldError::new("default_owner", "invalid_value", m));
    }
    let global: Vec<(String, DataType)> = attribute_store::in_force(conn, EntityKind::Dossier, type_key)?
        .iter()
        .map(|def| (def.key.clone(), crate::attributes::service::rule_of(def).data_type))
        .collect();
    let mut lookup_failed = None;
    let mut exists = |key: &str| match (hooks.workflow_exists)(conn, key) {
        Ok(exists) => exists,
        Err(e) => {
            lookup_failed = Some(e);
            true
        }
    };
    errors.extend(model::validate_type(&d.attributes, &global, &d.rules, &mut exists));
    if let Some(e) = lookup_failed {
        return Err(e.into());
    }
    let others: Vec<(String, TypeDef)> = store::current_type_versions(conn)?
        .into_iter()
        .filter(|(t, _)| t.key != type_key)
        .map(|(t, v)| (t.key, def_of(&v)))
        .collect();
    for (i, a) in d.attributes.iter().enumerate() {
        for def in attribute_store::by_key(conn, EntityKind::Dossier, &a.key)? {
            if def.scope.is_empty() || def.scope == type_key {
                errors.push(FieldError::new(
                    format!("attributes[{i}].key"),
                    "attribute_key_conflict",
                    format!("`{}` is already an attribute definition for these dossiers ({})", a.key, def.id),
                ));
            } else if def.data_type != a.data_type {
                errors.push(FieldError::new(
                    format!("attributes[{i}].key"),
                    "attribute_key_conflict",
                    format!(
                        "`{}` is {} elsewhere; one key keeps one type so `attr.{}` filters mean one thing",
                        a.key,
                        def.data_type.as_str(),
                        a.key
                    ),
                ));
            }
        }
        for (other_key, other) in &others {
            if let Some(o) = other.attributes.iter().find(|o| o.key == a.key && o.data_type != a.data_type) {
                errors.push(FieldError::new(
                    format!("attributes[{i}].key"),
                    "attribute_key_conflict",
                    format!(
                        "`{}` is {} on dossier type `{other_key}`; one key keeps one type",
                        a.key,
                        o.data_type.as_str()
                    ),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

fn version_row(t: &TypeRow, ctx: &Ctx, name: String, description: Option<String>, d: &TypeDef) -> TypeVersionRow {
    let owner = d.default_owner.as_ref().map(|o| o.parts());
    TypeVersionRow {
        type_id: t.id.clone(),
        version: t.version,
        name,
        description,
        attributes: crate::db::column::Json::new(d.attributes.clone()),
        default_owner_kind: owner.map(|o| o.0),
        default_owner_name: owner.map(|o| o.1.to_string()),
        rules: crate::db::column::Json::new(d.rules.clone()),
        created_by: ctx.actor.to_string(),
        created_at: ctx.now.naive_utc(),
    }
}

pub fn create_type(
    conn: &mut DbConnection,
    ctx: &Ctx,
    input: DossierTypeIn,
    hooks: &DossierHooks,
) -> Result<(TypeRow, TypeVersionRow), ApiError> {
    if !crate::attributes::model::valid_key(&input.key) {
        return Err(ApiError::invalid("key", "invalid_key", "use snake_case (at most 63 characters)"));
    }
    let d = TypeDef { attributes: input.attributes, rules: input.rules, default_owner: input.default_owner };
    check_type(conn, &input.key, &input.name, input.description.as_ref(), &d, hooks)?;
    if store::type_by_key(conn, &input.key)?.is_some() {
        return Err(ApiError::conflict("duplicate_key", format!("a dossier type `{}` already exists", input.key)));
    }
    let now = ctx.now.naive_utc();
    let t = TypeRow {
        id: uuid::Uuid::now_v7().to_string(),
        key: input.key,
        name: input.name.clone(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let v = version_row(&t, ctx, input.name, input.description, &d);
    store::insert_type(conn, &t)?;
    store::insert_type_version(conn, &v)?;
    events::record(conn, ctx, TYPE_ENTITY, &t.id, "created", &Value::Null, &type_snapshot(&t, &v))?;
    Ok((t, v))
}

/// A change makes a new version; existing dossiers stay on the version they have.
pub fn update_type(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    patch: DossierTypePatch,
    expected: &Expected,
    hooks: &DossierHooks,
) -> Result<(TypeRow, TypeVersionRow), ApiError> {
    // Found by id or key; held by id, then read again as the last write left it.
    let (found, _) = load_type(conn, id)?;
    Hold::Update.row(conn, "dossier_types", &found.id)?;
    let (old, old_v) = load_type(conn, &found.id)?;
    expected.check(old.version)?;
    let cur = def_of(&old_v);
    let mut errors = Vec::new();
    let name = patch.name.require("name", old_v.name.clone()).unwrap_or_else(|e| {
        errors.push(e);
        old_v.name.clone()
    });
    let description = patch.description.apply_to(old_v.description.clone());
    let d = TypeDef {
        attributes: patch.attributes.apply_to(Some(cur.attributes.clone())).unwrap_or_default(),
        rules: patch.rules.apply_to(Some(cur.rules.clone())).unwrap_or_default(),
        default_owner: patch.default_owner.apply_to(cur.default_owner.clone()),
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    check_type(conn, &old.key, &name, description.as_ref(), &d, hooks)?;
    if name == old_v.name
        && description == old_v.description
        && d.attributes == cur.attributes
        && d.rules == cur.rules
        && d.default_owner == cur.default_owner
    {
        return Ok((old, old_v));
    }
    let t = TypeRow { name: name.clone(), version: old.version + 1, updated_at: ctx.now.naive_utc(), ..old.clone() };
    let v = version_row(&t, ctx, name, description, &d);
    if !store::update_type(conn, &t, old.version)? {
        return Err(ApiError::conflict(
            "concurrent_update",
            "the dossier type changed meanwhile; fetch it again and retry",
        ));
    }
    store::insert_type_version(conn, &v)?;
    events::record(conn, ctx, TYPE_ENTITY, &t.id, "updated", &type_snapshot(&old, &old_v), &type_snapshot(&t, &v))?;
    Ok((t, v))
}

// ---------------------------------------------------------------------------------------------
// dossiers

pub fn load(conn: &mut DbConnection, id: &str) -> Result<DossierRow, ApiError> {
    store::get(conn, id)?.ok_or_else(|| ApiError::not_found(format!("dossier {id} does not exist")))
}

/// Whose dossiers the caller reads: `None` for the roles that read every one, else the caller
/// with the types whose current version names it (the rule is `model::may_read`).
pub fn reader(conn: &mut DbConnection, sub: &str, roles: &[String]) -> Result<Option<store::Reader>, ApiError> {
    if model::reads_every_dossier(roles) {
        return Ok(None);
    }
    let type_keys = store::current_type_versions(conn)?
        .into_iter()
        .filter(|(_, v)| {
            let d = def_of(v);
            model::named_by_type(d.default_owner.as_ref(), &d.rules).iter().any(|a| a.is(sub, roles))
        })
        .map(|(t, _)| t.key)
        .collect();
    Ok(Some(store::Reader { sub: sub.to_string(), roles: roles.to_vec(), type_keys }))
}

/// A dossier the caller may read. One it may not is a 404 like a missing one, so that its
/// existence is not given away either.
pub fn load_readable(conn: &mut DbConnection, id: &str, sub: &str, roles: &[String]) -> Result<DossierRow, ApiError> {
    let reader = reader(conn, sub, roles)?;
    store::get_readable(conn, id, reader.as_ref())?
        .ok_or_else(|| ApiError::not_found(format!("dossier {id} does not exist")))
}

/// A dossier that can still change: 409 when it is closed.
pub fn load_open(conn: &mut DbConnection, id: &str) -> Result<DossierRow, ApiError> {
    Hold::Update.row(conn, "dossiers", id)?;
    let d = load(conn, id)?;
    if d.status != model::DossierStatus::Open {
        return Err(ApiError::conflict("dossier_closed", "the dossier is closed; reopen it first"));
    }
    Ok(d)
}

/// The type version a dossier is on.
pub fn version_of(conn: &mut DbConnection, d: &DossierRow) -> Result<TypeVersionRow, ApiError> {
    store::type_version(conn, &d.type_id, d.type_version)?
        .ok_or_else(|| ApiError::internal(format!("dossier {} is on a missing type version", d.id)))
}

/// The validation rules for a dossier of `type_key` on a version with `schema`: the version's
/// attributes plus global dossier attribute definitions (unscoped or scoped to the type).
fn validate_attributes(
    conn: &mut DbConnection,
    type_key: &str,
    schema: &[AttributeDef],
    attrs: &Map<String, Value>,
) -> Result<Validated, ApiError> {
    let mut rules: Vec<Rule> = schema.iter().map(AttributeDef::rule).collect();
    for def in attribute_store::in_force(conn, EntityKind::Dossier, type_key)? {
        if !schema.iter().any(|a| a.key == def.key) {
            rules.push(crate::attributes::service::rule_of(&def));
        }
    }
    crate::attributes::model::validate(attrs, &rules).map_err(ApiError::validation)
}

fn apply_attributes(
    conn: &mut DbConnection,
    row: &mut DossierRow,
    schema: &[AttributeDef],
    attrs: &Map<String, Value>,
) -> Result<(), ApiError> {
    let (canonical, indexed) = validate_attributes(conn, &row.type_key, schema, attrs)?;
    row.attributes = crate::db::column::Json::new(canonical);
    attribute_store::replace_values(conn, EntityKind::Dossier, &row.id, &indexed)?;
    Ok(())
}

fn check_contract(conn: &mut DbConnection, contract_id: Option<&String>) -> Result<(), ApiError> {
    if let Some(c) = contract_id {
        if c.is_empty() || c.chars().count() > 100 || !crate::contracts::store::exists(conn, c)? {
            return Err(ApiError::invalid("contract_id", "unknown_contract", format!("contract {c:?} does not exist")));
        }
    }
    Ok(())
}

pub fn create(conn: &mut DbConnection, ctx: &Ctx, input: DossierIn) -> Result<DossierRow, ApiError> {
    let mut errors = Vec::new();
    check_text(&mut errors, "customer_ref", &input.customer_ref, 100);
    if let Some(Err(m)) = input.owner.as_ref().map(Assignee::check) {
        errors.push(FieldError::new("owner", "invalid_value", m));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let t = store::type_by_key(conn, &input.dossier_type)?.ok_or_else(|| {
        ApiError::invalid("type", "unknown_type", format!("no dossier type `{}` is defined", input.dossier_type))
    })?;
    let v = load_type_version(conn, &t, t.version)?;
    let def = def_of(&v);
    let owner = input.owner.or(def.default_owner.clone()).ok_or_else(|| {
        ApiError::invalid("owner", "required", "the dossier type has no default owner; name the owner")
    })?;
    check_contract(conn, input.contract_id.as_ref())?;
    let (ok, on) = owner.parts();
    let now = ctx.now.naive_utc();
    let mut row = DossierRow {
        id: uuid::Uuid::now_v7().to_string(),
        type_id: t.id.clone(),
        type_key: t.key.clone(),
        type_version: v.version,
        customer_ref: input.customer_ref,
        contract_id: input.contract_id,
        owner_kind: ok,
        owner_name: on.into(),
        status: model::DossierStatus::Open,
        attributes: Default::default(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    apply_attributes(conn, &mut row, &def.attributes, &input.attributes.unwrap_or_default())?;
    store::insert(conn, &row)?;
    events::record(conn, ctx, ENTITY, &row.id, "created", &Value::Null, &snapshot(&row))?;
    sync_triggers(conn, &row, &def.rules)?;
    Ok(row)
}

fn save(
    conn: &mut DbConnection,
    ctx: &Ctx,
    old: &DossierRow,
    mut new: DossierRow,
    action: &str,
) -> Result<(DossierRow, i64), ApiError> {
    new.version = old.version + 1;
    new.updated_at = ctx.now.naive_utc();
    if !store::update(conn, &new, old.version)? {
        return Err(ApiError::conflict("concurrent_update", "the dossier changed meanwhile; fetch it again and retry"));
    }
    let event_id = events::record(conn, ctx, ENTITY, &new.id, action, &snapshot(old), &snapshot(&new))?;
    Ok((new, event_id))
}

/// Changes a dossier; attribute changes fire the rules of its (new) type version once, and
/// date triggers follow their source attributes.
pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    patch: DossierPatch,
    expected: &Expected,
    hooks: &DossierHooks,
) -> Result<DossierRow, ApiError> {
    Hold::Update.row(conn, "dossiers", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    if old.status != model::DossierStatus::Open {
        return Err(ApiError::conflict("dossier_closed", "the dossier is closed; reopen it first"));
    }
    let mut row = old.clone();
    let mut errors = Vec::new();
    match patch.customer_ref.require("customer_ref", old.customer_ref.clone()) {
        Ok(c) => {
            check_text(&mut errors, "customer_ref", &c, 100);
            row.customer_ref = c;
        }
        Err(e) => errors.push(e),
    }
    match patch.owner.require("owner", Assignee::from_parts(old.owner_kind, &old.owner_name)) {
        Ok(o) => {
            if let Err(m) = o.check() {
                errors.push(FieldError::new("owner", "invalid_value", m));
            }
            let (k, n) = o.parts();
            row.owner_kind = k;
            row.owner_name = n.into();
        }
        Err(e) => errors.push(e),
    }
    match patch.type_version.require("type_version", old.type_version) {
        Ok(v) => row.type_version = v,
        Err(e) => errors.push(e),
    }
    let contract_changed = !patch.contract_id.is_absent();
    row.contract_id = patch.contract_id.apply_to(row.contract_id);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if contract_changed {
        check_contract(conn, row.contract_id.as_ref())?;
    }
    let version = if row.type_version == old.type_version {
        version_of(conn, &old)?
    } else {
        store::type_version(conn, &row.type_id, row.type_version)?.ok_or_else(|| {
            ApiError::invalid(
                "type_version",
                "unknown_version",
                format!("dossier type `{}` has no version {}", old.type_key, row.type_version),
            )
        })?
    };
    let def = def_of(&version);
    let old_attrs = attrs_of(&old);
    let attrs = match &patch.attributes {
        Some(p) => merge(&old_attrs, p),
        None => old_attrs.clone(),
    };
    if patch.attributes.is_some() || row.type_version != old.type_version {
        apply_attributes(conn, &mut row, &def.attributes, &attrs)?;
    }
    if row == old {
        return Ok(old);
    }
    let (row, event_id) = save(conn, ctx, &old, row, "updated")?;
    let changes = model::changed(&old_attrs, &attrs_of(&row));
    for rule in &def.rules {
        let Trigger::AttributeChanged { attribute, conditions } = &rule.trigger else { continue };
        let Some((_, o, n)) = changes.iter().find(|(k, _, _)| k == attribute) else { continue };
        if conditions.iter().all(|c| model::holds(c, o, n)) {
            let details = serde_json::json!({"attribute": attribute, "old": o, "new": n, "event_id": event_id});
            fire(conn, ctx, &row, rule, &format!("change:{event_id}"), details, hooks)?;
        }
    }
    sync_triggers(conn, &row, &def.rules)?;
    Ok(row)
}

/// Closes or reopens a dossier. A dossier with running workflows cannot close.
pub fn set_status(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    close: bool,
    expected: &Expected,
    hooks: &DossierHooks,
) -> Result<DossierRow, ApiError> {
    Hold::Update.row(conn, "dossiers", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    use model::DossierStatus::{Closed, Open};
    let (from, to, verb) = if close { (Open, Closed, "close") } else { (Closed, Open, "reopen") };
    if old.status != from {
        return Err(ApiError::conflict(
            "invalid_transition",
            format!("a dossier that is {} cannot {verb}", old.status.as_str()),
        ));
    }
    if close {
        let n = (hooks.workflows_running)(conn, id)?;
        if n > 0 {
            return Err(ApiError::conflict(
                "workflows_running",
                format!("{n} workflows still run on this dossier; complete or cancel them first"),
            ));
        }
    }
    let new = DossierRow { status: to, ..old.clone() };
    let (new, _) = save(conn, ctx, &old, new, if close { "closed" } else { "reopened" })?;
    let def = def_of(&version_of(conn, &new)?);
    sync_triggers(conn, &new, &def.rules)?;
    Ok(new)
}

/// Brings the dossier's date triggers in line with its attributes and rules. A trigger that
/// fired (or was voided) stays as it is: a rule fires once per dossier and date rule.
pub fn sync_triggers(conn: &mut DbConnection, d: &DossierRow, rules: &[RuleDef]) -> Result<(), ApiError> {
    let existing = store::triggers_of(conn, &d.id)?;
    let attrs = attrs_of(d);
    let mut wanted = Vec::new();
    for rule in rules {
        let Trigger::DateReached { attribute, offset } = &rule.trigger else { continue };
        wanted.push(rule.key.as_str());
        let due =
            if d.status == model::DossierStatus::Open { model::trigger_date(&attrs, attribute, offset) } else { None };
        match (existing.iter().find(|t| t.rule_key == rule.key), due) {
            (Some(t), _) if t.status != TriggerStatus::Pending => {}
            (Some(t), Some(due)) if t.due_on != due => store::move_trigger(conn, &d.id, &rule.key, due)?,
            (Some(_), None) => store::delete_trigger(conn, &d.id, &rule.key)?,
            (None, Some(due)) => store::insert_trigger(
                conn,
                &TriggerRow {
                    dossier_id: d.id.clone(),
                    rule_key: rule.key.clone(),
                    due_on: due,
                    status: TriggerStatus::Pending,
                    fired_at: None,
                },
            )?,
            _ => {}
        }
    }
    for t in existing.iter().filter(|t| t.status == TriggerStatus::Pending && !wanted.contains(&t.rule_key.as_str())) {
        store::delete_trigger(conn, &d.id, &t.rule_key)?;
    }
    Ok(())
}

fn firing_snapshot(f: &FiringRow) -> Value {
    serde_json::json!({"dossier_id": f.dossier_id, "rule": f.rule_key, "occurrence_key": f.occurrence_key,
                       "trigger": f.trigger_kind, "workflow_instance_id": f.workflow_instance_id})
}

/// Fires `rule` for one occurrence: starts its workflow and records the firing, unless this
/// (rule, dossier, occurrence) already fired. The unique key on the firing, written in the
/// same transaction as the workflow it starts, makes a second attempt a no-op.
pub fn fire(
    conn: &mut DbConnection,
    ctx: &Ctx,
    d: &DossierRow,
    rule: &RuleDef,
    occurrence: &str,
    details: Value,
    hooks: &DossierHooks,
) -> Result<Option<FiringRow>, ApiError> {
    if store::firing_exists(conn, &rule.key, &d.id, occurrence)? {
        return Ok(None);
    }
    let instance = (hooks.start_workflow)(conn, ctx, d, &rule.workflow, rule.responsible.clone(), Some(&rule.key))?;
    let row = FiringRow {
        id: uuid::Uuid::now_v7().to_string(),
        dossier_id: d.id.clone(),
        rule_key: rule.key.clone(),
        occurrence_key: occurrence.to_string(),
        trigger_kind: rule.trigger.kind(),
        type_version: d.type_version,
        details: crate::db::column::Json::new(details),
        workflow_instance_id: Some(instance),
        fired_by: ctx.actor.to_string(),
        fired_at: ctx.now.naive_utc(),
    };
    store::insert_firing(conn, &row)?;
    events::record(conn, ctx, FIRING_ENTITY, &row.id, "fired", &Value::Null, &firing_snapshot(&row))?;
    Ok(Some(row))
}

/// Posts a named business event; the rules listening for it fire. With an idempotency `key`
/// a repeated post returns the first one (`false`) and fires nothing again.
pub fn post_event(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    input: EventIn,
    hooks: &DossierHooks,
) -> Result<(BusinessEventRow, Vec<FiringRow>, bool), ApiError> {
    let mut errors = Vec::new();
    check_text(&mut errors, "type", &input.event_type, 100);
    if let Some(k) = &input.key {
        check_text(&mut errors, "key", k, 200);
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Hold::Update.row(conn, "dossiers", id)?;
    let d = load(conn, id)?;
    if let Some(k) = &input.key {
        if let Some(existing) = store::business_event_by_key(conn, id, k)? {
            let firings = store::firings_of_occurrence(conn, id, &format!("event:{}", existing.id))?;
            return Ok((existing, firings, false));
        }
    }
    if d.status != model::DossierStatus::Open {
        return Err(ApiError::conflict("dossier_closed", "the dossier is closed; reopen it first"));
    }
    let row = BusinessEventRow {
        id: uuid::Uuid::now_v7().to_string(),
        dossier_id: d.id.clone(),
        event_type: input.event_type,
        data: crate::db::column::Json::new(input.data.unwrap_or_default()),
        idempotency_key: input.key,
        posted_by: ctx.actor.to_string(),
        posted_at: ctx.now.naive_utc(),
    };
    store::insert_business_event(conn, &row)?;
    let snap = serde_json::json!({"dossier_id": row.dossier_id, "type": row.event_type,
                                  "data": &*row.data});
    events::record(conn, ctx, EVENT_ENTITY, &row.id, "posted", &Value::Null, &snap)?;
    let def = def_of(&version_of(conn, &d)?);
    let mut firings = Vec::new();
    for rule in &def.rules {
        match &rule.trigger {
            Trigger::EventPosted { event } if *event == row.event_type => {
                let details = serde_json::json!({"event_id": row.id, "type": row.event_type});
                firings.extend(fire(conn, ctx, &d, rule, &format!("event:{}", row.id), details, hooks)?);
            }
            _ => {}
        }
    }
    Ok((row, firings, true))
}

/// How many due triggers [`fire_next_due`] looks at for one whose dossier nobody holds.
const CLAIM_WINDOW: i64 = 16;

/// Claims and fires the next due date trigger (one per transaction, for the scheduler), not of
/// the dossiers in `skip`. `None` when nothing is due; else the dossier and whether a workflow
/// was started. `claimed` is set to the dossier before anything can fail.
pub fn fire_next_due(
    conn: &mut DbConnection,
    ctx: &Ctx,
    skip: &[String],
    claimed: &mut Option<String>,
    hooks: &DossierHooks,
) -> Result<Option<bool>, ApiError> {
    // The dossier first, then its trigger, as every dossier write holds them. A dossier another
    // write or instance holds now is left for later (the pass ends when all due ones are held).
    let mut due = None;
    for candidate in store::due_triggers(conn, ctx.today(), skip, CLAIM_WINDOW)? {
        if !Hold::Update.try_row(conn, "dossiers", &candidate.dossier_id)? {
            continue;
        }
        *claimed = Some(candidate.dossier_id.clone());
        if let Some(t) = store::hold_pending_trigger(conn, &candidate.dossier_id, &candidate.rule_key, ctx.today())? {
            due = Some(t);
            break;
        }
    }
    let Some(t) = due else { return Ok(None) };
    let d = load(conn, &t.dossier_id)?;
    let def = def_of(&version_of(conn, &d)?);
    let rule = def.rules.iter().find(|r| r.key == t.rule_key && matches!(r.trigger, Trigger::DateReached { .. }));
    let now = ctx.now.naive_utc();
    match rule {
        Some(rule) if d.status == model::DossierStatus::Open => {
            let (attribute, offset) = match &rule.trigger {
                Trigger::DateReached { attribute, offset } => (attribute.clone(), offset.clone()),
                _ => Default::default(),
            };
            let details = serde_json::json!({"due_on": t.due_on, "attribute": attribute, "offset": offset,
                                             "source": attrs_of(&d).get(&attribute)});
            let fired = fire(conn, ctx, &d, rule, &format!("date:{}", t.due_on), details, hooks)?;
            store::close_trigger(conn, &t.dossier_id, &t.rule_key, TriggerStatus::Fired.as_str(), now)?;
            Ok(Some(fired.is_some()))
        }
        _ => {
            store::close_trigger(conn, &t.dossier_id, &t.rule_key, TriggerStatus::Void.as_str(), now)?;
            Ok(Some(false))
        }
    }
}

/// The dossier as it was at the end of `day` (UTC), rebuilt from its event history: every
/// change event records old and new values per field, so replaying the events up to that day
/// gives the state of that day. `None` when the dossier did not exist yet.
pub fn as_of(conn: &mut DbConnection, d: &DossierRow, day: NaiveDate) -> Result<Option<DossierRow>, ApiError> {
    let Some(cutoff) = day.succ_opt().and_then(|n| n.and_hms_opt(0, 0, 0)) else { return Ok(Some(d.clone())) };
    let mut state = Map::new();
    let mut applied = 0;
    let mut last_at = None;
    let mut after = 0;
    'pages: loop {
        let rows = events::history(conn, ENTITY, &d.id, after, 500)?;
        if rows.is_empty() {
            break;
        }
        for e in &rows {
            after = e.id;
            if e.occurred_at >= cutoff {
                break 'pages;
            }
            model::replay(&mut state, &e.changes);
            applied += 1;
            last_at = Some(e.occurred_at);
        }
    }
    let Some(last_at) = last_at else { return Ok(None) };
    let text = |k: &str| state.get(k).and_then(Value::as_str).map(str::to_string);
    let owner: Option<Assignee> = state.get("owner").and_then(|o| serde_json::from_value(o.clone()).ok());
    let (ok, on) = owner.as_ref().map(|o| o.parts()).unwrap_or((crate::tasks::model::AssigneeKind::User, ""));
    Ok(Some(DossierRow {
        id: d.id.clone(),
        type_id: d.type_id.clone(),
        type_key: text("type").unwrap_or_else(|| d.type_key.clone()),
        type_version: state.get("type_version").and_then(Value::as_i64).unwrap_or(d.type_version),
        customer_ref: text("customer_ref").unwrap_or_default(),
        contract_id: text("contract_id"),
        owner_kind: ok,
        owner_name: on.into(),
        status: text("status").and_then(|s| model::DossierStatus::parse(&s)).unwrap_or(model::DossierStatus::Open),
        attributes: crate::db::column::Json::new(
            state.get("attributes").and_then(Value::as_object).cloned().unwrap_or_default(),
        ),
        version: applied,
        created_at: d.created_at,
        updated_at: last_at,
    }))
}

/// The data type the current dossier types give `key`, and the keys of the types that define it
/// (for attribute definitions of dossiers, which must agree with the types' schemas).
pub fn schema_key_types(conn: &mut DbConnection, key: &str) -> Result<Vec<(String, DataType)>, ApiError> {
    Ok(store::current_type_versions(conn)?
        .into_iter()
        .filter_map(|(t, v)| def_of(&v).attributes.into_iter().find(|a| a.key == key).map(|a| (t.key, a.data_type)))
        .collect())
}

/// The attribute filters of a dossier list: each key's type comes from the dossier types (the
/// filtered type, else any type's current version) or the global dossier attribute definitions.
pub fn resolve_filters(
    conn: &mut DbConnection,
    type_key: Option<&str>,
    raw: &[(String, String)],
) -> Result<Vec<crate::attributes::model::AttrFilter>, ApiError> {
    use crate::attributes::model as am;
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let mut schema: Vec<AttributeDef> = Vec::new();
    match type_key {
        Some(k) => {
            if let Some(t) = store::type_by_key(conn, k)? {
                schema = def_of(&load_type_version(conn, &t, t.version)?).attributes;
            }
        }
        None => {
            for (_, v) in store::current_type_versions(conn)? {
                schema.extend(def_of(&v).attributes);
            }
        }
    }
    let mut filters = Vec::with_capacity(raw.len());
    for (name, value) in raw {
        let bad = |m: String| ApiError::bad_request("invalid_attribute_filter", format!("attr.{name}: {m}"));
        let (key, op) = am::split_filter_name(name).map_err(bad)?;
        let rule = match schema.iter().find(|a| a.key == key) {
            Some(a) => a.rule(),
            None => match attribute_store::by_key(conn, EntityKind::Dossier, key)?.first() {
                Some(def) => crate::attributes::service::rule_of(def),
                None => return Err(bad(format!("no attribute `{key}` is defined for dossiers"))),
            },
        };
        filters.push(am::parse_filter(&rule, op, value).map_err(bad)?);
    }
    Ok(filters)
}
