//! Service-call use cases: registration with the entitlement check, lifecycle verbs and service
//! actions. Each runs inside the caller's transaction and appends its event there.

use super::input::{ActionIn, ServiceCallIn};
use super::model::{self, Action, Channel, Deadlines, Priority, ServiceLevel, Status, Stops};
use super::store::{self, ServiceCallRow};
use crate::clock::as_utc;
use crate::contracts::service::effective_service_level_of;
use crate::db::Expected;
use crate::db::{DbConnection, Hold};
use crate::error::{check_text, check_year, ApiError, FieldError};
use crate::events::{store as events, Ctx};
use crate::installations::service as installations;
use crate::installations::store::InstallationRow;
use crate::tasks::model::Kind;
use crate::tasks::store::TaskRow;
use chrono::{DateTime, Datelike, Duration, Utc};
use serde_json::Value;

pub const ENTITY: &str = "service_call";

/// How SLA clocks are set up beyond the contracts: from the configuration.
#[derive(Clone, Debug)]
pub struct SlaSettings {
    pub default_level: Option<ServiceLevel>,
    pub risk_share: f64,
}

/// The JSON form of a call used for history diffs.
pub fn snapshot(r: &ServiceCallRow) -> Value {
    let t = |t: Option<chrono::NaiveDateTime>| t.map(as_utc);
    serde_json::json!({
        "number": r.number, "installation_id": r.installation_id, "customer_ref": r.customer_ref,
        "entitled": r.entitled, "contract_id": r.contract_id, "service_level": r.service_level.as_deref(),
        "service_level_contract_id": r.service_level_source, "priority": r.priority, "status": r.status,
        "title": r.title, "description": r.description, "reporter": r.reporter.as_deref(), "channel": r.channel,
        "external_ref": r.external_ref, "reported_at": as_utc(r.reported_at), "respond_by": t(r.respond_by),
        "resolve_by": t(r.resolve_by), "acknowledged_at": t(r.acknowledged_at), "on_hold_since": t(r.on_hold_since),
        "hold_reason": r.hold_reason, "paused_seconds": r.paused_seconds, "resolved_at": t(r.resolved_at),
        "resolution": r.resolution, "closed_at": t(r.closed_at), "cancelled_at": t(r.cancelled_at),
        "cancel_reason": r.cancel_reason,
    })
}

pub fn load(conn: &mut DbConnection, id: &str) -> Result<ServiceCallRow, ApiError> {
    store::get(conn, id)?.ok_or_else(|| ApiError::not_found(format!("service call {id} does not exist")))
}

/// The service level stored with a call.
pub fn level_of(row: &ServiceCallRow) -> Option<ServiceLevel> {
    row.service_level.as_deref().cloned()
}

pub fn deadlines_of(row: &ServiceCallRow) -> Deadlines {
    Deadlines {
        respond_by: row.respond_by.map(as_utc),
        respond_risk_at: row.respond_risk_at.map(as_utc),
        resolve_by: row.resolve_by.map(as_utc),
        resolve_risk_at: row.resolve_risk_at.map(as_utc),
    }
}

pub fn stops_of(row: &ServiceCallRow) -> Stops {
    Stops {
        acknowledged_at: row.acknowledged_at.map(as_utc),
        on_hold_since: row.on_hold_since.map(as_utc),
        resolved_at: row.resolved_at.map(as_utc),
        cancelled_at: row.cancelled_at.map(as_utc),
    }
}

fn set_deadlines(row: &mut ServiceCallRow, d: Deadlines) {
    row.respond_by = d.respond_by.map(|t| t.naive_utc());
    row.respond_risk_at = d.respond_risk_at.map(|t| t.naive_utc());
    row.resolve_by = d.resolve_by.map(|t| t.naive_utc());
    row.resolve_risk_at = d.resolve_risk_at.map(|t| t.naive_utc());
}

