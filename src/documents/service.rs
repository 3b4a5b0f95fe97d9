//! Document use cases. Each runs inside the caller's transaction, after the bytes are stored,
//! and appends its event there.

use super::model::{OwnerType, ENTITY};
use super::storage::Stored;
use super::store::{self, DocumentRow, VersionRow};
use crate::auth::{Principal, Role};
use crate::db::DbConnection;
use crate::db::Expected;
use crate::error::{check_text, ApiError, FieldError};
use crate::events::store as events;
use crate::events::Ctx;
use crate::http::push::Outcome;
use serde_json::{json, Value};

/// What describes a document besides its bytes.
#[derive(Debug, Clone)]
pub struct Meta {
    pub kind: String,
    pub title: String,
}

/// What describes one version's file.
#[derive(Debug, Clone)]
pub struct FileMeta {
    pub filename: String,
    pub content_type: String,
}

/// Checks a document's kind and title.
pub fn check_meta(errors: &mut Vec<FieldError>, meta: &Meta) {
    check_text(errors, "kind", &meta.kind, super::model::MAX_KIND);
    check_text(errors, "title", &meta.title, super::model::MAX_TITLE);
    for (field, value) in [("kind", &meta.kind), ("title", &meta.title)] {
        if value.chars().any(|c| c.is_control()) && !errors.iter().any(|e| e.field == field) {
            errors.push(FieldError::new(field, "invalid_character", "must not contain control characters such as NUL"));
        }
    }
}

/// The roles that may attach documents to an owner of this type (admin always may).
pub fn writers(owner: OwnerType) -> &'static [Role] {
    match owner {
        OwnerType::Contract | OwnerType::Installation => &[Role::ContractManager, Role::Integration],
        OwnerType::ServiceCall => &[Role::ServiceAgent, Role::Integration],
        OwnerType::Dossier => &[Role::CaseWorker],
    }
}

/// Every role that writes to the documents of some owner: a caller with none of them is
/// refused (403) before the document is looked up or a body read.
pub const ANY_WRITER: &[Role] = &[Role::ContractManager, Role::Integration, Role::ServiceAgent, Role::CaseWorker];

/// Fails with 404 unless the owner exists and the caller may read it (dossiers are read only by
/// those they name; see `dossiers::service::load_readable`).
pub fn check_owner(conn: &mut DbConnection, who: &Principal, owner: OwnerType, id: &str) -> Result<(), ApiError> {
    let found = match owner {
        OwnerType::Contract => crate::contracts::store::exists(conn, id)?,
        OwnerType::Installation => crate::installations::store::exists(conn, id)?,
        OwnerType::ServiceCall => crate::service_calls::store::exists(conn, id)?,
        OwnerType::Dossier => {
            crate::dossiers::service::load_readable(conn, id, &who.sub, &who.roles)?;
            true
        }
    };
    if found {
        Ok(())
    } else {
        let what = owner.as_str().replace('_', " ");
        Err(ApiError::not_found(format!("{what} {id} does not exist")))
    }
}

