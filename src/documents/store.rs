//! Queries on documents and their versions.

use crate::db::schema::{
    document_blobs, document_templates, document_versions, documents, dossiers, events, workflow_instance_steps as wis,
    workflow_instances as wi,
};
use crate::db::DbConnection;
use crate::dossiers::store::{readable_by, Reader};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = documents)]
#[diesel(treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct DocumentRow {
    pub id: String,
    pub owner_type: crate::documents::model::OwnerType,
    pub owner_id: String,
    pub kind: String,
    pub title: String,
    pub external_ref: Option<String>,
    pub current_version: i32,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
    pub deleted_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = document_versions)]
pub struct VersionRow {
    pub document_id: String,
    pub number: i32,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub purged_at: Option<NaiveDateTime>,
}

pub fn get(conn: &mut DbConnection, id: &str) -> QueryResult<Option<DocumentRow>> {
    documents::table.find(id).select(DocumentRow::as_select()).first(conn).optional()
}

/// Those of the documents `ids` that are attached to dossiers, one query per 500.
pub fn on_dossiers(conn: &mut DbConnection, ids: &[String]) -> QueryResult<std::collections::HashSet<String>> {
    let mut out = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        out.extend(
            documents::table
                .filter(documents::id.eq_any(chunk))
                .filter(documents::owner_type.eq(super::model::OwnerType::Dossier.as_str()))
                .select(documents::id)
                .load::<String>(conn)?,
        );
    }
    Ok(out)
}

pub fn exists(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(documents::table.find(id))).get_result(conn)
}

/// The document an owner holds under the pushing system's reference (removed ones included).
pub fn by_external_ref(
    conn: &mut DbConnection,
    owner_type: &str,
    owner_id: &str,
    external_ref: &str,
) -> QueryResult<Option<DocumentRow>> {
    documents::table
        .filter(documents::owner_type.eq(owner_type))
        .filter(documents::owner_id.eq(owner_id))
        .filter(documents::external_ref.eq(external_ref))
        .select(DocumentRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, row: &DocumentRow) -> QueryResult<()> {
    diesel::insert_into(documents::table).values(row).execute(conn).map(|_| ())
}

/// Writes `row` if the stored version is still `expected_version`; false when it was not.
pub fn update(conn: &mut DbConnection, row: &DocumentRow, expected_version: i64) -> QueryResult<bool> {
    diesel::update(documents::table.filter(documents::id.eq(&row.id)).filter(documents::version.eq(expected_version)))
        .set(row)
        .execute(conn)
        .map(|n| n == 1)
}

pub fn insert_version(conn: &mut DbConnection, row: &VersionRow) -> QueryResult<()> {
    diesel::insert_into(document_versions::table).values(row).execute(conn).map(|_| ())
}

pub fn version(conn: &mut DbConnection, id: &str, number: i32) -> QueryResult<Option<VersionRow>> {
    document_versions::table.find((id, number)).select(VersionRow::as_select()).first(conn).optional()
}

/// One page of an owner's documents that are not removed, in id (upload) order after `after`,
/// each with its current version.
pub fn list_of_owner(
    conn: &mut DbConnection,
    owner_type: &str,
    owner_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(DocumentRow, VersionRow)>> {
    let mut q = documents::table
        .inner_join(
            document_versions::table.on(document_versions::document_id
                .eq(documents::id)
                .and(document_versions::number.eq(documents::current_version))),
        )
        .filter(documents::owner_type.eq(owner_type.to_string()))
        .filter(documents::owner_id.eq(owner_id.to_string()))
        .filter(documents::deleted_at.is_null())
        .order(documents::id.asc())
        .limit(limit)
        .select((DocumentRow::as_select(), VersionRow::as_select()))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(documents::id.gt(a.to_string()));
    }
    q.load(conn)
}

/// One page of a document's versions, oldest first, after version `after`.
pub fn versions(conn: &mut DbConnection, id: &str, after: i32, limit: i64) -> QueryResult<Vec<VersionRow>> {
    document_versions::table
        .filter(document_versions::document_id.eq(id))
        .filter(document_versions::number.gt(after))
        .order(document_versions::number.asc())
        .limit(limit)
        .select(VersionRow::as_select())
        .load(conn)
}

/// Whether a version whose bytes are kept (not purged) holds the bytes with this hash.
pub fn sha_referenced(conn: &mut DbConnection, sha256: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        document_versions::table
            .filter(document_versions::sha256.eq(sha256))
            .filter(document_versions::purged_at.is_null()),
    ))
    .get_result(conn)
}