/// The installation named by id or by serial number (exactly one of them).
fn find_installation(conn: &mut DbConnection, input: &ServiceCallIn) -> Result<InstallationRow, ApiError> {
    match (&input.installation_id, &input.serial_number) {
        (Some(id), None) => crate::installations::store::get(conn, id)?.ok_or_else(|| {
            ApiError::invalid("installation_id", "not_found", format!("installation {id} does not exist"))
        }),
        (None, Some(serial)) => crate::installations::store::by_serial_number(conn, serial)?.ok_or_else(|| {
            ApiError::invalid("serial_number", "not_found", format!("no installation has serial number {serial:?}"))
        }),
        _ => Err(ApiError::invalid(
            "installation_id",
            "required",
            "name the installation by exactly one of installation_id and serial_number",
        )),
    }
}

/// The entitlement of a call: the covering contract whose service level (own or inherited)
/// gives the earliest resolution, else the first covering contract without one.
struct Entitlement {
    contract_id: Option<String>,
    level: Option<(Option<String>, ServiceLevel)>,
}

fn entitlement(
    conn: &mut DbConnection,
    installation: &crate::installations::store::InstallationRow,
    priority: Priority,
    reported_at: DateTime<Utc>,
    sla: &SlaSettings,
) -> Result<Entitlement, ApiError> {
    // Coverage is by calendar day; a call counts on the (UTC) day it was reported.
    let covering = installations::covering_of(conn, installation, reported_at.date_naive())?;
    let mut best: Option<(DateTime<Utc>, String, String, ServiceLevel)> = None;
    for (_, contract) in &covering {
        if let Some((source, level)) = effective_service_level_of(conn, contract)? {
            let by = Deadlines::compute(&level, priority, reported_at, sla.risk_share).resolve_by;
            let by = by.unwrap_or(DateTime::<Utc>::MAX_UTC);
            if best.as_ref().is_none_or(|(b, ..)| by < *b) {
                best = Some((by, contract.id.clone(), source, level));
            }
        }
    }
    Ok(match best {
        Some((_, contract_id, source, level)) => {
            Entitlement { contract_id: Some(contract_id), level: Some((Some(source), level)) }
        }
        None => Entitlement {
            contract_id: covering.first().map(|(_, c)| c.id.clone()),
            level: sla.default_level.clone().map(|l| (None, l)),
        },
    })
}

fn check_input(input: &ServiceCallIn, reported_at: DateTime<Utc>, now: DateTime<Utc>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(t) = &input.title {
        check_text(&mut errors, "title", t, 200);
    }
    check_text(&mut errors, "description", &input.description, 10_000);
    if let Some(r) = &input.external_ref {
        check_text(&mut errors, "external_ref", r, 200);
    }
    if let Some(r) = &input.reporter {
        for (field, value) in [("name", &r.name), ("phone", &r.phone), ("email", &r.email)] {
            if let Some(v) = value {
                check_text(&mut errors, &format!("reporter.{field}"), v, 200);
            }
        }
    }
    check_year(&mut errors, "reported_at", reported_at.year());
    // A little slack for clocks of other systems that run ahead.
    if reported_at > now + Duration::minutes(5) {
        errors.push(FieldError::new("reported_at", "in_future", "a call cannot be reported in the future"));
    }
    errors
}

/// The title: given, or the first line of the description cut to 200 characters.
fn title_of(input: &ServiceCallIn) -> String {
    match &input.title {
        Some(t) => t.clone(),
        None => input.description.lines().next().unwrap_or("").chars().take(200).collect(),
    }
}

/// A service call as judged before it is written: which installation, whether it is
/// entitled, under which level, and its deadlines.
pub struct Assessed {
    input: ServiceCallIn,
    installation: crate::installations::store::InstallationRow,
    priority: Priority,
    reported_at: DateTime<Utc>,
    entitlement: Entitlement,
    deadlines: Deadlines,
}

/// Checks a new call and judges its entitlement and deadlines; reads only. The API runs it in
/// the transaction that records the call ([`record`]), which no write that could change the
/// judgement (coverage, contracts, service levels) runs beside.
pub fn assess(
    conn: &mut DbConnection,
    ctx: &Ctx,
    input: ServiceCallIn,
    sla: &SlaSettings,
) -> Result<Assessed, ApiError> {
    let reported_at = input.reported_at.map(crate::clock::to_micros).unwrap_or(ctx.now);
    let errors = check_input(&input, reported_at, ctx.now);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let installation = find_installation(conn, &input)?;
    let priority = input.priority.unwrap_or(Priority::Normal);
    let entitlement = entitlement(conn, &installation, priority, reported_at, sla)?;
    let deadlines = match &entitlement.level {
        Some((_, level)) => Deadlines::compute(level, priority, reported_at, sla.risk_share),
        None => Deadlines::NONE,
    };
    Ok(Assessed { input, installation, priority, reported_at, entitlement, deadlines })
}