/// A document the caller may read: its owner is readable to the caller, and a removed
/// document is read by admins only (its bytes are kept for them). Otherwise 404.
pub fn load_readable(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<DocumentRow, ApiError> {
    let missing = || ApiError::not_found(format!("document {id} does not exist"));
    let doc = store::get(conn, id)?.ok_or_else(missing)?;
    if doc.deleted_at.is_some() && !who.has_role(Role::Admin) {
        return Err(missing());
    }
    let owner = doc.owner_type;
    check_owner(conn, who, owner, &doc.owner_id).map_err(|_| missing())?;
    Ok(doc)
}

/// A document the caller may change: readable, not removed, and the caller holds a role that
/// writes to its owner's documents (403 otherwise).
pub fn load_writable(conn: &mut DbConnection, who: &Principal, id: &str) -> Result<DocumentRow, ApiError> {
    let doc = load_readable(conn, who, id)?;
    if doc.deleted_at.is_some() {
        return Err(ApiError::not_found(format!("document {id} was removed")));
    }
    let owner = doc.owner_type;
    who.require_any(writers(owner))?;
    Ok(doc)
}

/// One version of a document (`None`: the current one).
pub fn load_version(conn: &mut DbConnection, doc: &DocumentRow, number: Option<i32>) -> Result<VersionRow, ApiError> {
    let n = number.unwrap_or(doc.current_version);
    store::version(conn, &doc.id, n)?
        .ok_or_else(|| ApiError::not_found(format!("document {} has no version {n}", doc.id)))
}

/// The JSON form of a document with its current version, for history diffs.
pub fn snapshot(doc: &DocumentRow, v: &VersionRow) -> Value {
    json!({
        "owner_type": doc.owner_type, "owner_id": doc.owner_id, "kind": doc.kind, "title": doc.title,
        "external_ref": doc.external_ref, "current_version": doc.current_version,
        "filename": v.filename, "content_type": v.content_type, "size": v.size, "sha256": v.sha256,
        "deleted_at": doc.deleted_at.map(crate::clock::as_utc),
    })
}

fn new_version(ctx: &Ctx, id: &str, number: i32, file: FileMeta, stored: &Stored) -> VersionRow {
    VersionRow {
        document_id: id.to_string(),
        number,
        filename: file.filename,
        content_type: file.content_type,
        size: stored.size as i64,
        sha256: stored.sha256.clone(),
        created_by: ctx.actor.to_string(),
        created_at: ctx.now.naive_utc(),
        purged_at: None,
    }
}

/// Attaches a new document (its first version) to an owner.
pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    (owner, owner_id): (OwnerType, &str),
    meta: Meta,
    external_ref: Option<String>,
    file: FileMeta,
    stored: &Stored,
) -> Result<(DocumentRow, VersionRow), ApiError> {
    let now = ctx.now.naive_utc();
    let doc = DocumentRow {
        id: uuid::Uuid::now_v7().to_string(),
        owner_type: owner,
        owner_id: owner_id.to_string(),
        kind: meta.kind,
        title: meta.title,
        external_ref,
        current_version: 1,
        version: 1,
        created_by: ctx.actor.to_string(),
        created_at: now,
        updated_at: now,
        deleted_at: None,
        deleted_by: None,
    };
    let v = new_version(ctx, &doc.id, 1, file, stored);
    store::insert(conn, &doc)?;
    store::insert_version(conn, &v)?;
    events::record(conn, ctx, ENTITY, &doc.id, "created", &Value::Null, &snapshot(&doc, &v))?;
    Ok((doc, v))
}

/// Adds a version to a document, which then shows it as its current one; the earlier ones stay.
pub fn add_version(
    conn: &mut DbConnection,
    ctx: &Ctx,
    old: DocumentRow,
    expected: &Expected,
    meta: Option<Meta>,
    file: FileMeta,
    stored: &Stored,
) -> Result<(DocumentRow, VersionRow), ApiError> {
    expected.check(old.version)?;
    let old_v = load_version(conn, &old, None)?;
    let mut doc = old.clone();
    if let Some(meta) = meta {
        doc.kind = meta.kind;
        doc.title = meta.title;
    }
    doc.current_version = old.current_version + 1;
    doc.version = old.version + 1;
    doc.updated_at = ctx.now.naive_utc();
    doc.deleted_at = None;
    doc.deleted_by = None;
    let v = new_version(ctx, &doc.id, doc.current_version, file, stored);
    if !store::update(conn, &doc, old.version)? {
        return Err(ApiError::conflict(
            "concurrent_update",
            "the document changed meanwhile; fetch it again and retry",
        ));
    }
    store::insert_version(conn, &v)?;
    events::record(conn, ctx, ENTITY, &doc.id, "version_added", &snapshot(&old, &old_v), &snapshot(&doc, &v))?;
    Ok((doc, v))
}

