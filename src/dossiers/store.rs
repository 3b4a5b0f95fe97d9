//! Queries on dossier types, dossiers, date triggers, posted events and rule firings.

use crate::attributes::model::AttrFilter;
use crate::db::schema::{
    dossier_business_events as bev, dossier_date_triggers as trg, dossier_type_versions as tv, dossier_types as types,
    dossiers, events, rule_firings as fir, workflow_instance_steps as wis, workflow_instances as wi,
};
use crate::db::DbConnection;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = types)]
pub struct TypeRow {
    pub id: String,
    pub key: String,
    pub name: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = tv)]
pub struct TypeVersionRow {
    pub type_id: String,
    pub version: i64,
    pub name: String,
    pub description: Option<String>,
    pub attributes: crate::db::column::Json<Vec<crate::dossiers::model::AttributeDef>>,
    pub default_owner_kind: Option<crate::tasks::model::AssigneeKind>,
    pub default_owner_name: Option<String>,
    pub rules: crate::db::column::Json<Vec<crate::dossiers::model::RuleDef>>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = dossiers)]
#[diesel(treat_none_as_null = true)]
#[diesel(treat_none_as_default_value = false)]
pub struct DossierRow {
    pub id: String,
    pub type_id: String,
    pub type_key: String,
    pub type_version: i64,
    pub customer_ref: String,
    pub contract_id: Option<String>,
    pub owner_kind: crate::tasks::model::AssigneeKind,
    pub owner_name: String,
    pub status: crate::dossiers::model::DossierStatus,
    pub attributes: crate::db::column::Json<serde_json::Map<String, serde_json::Value>>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = trg)]
#[diesel(treat_none_as_default_value = false)]
pub struct TriggerRow {
    pub dossier_id: String,
    pub rule_key: String,
    pub due_on: NaiveDate,
    pub status: crate::dossiers::model::TriggerStatus,
    pub fired_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = bev)]
pub struct BusinessEventRow {
    pub id: String,
    pub dossier_id: String,
    pub event_type: String,
    pub data: crate::db::column::Json<serde_json::Map<String, serde_json::Value>>,
    pub idempotency_key: Option<String>,
    pub posted_by: String,
    pub posted_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = fir)]
pub struct FiringRow {
    pub id: String,
    pub dossier_id: String,
    pub rule_key: String,
    pub occurrence_key: String,
    pub trigger_kind: crate::dossiers::model::TriggerKind,
    pub type_version: i64,
    pub details: crate::db::column::Json<serde_json::Value>,
    pub workflow_instance_id: Option<String>,
    pub fired_by: String,
    pub fired_at: NaiveDateTime,
}

// ---- types

/// A type by id, or else by key.
pub fn type_by_id_or_key(conn: &mut DbConnection, id_or_key: &str) -> QueryResult<Option<TypeRow>> {
    types::table
        .filter(types::id.eq(id_or_key).or(types::key.eq(id_or_key)))
        .order(types::id.asc())
        .select(TypeRow::as_select())
        .first(conn)
        .optional()
}

pub fn type_by_key(conn: &mut DbConnection, key: &str) -> QueryResult<Option<TypeRow>> {
    types::table.filter(types::key.eq(key)).select(TypeRow::as_select()).first(conn).optional()
}

pub fn insert_type(conn: &mut DbConnection, row: &TypeRow) -> QueryResult<()> {
    diesel::insert_into(types::table).values(row).execute(conn).map(|_| ())
}

/// Moves a type to its next version if it is still at `expected_version`.
pub fn update_type(conn: &mut DbConnection, row: &TypeRow, expected_version: i64) -> QueryResult<bool> {
    diesel::update(types::table.filter(types::id.eq(&row.id)).filter(types::version.eq(expected_version)))
        .set(row)
        .execute(conn)
        .map(|n| n == 1)
}

pub fn insert_type_version(conn: &mut DbConnection, row: &TypeVersionRow) -> QueryResult<()> {
    diesel::insert_into(tv::table).values(row).execute(conn).map(|_| ())
}

pub fn type_version(conn: &mut DbConnection, type_id: &str, version: i64) -> QueryResult<Option<TypeVersionRow>> {
    tv::table
        .filter(tv::type_id.eq(type_id))
        .filter(tv::version.eq(version))
        .select(TypeVersionRow::as_select())
        .first(conn)
        .optional()
}