/// Records an assessed call: its number, the row and its `created` event. Registrations run
/// beside each other: the only thing checked here is the external reference, which its unique
/// index guards as well, and the number comes from [`store::NUMBERS`], which never waits.
pub fn record(conn: &mut DbConnection, ctx: &Ctx, assessed: Assessed) -> Result<ServiceCallRow, ApiError> {
    let Assessed { input, installation, priority, reported_at, entitlement: ent, deadlines } = assessed;
    let duplicate = |ext: &str, by: &str| {
        ApiError::conflict("duplicate_external_ref", format!("external_ref {ext} is already used by {by}"))
    };
    if let Some(ext) = &input.external_ref {
        if let Some(other) = store::by_external_ref(conn, ext)? {
            return Err(duplicate(ext, &format!("service call {}", other.id)));
        }
    }
    let seq = store::NUMBERS.next(conn)?;
    let now = ctx.now.naive_utc();
    let mut row = ServiceCallRow {
        id: uuid::Uuid::now_v7().to_string(),
        number: format!("SC-{}-{seq:06}", reported_at.year()),
        installation_id: installation.id,
        customer_ref: installation.customer_ref,
        entitled: ent.contract_id.is_some(),
        contract_id: ent.contract_id,
        service_level: ent.level.as_ref().map(|(_, l)| crate::db::column::Json::new(l.clone())),
        service_level_source: ent.level.and_then(|(source, _)| source),
        priority,
        status: Status::New,
        title: title_of(&input),
        description: Some(input.description),
        reporter: input.reporter.map(crate::db::column::Json::new),
        channel: input.channel.unwrap_or(Channel::Other),
        external_ref: input.external_ref,
        reported_at: reported_at.naive_utc(),
        respond_by: None,
        respond_risk_at: None,
        resolve_by: None,
        resolve_risk_at: None,
        acknowledged_at: None,
        on_hold_since: None,
        hold_reason: None,
        paused_seconds: 0,
        resolved_at: None,
        resolution: None,
        closed_at: None,
        cancelled_at: None,
        cancel_reason: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    set_deadlines(&mut row, deadlines);
    match store::insert(conn, &row, ctx.now.naive_utc()) {
        // A registration beside this one took the same external reference first (the failed
        // statement ended the transaction, so the other call cannot be looked up here).
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info))
            if info.constraint_name() == Some("service_calls_external_ref") =>
        {
            return Err(duplicate(row.external_ref.as_deref().unwrap_or_default(), "another service call"));
        }
        written => written?,
    }
    events::record(conn, ctx, ENTITY, &row.id, "created", &Value::Null, &snapshot(&row))?;
    Ok(row)
}

fn save(
    conn: &mut DbConnection,
    ctx: &Ctx,
    old: &ServiceCallRow,
    mut new: ServiceCallRow,
    action: &str,
) -> Result<ServiceCallRow, ApiError> {
    new.version = old.version + 1;
    new.updated_at = ctx.now.naive_utc();
    if !store::update(conn, old, &new, ctx.now.naive_utc())? {
        return Err(ApiError::conflict(
            "concurrent_update",
            "the service call changed meanwhile; fetch it again and retry",
        ));
    }
    events::record(conn, ctx, ENTITY, &new.id, action, &snapshot(old), &snapshot(&new))?;
    Ok(new)
}