/// Removes a document: hidden from lists and reads; its versions stay stored for admins.
pub fn remove(conn: &mut DbConnection, ctx: &Ctx, old: DocumentRow, expected: &Expected) -> Result<(), ApiError> {
    expected.check(old.version)?;
    let v = load_version(conn, &old, None)?;
    let mut doc = old.clone();
    doc.version = old.version + 1;
    doc.updated_at = ctx.now.naive_utc();
    doc.deleted_at = Some(ctx.now.naive_utc());
    doc.deleted_by = Some(ctx.actor.to_string());
    if !store::update(conn, &doc, old.version)? {
        return Err(ApiError::conflict(
            "concurrent_update",
            "the document changed meanwhile; fetch it again and retry",
        ));
    }
    events::record(conn, ctx, ENTITY, &doc.id, "deleted", &snapshot(&old, &v), &snapshot(&doc, &v))?;
    Ok(())
}

/// A document pushed with its contract, keyed by the pushing system's reference: new → created;
/// the same bytes, name and type as the current version → unchanged (nothing written); else a
/// new version (a removed document comes back with it).
pub fn push(
    conn: &mut DbConnection,
    ctx: &Ctx,
    contract_ref: &str,
    document_ref: &str,
    meta: Meta,
    file: FileMeta,
    stored: &Stored,
) -> Result<(DocumentRow, VersionRow, Outcome), ApiError> {
    let contract_id = contract_by_ref(conn, contract_ref)?;
    let owner = OwnerType::Contract.as_str();
    let Some(old) = store::by_external_ref(conn, owner, &contract_id, document_ref)? else {
        let (doc, v) =
            create(conn, ctx, (OwnerType::Contract, &contract_id), meta, Some(document_ref.to_string()), file, stored)?;
        return Ok((doc, v, Outcome::Created));
    };
    let current = load_version(conn, &old, None)?;
    let same_file = current.sha256 == stored.sha256
        && current.filename == file.filename
        && current.content_type == file.content_type;
    if same_file && old.deleted_at.is_none() && old.kind == meta.kind && old.title == meta.title {
        return Ok((old, current, Outcome::Unchanged));
    }
    let (doc, v) = add_version(conn, ctx, old, &Expected::none(), Some(meta), file, stored)?;
    Ok((doc, v, Outcome::Updated))
}

/// The id of the contract with this external reference (404 when there is none).
pub fn contract_by_ref(conn: &mut DbConnection, contract_ref: &str) -> Result<String, ApiError> {
    use crate::contracts::store::{ids_by, UniqueKey};
    ids_by(conn, UniqueKey::ExternalRef, &[contract_ref.to_string()])?
        .into_iter()
        .next()
        .map(|(_, id)| id)
        .ok_or_else(|| ApiError::not_found(format!("no contract has external_ref {contract_ref}")))
}

/// Lets go of the bytes of up to `limit` documents removed at or before `cutoff` (the
/// retention period): their versions are marked purged, each with a `purged` event, and the
/// bytes they held are due for the collector (`blobs::collect`), which removes those no kept
/// version refers to any more. Gives those hashes.
pub fn purge_removed(
    conn: &mut DbConnection,
    ctx: &Ctx,
    cutoff: chrono::NaiveDateTime,
    limit: i64,
) -> Result<Vec<String>, ApiError> {
    let mut shas = Vec::new();
    for doc in store::removed_before(conn, cutoff, limit)? {
        let v = load_version(conn, &doc, None)?;
        let old = snapshot(&doc, &v);
        shas.extend(store::purge_versions(conn, &doc.id, ctx.now.naive_utc())?);
        let mut new = old.clone();
        new["purged"] = Value::Bool(true);
        events::record(conn, ctx, ENTITY, &doc.id, "purged", &old, &new)?;
    }
    shas.sort();
    shas.dedup();
    store::check_blobs_at(conn, &shas, ctx.now.naive_utc())?;
    Ok(shas)
}

/// Whether a version whose bytes are kept holds these bytes.
pub fn referenced(conn: &mut DbConnection, sha256: &str) -> Result<bool, ApiError> {
    Ok(store::sha_referenced(conn, sha256)?)
}