/// Types with their current version, in id order after `after`.
pub fn list_types_current(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(TypeRow, TypeVersionRow)>> {
    let mut q = types::table
        .inner_join(tv::table.on(tv::type_id.eq(types::id).and(tv::version.eq(types::version))))
        .order(types::id.asc())
        .limit(limit)
        .select((TypeRow::as_select(), TypeVersionRow::as_select()))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(types::id.gt(a.to_string()));
    }
    q.load(conn)
}

/// Every type with its current version (for key checks and attribute filter resolution).
pub fn current_type_versions(conn: &mut DbConnection) -> QueryResult<Vec<(TypeRow, TypeVersionRow)>> {
    list_types_current(conn, None, 10_000)
}

// ---- dossiers

pub fn get(conn: &mut DbConnection, id: &str) -> QueryResult<Option<DossierRow>> {
    dossiers::table.find(id).select(DossierRow::as_select()).first(conn).optional()
}

pub fn exists(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(dossiers::table.find(id))).get_result(conn)
}

/// A caller who reads only the dossiers that name it (`model::may_read`): its `sub` and roles,
/// and the keys of the types whose current version names it, found beforehand by the pure rule.
#[derive(Debug, Clone, Default)]
pub struct Reader {
    pub sub: String,
    pub roles: Vec<String>,
    pub type_keys: Vec<String>,
}

/// `model::may_read` in SQL for one [`Reader`], so that lists and the feed filter in the query:
/// the owner (index dossiers_owner), the type (dossiers_type), or a running workflow whose
/// responsible or active step names the reader (indexes of migration 000013). A macro, as the
/// condition also goes into subqueries, where a boxed expression cannot.
macro_rules! readable_by {
    ($r:expr) => {{
        let r: &Reader = $r;
        dossiers::owner_kind
            .eq("user")
            .and(dossiers::owner_name.eq(r.sub.clone()))
            .or(dossiers::owner_kind.eq("role").and(dossiers::owner_name.eq_any(r.roles.clone())))
            .or(dossiers::type_key.eq_any(r.type_keys.clone()))
            .or(dossiers::id.eq_any(
                wi::table
                    .filter(wi::status.eq("running"))
                    .filter(
                        wi::responsible_kind
                            .eq("user")
                            .and(wi::responsible_name.eq(r.sub.clone()))
                            .or(wi::responsible_kind.eq("role").and(wi::responsible_name.eq_any(r.roles.clone())))
                            .or(wi::id.eq_any(
                                wis::table
                                    .filter(wis::status.eq("active"))
                                    .filter(wis::assignee_kind.eq("user").and(wis::assignee_name.eq(r.sub.clone())).or(
                                        wis::assignee_kind.eq("role").and(wis::assignee_name.eq_any(r.roles.clone())),
                                    ))
                                    .select(wis::instance_id),
                            )),
                    )
                    .select(wi::dossier_id),
            ))
    }};
}

/// For the features that attach records to dossiers and filter them by the same rule (a
/// boxed subquery does not compile for the two-backend connection). The caller has
/// `dossiers`, `wi` (workflow_instances), `wis` (workflow_instance_steps) and [`Reader`] in scope.
pub(crate) use readable_by;

/// A dossier the reader may read (`None` reads every one).
pub fn get_readable(conn: &mut DbConnection, id: &str, reader: Option<&Reader>) -> QueryResult<Option<DossierRow>> {
    let mut q = dossiers::table.filter(dossiers::id.eq(id.to_string())).select(DossierRow::as_select()).into_boxed();
    if let Some(r) = reader {
        q = q.filter(readable_by!(r));
    }
    q.first(conn).optional()
}

/// The event types that belong to a dossier and carry its personal values: its own changes,
/// its posted events (their data) and its rule firings (old and new attribute values).
pub const CASE_FILE_EVENTS: &[&str] = &["dossier", "dossier_event", "rule_firing"];