/// Up to `limit` documents removed at or before `cutoff` that still have versions whose bytes
/// are kept, oldest removal first. On PostgreSQL they stay held until the transaction ends and
/// those another transaction holds (a purge on another instance, a restore) are skipped
/// (`FOR NO KEY UPDATE SKIP LOCKED`): each is purged once.
pub fn removed_before(conn: &mut DbConnection, cutoff: NaiveDateTime, limit: i64) -> QueryResult<Vec<DocumentRow>> {
    // Built per backend: the selection's types are backend-specific.
    macro_rules! removed {
        () => {
            documents::table
                .filter(documents::deleted_at.le(cutoff))
                .filter(diesel::dsl::exists(
                    document_versions::table
                        .filter(document_versions::document_id.eq(documents::id))
                        .filter(document_versions::purged_at.is_null()),
                ))
                .order((documents::deleted_at.asc(), documents::id.asc()))
                .limit(limit)
                .select(DocumentRow::as_select())
        };
    }
    match conn {
        DbConnection::Postgres(c) => removed!().for_no_key_update().skip_locked().load(c),
        DbConnection::Sqlite(c) => removed!().load(c),
    }
}

/// Marks the kept versions of a document purged; gives their hashes.
pub fn purge_versions(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<Vec<String>> {
    let shas = document_versions::table
        .filter(document_versions::document_id.eq(id))
        .filter(document_versions::purged_at.is_null())
        .select(document_versions::sha256)
        .load::<String>(conn)?;
    diesel::update(
        document_versions::table
            .filter(document_versions::document_id.eq(id))
            .filter(document_versions::purged_at.is_null()),
    )
    .set(document_versions::purged_at.eq(Some(at)))
    .execute(conn)?;
    Ok(shas)
}

/// The events a reader may see in the change feed: every event that is not about a document,
/// and those of documents not attached to a dossier or attached to one the reader may read.
pub fn feed_readable_by(r: &Reader) -> crate::events::store::EventCondition {
    let readable = dossiers::table.filter(readable_by!(r)).select(dossiers::id);
    Box::new(
        events::entity_type.ne(super::model::ENTITY).or(events::entity_id.eq_any(
            documents::table
                .filter(documents::owner_type.ne("dossier").or(documents::owner_id.eq_any(readable)))
                .select(documents::id),
        )),
    )
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = document_templates)]
pub struct TemplateRow {
    pub id: String,
    pub key: String,
    pub name: String,
    pub body: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn template(conn: &mut DbConnection, id: &str) -> QueryResult<Option<TemplateRow>> {
    document_templates::table.find(id).select(TemplateRow::as_select()).first(conn).optional()
}

pub fn template_by_key(conn: &mut DbConnection, key: &str) -> QueryResult<Option<TemplateRow>> {
    document_templates::table
        .filter(document_templates::key.eq(key))
        .select(TemplateRow::as_select())
        .first(conn)
        .optional()
}

pub fn template_exists(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(document_templates::table.find(id))).get_result(conn)
}

pub fn insert_template(conn: &mut DbConnection, row: &TemplateRow) -> QueryResult<()> {
    diesel::insert_into(document_templates::table).values(row).execute(conn).map(|_| ())
}