/// Moves a call through its lifecycle. `note` is the reason (hold, cancel) or what was done
/// (resolve). Resolving and closing need every action of the call to be closed; cancelling
/// cancels the open ones.
pub fn act(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    action: Action,
    note: Option<String>,
    expected: &Expected,
) -> Result<ServiceCallRow, ApiError> {
    Hold::Update.row(conn, "service_calls", id)?;
    let old = load(conn, id)?;
    expected.check(old.version)?;
    let from = old.status;
    let to = model::transition(from, action).ok_or_else(|| {
        ApiError::conflict(
            "invalid_transition",
            format!("a service call that is {} cannot {}", from.as_str(), action.as_str()),
        )
    })?;
    if matches!(action, Action::Resolve | Action::Close) && store::has_open_actions(conn, id)? {
        return Err(ApiError::conflict(
            "open_actions",
            format!(
                "the service call still has open actions; complete, skip or cancel them before it can {}",
                action.as_str()
            ),
        ));
    }
    let now = ctx.now.naive_utc();
    let mut new = old.clone();
    new.status = to;
    // Leaving hold, by resuming or by resolving straight away, ends the pause.
    if from == Status::OnHold {
        let held_since = old.on_hold_since.map(as_utc).unwrap_or(ctx.now);
        let (paused, moved) = model::resume(level_of(&old).as_ref(), held_since, ctx.now, deadlines_of(&old));
        set_deadlines(&mut new, moved);
        new.paused_seconds += paused;
        new.on_hold_since = None;
        new.hold_reason = None;
    }
    match action {
        Action::Acknowledge => new.acknowledged_at = Some(now),
        Action::Hold => {
            new.on_hold_since = Some(now);
            new.hold_reason = note;
        }
        Action::Start | Action::Resume => {}
        Action::Resolve => {
            new.resolved_at = Some(now);
            new.resolution = note;
        }
        Action::Close => new.closed_at = Some(now),
        Action::Cancel => {
            new.cancelled_at = Some(now);
            new.cancel_reason = note;
            let actions = crate::tasks::store::of_service_call(conn, id)?;
            crate::tasks::service::cancel_open(conn, ctx, actions, "the service call was cancelled")?;
        }
    }
    save(conn, ctx, &old, new, action.past_tense())
}

/// Turns a call into service actions: tasks of kind `service_action` in the worklist. Open and
/// resolved calls take actions; closed and cancelled ones do not.
pub fn add_actions(
    conn: &mut DbConnection,
    ctx: &Ctx,
    id: &str,
    actions: Vec<ActionIn>,
) -> Result<Vec<TaskRow>, ApiError> {
    Hold::Update.row(conn, "service_calls", id)?;
    let call = load(conn, id)?;
    let status = call.status;
    // A resolved call may still get a follow-up visit; closing then waits for it.
    if !status.is_open() && status != Status::Resolved {
        return Err(ApiError::conflict(
            "service_call_closed",
            format!("the service call is {}; it takes no new actions", status.as_str()),
        ));
    }
    let mut errors = Vec::new();
    if !(1..=100).contains(&actions.len()) {
        errors.push(FieldError::new("actions", "out_of_range", "give 1 to 100 actions"));
    }
    for (i, a) in actions.iter().enumerate() {
        if let Some(t) = &a.title {
            check_text(&mut errors, &format!("actions[{i}].title"), t, 500);
        }
        if let Some(d) = &a.description {
            if d.chars().count() > 10_000 {
                errors.push(FieldError::new(
                    format!("actions[{i}].description"),
                    "too_long",
                    "at most 10000 characters",
                ));
            }
        }
        if let Err(m) = a.assignee.check() {
            errors.push(FieldError::new(format!("actions[{i}].assignee"), "invalid_value", m));
        }
        check_year(&mut errors, &format!("actions[{i}].planned_date"), a.planned_date.year());
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let now = ctx.now.naive_utc();
    let rows: Vec<TaskRow> = actions
        .into_iter()
        .map(|a| TaskRow {
            description: a.description,
            contract_id: call.contract_id.clone(),
            installation_id: Some(call.installation_id.clone()),
            service_call_id: Some(call.id.clone()),
            ..TaskRow::open(
                Kind::ServiceAction,
                a.title.unwrap_or_else(|| format!("{}: {}", call.number, call.title)),
                &a.assignee,
                a.planned_date,
                now,
            )
        })
        .collect();
    crate::tasks::service::create(conn, ctx, &rows)?;
    Ok(rows)
}