/// The events a reader may see in the change feed: every event that is not about a case file,
/// and those of the dossiers it may read. The dossier's current state decides, so a dossier
/// that changes hands changes who sees its past in the feed.
pub fn feed_readable_by(r: &Reader) -> crate::events::store::EventCondition {
    let readable = || dossiers::table.filter(readable_by!(r)).select(dossiers::id);
    Box::new(
        events::entity_type
            .ne_all(CASE_FILE_EVENTS.iter().map(|t| t.to_string()).collect::<Vec<_>>())
            .or(events::entity_type.eq("dossier").and(events::entity_id.eq_any(readable())))
            .or(events::entity_type
                .eq("dossier_event")
                .and(events::entity_id.eq_any(bev::table.filter(bev::dossier_id.eq_any(readable())).select(bev::id))))
            .or(events::entity_type
                .eq("rule_firing")
                .and(events::entity_id.eq_any(fir::table.filter(fir::dossier_id.eq_any(readable())).select(fir::id)))),
    )
}

pub fn insert(conn: &mut DbConnection, row: &DossierRow) -> QueryResult<()> {
    diesel::insert_into(dossiers::table).values(row).execute(conn).map(|_| ())
}

/// Writes `row` if the stored version is still `expected_version`; false when it was not.
pub fn update(conn: &mut DbConnection, row: &DossierRow, expected_version: i64) -> QueryResult<bool> {
    diesel::update(dossiers::table.filter(dossiers::id.eq(&row.id)).filter(dossiers::version.eq(expected_version)))
        .set(row)
        .execute(conn)
        .map(|n| n == 1)
}

/// The filters of the dossier list; all optional, combined with AND.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub type_key: Option<String>,
    pub customer_ref: Option<String>,
    pub contract_id: Option<String>,
    pub owner: Option<(String, String)>,
    pub status: Option<String>,
    pub attrs: Vec<AttrFilter>,
    /// Only the dossiers this caller may read; `None`: every dossier.
    pub reader: Option<Reader>,
}

pub fn list(conn: &mut DbConnection, f: &ListFilter, after: Option<&str>, limit: i64) -> QueryResult<Vec<DossierRow>> {
    use crate::attributes::model::EntityKind;
    let mut q = dossiers::table.select(DossierRow::as_select()).order(dossiers::id.asc()).limit(limit).into_boxed();
    if let Some(v) = &f.type_key {
        q = q.filter(dossiers::type_key.eq(v.clone()));
    }
    if let Some(v) = &f.customer_ref {
        q = q.filter(dossiers::customer_ref.eq(v.clone()));
    }
    if let Some(v) = &f.contract_id {
        q = q.filter(dossiers::contract_id.eq(v.clone()));
    }
    if let Some((k, n)) = &f.owner {
        q = q.filter(dossiers::owner_kind.eq(k.clone())).filter(dossiers::owner_name.eq(n.clone()));
    }
    if let Some(v) = &f.status {
        q = q.filter(dossiers::status.eq(v.clone()));
    }
    if let Some(a) = after {
        q = q.filter(dossiers::id.gt(a.to_string()));
    }
    if let Some(r) = &f.reader {
        q = q.filter(readable_by!(r));
    }
    q = crate::filter_by_attributes!(q, dossiers::id, EntityKind::Dossier, &f.attrs);
    q.load(conn)
}

// ---- date triggers

pub fn triggers_of(conn: &mut DbConnection, dossier_id: &str) -> QueryResult<Vec<TriggerRow>> {
    trg::table
        .filter(trg::dossier_id.eq(dossier_id))
        .order(trg::rule_key.asc())
        .select(TriggerRow::as_select())
        .load(conn)
}

pub fn insert_trigger(conn: &mut DbConnection, row: &TriggerRow) -> QueryResult<()> {
    diesel::insert_into(trg::table).values(row).execute(conn).map(|_| ())
}

pub fn move_trigger(conn: &mut DbConnection, dossier_id: &str, rule_key: &str, due_on: NaiveDate) -> QueryResult<()> {
    diesel::update(trg::table.filter(trg::dossier_id.eq(dossier_id)).filter(trg::rule_key.eq(rule_key)))
        .set(trg::due_on.eq(due_on))
        .execute(conn)
        .map(|_| ())
}

pub fn delete_trigger(conn: &mut DbConnection, dossier_id: &str, rule_key: &str) -> QueryResult<()> {
    diesel::delete(trg::table.filter(trg::dossier_id.eq(dossier_id)).filter(trg::rule_key.eq(rule_key)))
        .execute(conn)
        .map(|_| ())
}