/// Writes `row` if the stored version is still `expected_version`; false when it was not.
pub fn update_template(conn: &mut DbConnection, row: &TemplateRow, expected_version: i64) -> QueryResult<bool> {
    diesel::update(
        document_templates::table
            .filter(document_templates::id.eq(&row.id))
            .filter(document_templates::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)
    .map(|n| n == 1)
}

pub fn delete_template(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::delete(document_templates::table.find(id)).execute(conn).map(|_| ())
}

/// One page of templates in id order after `after`.
pub fn templates(conn: &mut DbConnection, after: Option<&str>, limit: i64) -> QueryResult<Vec<TemplateRow>> {
    let mut q = document_templates::table
        .order(document_templates::id.asc())
        .limit(limit)
        .select(TemplateRow::as_select())
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(document_templates::id.gt(a.to_string()));
    }
    q.load(conn)
}

/// The claim record of bytes in the object store (see `documents/blobs.rs`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = document_blobs)]
pub struct BlobRow {
    pub sha256: String,
    pub claims: i64,
    pub check_at: Option<NaiveDateTime>,
    pub releasing_at: Option<NaiveDateTime>,
}

/// The claim record of `sha256`, created if missing, and locked until the transaction ends on
/// PostgreSQL (SQLite has one writer at a time).
pub fn lock_blob(conn: &mut DbConnection, sha256: &str) -> QueryResult<BlobRow> {
    let new = (document_blobs::sha256.eq(sha256), document_blobs::claims.eq(0i64));
    macro_rules! q {
        () => {
            document_blobs::table.find(sha256).select(BlobRow::as_select())
        };
    }
    match conn {
        DbConnection::Postgres(c) => {
            diesel::insert_into(document_blobs::table).values(new).on_conflict_do_nothing().execute(c)?;
            q!().for_update().first(c)
        }
        DbConnection::Sqlite(c) => {
            diesel::insert_into(document_blobs::table).values(new).on_conflict_do_nothing().execute(c)?;
            q!().first(c)
        }
    }
}

/// Writes the claim record's state back.
pub fn set_blob(conn: &mut DbConnection, row: &BlobRow) -> QueryResult<usize> {
    diesel::update(document_blobs::table.find(&row.sha256))
        .set((
            document_blobs::claims.eq(row.claims),
            document_blobs::check_at.eq(row.check_at),
            document_blobs::releasing_at.eq(row.releasing_at),
        ))
        .execute(conn)
}

/// Drops the claim record of bytes that were let go, unless an upload claimed them meanwhile.
pub fn drop_released(conn: &mut DbConnection, sha256: &str) -> QueryResult<usize> {
    diesel::delete(document_blobs::table.find(sha256).filter(document_blobs::releasing_at.is_not_null())).execute(conn)
}

/// Clears the release of bytes the store could not remove (the collector looks again later).
pub fn unmark_released(conn: &mut DbConnection, shas: &[String]) -> QueryResult<usize> {
    diesel::update(document_blobs::table.filter(document_blobs::sha256.eq_any(shas)))
        .set(document_blobs::releasing_at.eq(None::<NaiveDateTime>))
        .execute(conn)
}

/// Asks the collector to look at these bytes at `at` (their last version was purged).
pub fn check_blobs_at(conn: &mut DbConnection, shas: &[String], at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(document_blobs::table.filter(document_blobs::sha256.eq_any(shas)))
        .set(document_blobs::check_at.eq(Some(at)))
        .execute(conn)
}

/// Up to `limit` claim records due for a look at `now`, after the cursor `after` (check time
/// and hash), in that order (the partial index `document_blobs_check`).
pub fn due_blobs(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    after: Option<&(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<(NaiveDateTime, String)>> {
    let mut q = document_blobs::table
        .filter(document_blobs::check_at.le(now))
        .order((document_blobs::check_at.asc(), document_blobs::sha256.asc()))
        .limit(limit)
        .select((document_blobs::check_at.assume_not_null(), document_blobs::sha256))
        .into_boxed();
    if let Some((at, sha)) = after {
        q = q.filter(
            document_blobs::check_at
                .gt(*at)
                .or(document_blobs::check_at.eq(*at).and(document_blobs::sha256.gt(sha.clone()))),
        );
    }
    q.load(conn)
}
