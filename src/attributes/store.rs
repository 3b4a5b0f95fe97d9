//! Queries on attribute definitions and the attribute value index.

use super::model::{EntityKind, IndexedValue};
use crate::db::schema::{attribute_definitions as defs, attribute_values as vals};
use crate::db::{DbConnection, Hold};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One row of the attribute value index.
#[derive(Clone, Debug, PartialEq, Insertable)]
#[diesel(table_name = vals)]
#[diesel(treat_none_as_default_value = false)]
pub struct AttributeValueRow {
    pub entity_kind: crate::attributes::model::EntityKind,
    pub entity_id: String,
    pub key: String,
    pub value_text: Option<String>,
    pub value_num: Option<f64>,
}

impl AttributeValueRow {
    pub fn of(kind: EntityKind, entity_id: &str, v: &IndexedValue) -> AttributeValueRow {
        AttributeValueRow {
            entity_kind: kind,
            entity_id: entity_id.into(),
            key: v.key.clone(),
            value_text: v.text.clone(),
            value_num: v.num,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = defs)]
#[diesel(treat_none_as_null = true)]
pub struct DefinitionRow {
    pub id: String,
    pub entity_kind: crate::attributes::model::EntityKind,
    pub scope: String,
    pub key: String,
    pub label: String,
    pub data_type: crate::attributes::model::DataType,
    pub required: bool,
    pub options: Option<crate::db::column::Json<Vec<String>>>,
    pub description: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn get(conn: &mut DbConnection, id: &str) -> QueryResult<Option<DefinitionRow>> {
    defs::table.find(id).select(DefinitionRow::as_select()).first(conn).optional()
}

/// Definitions in id order after `after`, optionally of one kind and scope.
pub fn list(
    conn: &mut DbConnection,
    kind: Option<&str>,
    scope: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<DefinitionRow>> {
    let mut q = defs::table.select(DefinitionRow::as_select()).order(defs::id.asc()).limit(limit).into_boxed();
    if let Some(k) = kind {
        q = q.filter(defs::entity_kind.eq(k.to_string()));
    }
    if let Some(s) = scope {
        q = q.filter(defs::scope.eq(s.to_string()));
    }
    if let Some(a) = after {
        q = q.filter(defs::id.gt(a.to_string()));
    }
    q.load(conn)
}

/// Key of the advisory locks on the definitions of one entity kind (this plus the kind's
/// number; other keys in `db/mod.rs` and `events/store.rs`).
const DEFINITIONS_LOCK: i64 = 0x5041_4354_0010;

/// Holds the definitions of `kind` until the transaction ends, on PostgreSQL (SQLite has one
/// writer at a time): [`Hold::Share`] for a write that validates values against them (many at
/// once), [`Hold::Update`] for a write that changes them after checking the values stored
/// (alone). So no value is stored under a definition it breaks, and no definition changes
/// under values it was not checked against. Entity writes take it after their own row, and
/// definition writes lock no entity row, so the two never wait on each other in a circle.
pub fn hold_definitions(conn: &mut DbConnection, kind: EntityKind, hold: Hold) -> QueryResult<()> {
    let DbConnection::Postgres(c) = conn else { return Ok(()) };
    let key = DEFINITIONS_LOCK
        + match kind {
            EntityKind::Contract => 0,
            EntityKind::Installation => 1,
            EntityKind::Dossier => 2,
        };
    let take = match hold {
        Hold::Share => "pg_advisory_xact_lock_shared",
        Hold::Update => "pg_advisory_xact_lock",
    };
    diesel::sql_query(format!("SELECT {take}({key})")).execute(c).map(|_| ())
}

/// The definitions that apply to an entity of `kind` whose type is `scope_type`: the unscoped
/// ones plus those scoped to that type. Holds them shared ([`hold_definitions`]): a write reads
/// them to check what it stores.
pub fn in_force(conn: &mut DbConnection, kind: EntityKind, scope_type: &str) -> QueryResult<Vec<DefinitionRow>> {
    hold_definitions(conn, kind, Hold::Share)?;
    defs::table
        .filter(defs::entity_kind.eq(kind.as_str()))
        .filter(defs::scope.eq("").or(defs::scope.eq(scope_type)))
        .select(DefinitionRow::as_select())
        .load(conn)
}

/// Every definition of `key` for `kind`, whatever its scope.
pub fn by_key(conn: &mut DbConnection, kind: EntityKind, key: &str) -> QueryResult<Vec<DefinitionRow>> {
    defs::table
        .filter(defs::entity_kind.eq(kind.as_str()))
        .filter(defs::key.eq(key))
        .select(DefinitionRow::as_select())
        .load(conn)
}

pub fn insert(conn: &mut DbConnection, row: &DefinitionRow) -> QueryResult<()> {
    diesel::insert_into(defs::table).values(row).execute(conn).map(|_| ())
}

/// Writes `row` if the stored version is still `expected_version`; false when it was not.
pub fn update(conn: &mut DbConnection, row: &DefinitionRow, expected_version: i64) -> QueryResult<bool> {
    diesel::update(defs::table.filter(defs::id.eq(&row.id)).filter(defs::version.eq(expected_version)))
        .set(row)
        .execute(conn)
        .map(|n| n == 1)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::delete(defs::table.find(id)).execute(conn).map(|_| ())
}

/// Replaces the indexed values of one entity.
pub fn replace_values(
    conn: &mut DbConnection,
    kind: EntityKind,
    entity_id: &str,
    values: &[IndexedValue],
) -> QueryResult<()> {
    delete_values(conn, kind, entity_id)?;
    add_values(conn, kind, entity_id, values)
}

/// Writes the index rows of an entity that has none yet (one just created).
pub fn add_values(
    conn: &mut DbConnection,
    kind: EntityKind,
    entity_id: &str,
    values: &[IndexedValue],
) -> QueryResult<()> {
    if values.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = values.iter().map(|v| AttributeValueRow::of(kind, entity_id, v)).collect();
    crate::on_backend!(conn, |c| diesel::insert_into(vals::table).values(&rows).execute(c)).map(|_| ())
}

/// Writes many index rows at once (bulk loads and imports).
pub fn insert_values(conn: &mut DbConnection, rows: &[AttributeValueRow]) -> QueryResult<usize> {
    crate::bulk_insert!(conn, vals::table, rows)
}

pub fn delete_values(conn: &mut DbConnection, kind: EntityKind, entity_id: &str) -> QueryResult<()> {
    diesel::delete(vals::table.filter(vals::entity_kind.eq(kind.as_str())).filter(vals::entity_id.eq(entity_id)))
        .execute(conn)
        .map(|_| ())
}

/// Adds `id IN (entities whose attribute matches)` for each filter to a boxed query, where
/// `$id` is the entity table's id column. Each comparison is one range scan of the value index.
#[macro_export]
macro_rules! filter_by_attributes {
    ($query:expr, $id:expr, $kind:expr, $filters:expr) => {{
        use $crate::attributes::model::{FilterOp, FilterValue};
        use $crate::db::schema::attribute_values as av;
        let mut q = $query;
        for f in $filters {
            let base = av::table
                .select(av::entity_id)
                .filter(av::entity_kind.eq($kind.as_str()))
                .filter(av::key.eq(f.key.clone()));
            q = match (&f.value, f.op) {
                (FilterValue::Num(n), FilterOp::Eq) => q.filter($id.eq_any(base.filter(av::value_num.eq(*n)))),
                (FilterValue::Num(n), FilterOp::Gte) => q.filter($id.eq_any(base.filter(av::value_num.ge(*n)))),
                (FilterValue::Num(n), FilterOp::Lte) => q.filter($id.eq_any(base.filter(av::value_num.le(*n)))),
                (FilterValue::Text(t), FilterOp::Eq) => q.filter($id.eq_any(base.filter(av::value_text.eq(t.clone())))),
                (FilterValue::Text(t), FilterOp::Gte) => {
                    q.filter($id.eq_any(base.filter(av::value_text.ge(t.clone()))))
                }
                (FilterValue::Text(t), FilterOp::Lte) => {
                    q.filter($id.eq_any(base.filter(av::value_text.le(t.clone()))))
                }
            };
        }
        q
    }};
}

/// The table and type column of each entity kind, for the checks a definition change needs.
/// `None` while the kind's feature has no table yet.
fn entity_table(kind: EntityKind) -> Option<(&'static str, &'static str)> {
    match kind {
        EntityKind::Contract => Some(("contracts", "contract_type")),
        EntityKind::Installation => Some(("installations", "installation_type")),
        EntityKind::Dossier => Some(("dossiers", "type_key")),
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct TextValue {
    #[diesel(sql_type = diesel::sql_types::Text)]
    v: String,
}

/// How many entities under the definition's scope hold a value for its key.
pub fn values_in_use(conn: &mut DbConnection, kind: EntityKind, scope: &str, key: &str) -> QueryResult<i64> {
    let Some((table, type_col)) = entity_table(kind) else { return Ok(0) };
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM attribute_values v JOIN {table} e ON e.id = v.entity_id \
         WHERE v.entity_kind = $1 AND v.key = $2 AND ($3 = '' OR e.{type_col} = $3)"
    );
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Text, _>(kind.as_str())
        .bind::<diesel::sql_types::Text, _>(key)
        .bind::<diesel::sql_types::Text, _>(scope)
        .get_result::<Count>(conn)
        .map(|c| c.n)
}

/// The distinct stored values of the key under the definition's scope (for enum option removal).
pub fn distinct_values(conn: &mut DbConnection, kind: EntityKind, scope: &str, key: &str) -> QueryResult<Vec<String>> {
    let Some((table, type_col)) = entity_table(kind) else { return Ok(Vec::new()) };
    let sql = format!(
        "SELECT DISTINCT v.value_text AS v FROM attribute_values v JOIN {table} e ON e.id = v.entity_id \
         WHERE v.entity_kind = $1 AND v.key = $2 AND ($3 = '' OR e.{type_col} = $3) AND v.value_text IS NOT NULL"
    );
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Text, _>(kind.as_str())
        .bind::<diesel::sql_types::Text, _>(key)
        .bind::<diesel::sql_types::Text, _>(scope)
        .load::<TextValue>(conn)
        .map(|rows| rows.into_iter().map(|r| r.v).collect())
}

/// How many entities under the definition's scope have no value for its key.
pub fn entities_missing(conn: &mut DbConnection, kind: EntityKind, scope: &str, key: &str) -> QueryResult<i64> {
    let Some((table, type_col)) = entity_table(kind) else { return Ok(0) };
    // SQLite numbers `$n` parameters in order of first appearance: keep them in order $1, $2, $3.
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table} e \
         WHERE NOT EXISTS (SELECT 1 FROM attribute_values v WHERE v.entity_kind = $1 AND v.key = $2 AND v.entity_id = e.id) \
         AND ($3 = '' OR e.{type_col} = $3)"
    );
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Text, _>(kind.as_str())
        .bind::<diesel::sql_types::Text, _>(key)
        .bind::<diesel::sql_types::Text, _>(scope)
        .get_result::<Count>(conn)
        .map(|c| c.n)
}