/// Marks a claimed trigger as done (`fired`, or `void` when its rule no longer applies).
pub fn close_trigger(
    conn: &mut DbConnection,
    dossier_id: &str,
    rule_key: &str,
    status: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(trg::table.filter(trg::dossier_id.eq(dossier_id)).filter(trg::rule_key.eq(rule_key)))
        .set((trg::status.eq(status), trg::fired_at.eq(Some(at))))
        .execute(conn)
        .map(|_| ())
}

/// Up to `limit` pending triggers due on or before `today`, soonest first, leaving out the
/// dossiers in `skip` (those that failed earlier in the pass). Read without a lock: the caller
/// holds the dossier first and then [`hold_pending_trigger`], in the order of every dossier
/// write.
pub fn due_triggers(
    conn: &mut DbConnection,
    today: NaiveDate,
    skip: &[String],
    limit: i64,
) -> QueryResult<Vec<TriggerRow>> {
    trg::table
        .filter(trg::status.eq(super::model::TriggerStatus::Pending.as_str()))
        .filter(trg::due_on.le(today))
        .filter(trg::dossier_id.ne_all(skip.to_vec()))
        .order((trg::due_on.asc(), trg::dossier_id.asc(), trg::rule_key.asc()))
        .limit(limit)
        .select(TriggerRow::as_select())
        .load(conn)
}

/// The trigger of a dossier's rule if it is still pending and due on or before `today`, held
/// (`FOR NO KEY UPDATE` on PostgreSQL) until the transaction ends.
pub fn hold_pending_trigger(
    conn: &mut DbConnection,
    dossier_id: &str,
    rule_key: &str,
    today: NaiveDate,
) -> QueryResult<Option<TriggerRow>> {
    crate::first_held!(
        conn,
        trg::table
            .filter(trg::dossier_id.eq(dossier_id))
            .filter(trg::rule_key.eq(rule_key))
            .filter(trg::status.eq(super::model::TriggerStatus::Pending.as_str()))
            .filter(trg::due_on.le(today))
            .select(TriggerRow::as_select()),
        crate::db::Hold::Update
    )
}

// ---- posted events and firings

pub fn insert_business_event(conn: &mut DbConnection, row: &BusinessEventRow) -> QueryResult<()> {
    diesel::insert_into(bev::table).values(row).execute(conn).map(|_| ())
}

pub fn business_event_by_key(
    conn: &mut DbConnection,
    dossier_id: &str,
    key: &str,
) -> QueryResult<Option<BusinessEventRow>> {
    bev::table
        .filter(bev::dossier_id.eq(dossier_id))
        .filter(bev::idempotency_key.eq(key))
        .select(BusinessEventRow::as_select())
        .first(conn)
        .optional()
}

pub fn business_events_of(
    conn: &mut DbConnection,
    dossier_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<BusinessEventRow>> {
    let mut q = bev::table
        .filter(bev::dossier_id.eq(dossier_id))
        .order(bev::id.asc())
        .limit(limit)
        .select(BusinessEventRow::as_select())
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(bev::id.gt(a.to_string()));
    }
    q.load(conn)
}

pub fn firing_exists(conn: &mut DbConnection, rule_key: &str, dossier_id: &str, occurrence: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        fir::table
            .filter(fir::rule_key.eq(rule_key))
            .filter(fir::dossier_id.eq(dossier_id))
            .filter(fir::occurrence_key.eq(occurrence)),
    ))
    .get_result(conn)
}

pub fn insert_firing(conn: &mut DbConnection, row: &FiringRow) -> QueryResult<()> {
    diesel::insert_into(fir::table).values(row).execute(conn).map(|_| ())
}

pub fn firings_of(
    conn: &mut DbConnection,
    dossier_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<FiringRow>> {
    let mut q = fir::table
        .filter(fir::dossier_id.eq(dossier_id))
        .order(fir::id.asc())
        .limit(limit)
        .select(FiringRow::as_select())
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(fir::id.gt(a.to_string()));
    }
    q.load(conn)
}

/// The firings of one occurrence (e.g. of one posted event) on a dossier.
pub fn firings_of_occurrence(
    conn: &mut DbConnection,
    dossier_id: &str,
    occurrence: &str,
) -> QueryResult<Vec<FiringRow>> {
    fir::table
        .filter(fir::dossier_id.eq(dossier_id))
        .filter(fir::occurrence_key.eq(occurrence))
        .order(fir::id.asc())
        .select(FiringRow::as_select())
        .load(conn)
}
