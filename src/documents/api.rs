//! Handlers and response types for documents: `POST|GET /api/v1/{contracts|installations|
//! service-calls|dossiers}/{id}/documents`, `/api/v1/documents/{id}` with its versions and
//! content, and the integration push `PUT /api/v1/contracts/by-external-ref/{ref}/documents/{document_ref}`.

use super::blobs::{self, Filed};
use super::input::{GenerateIn, TemplateIn, TemplatePatch};
use super::model::ENTITY;
use super::model::{self, OwnerType, RangeAsk};
use super::service::{self, FileMeta, Meta};
use super::storage::DocumentStore;
use super::store::{self, DocumentRow, VersionRow};
use super::upload::{self, Described, Limits};
use crate::auth::{Allowed, CallRegistrars, CaseWorkers, ContractWriters, Principal, Pushers};
use crate::clock::{as_utc, Clock};
use crate::db::{Db, Hold};
use crate::events::Ctx;
use crate::http::etag::resource_response;
use crate::http::pagination::PageRequest;
use crate::http::push::Outcome;
use crate::http::{ApiError, IfMatch, Problem, QueryPairs};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// The bytes of a file, as the body of a request or an answer.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBytes(pub Vec<u8>);

/// A document upload from a browser form. Text fields may come before or after the file.
#[derive(ToSchema)]
pub struct DocumentForm {
    /// The file; its part's `filename` names it, its `Content-Type` types it (for
    /// `application/octet-stream`, the name's extension does).
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// Free text such as `signed_contract`, `annex`, `amendment`, `certificate`, `photo`,
    /// `work_report`, `customer_letter` (default `document`).
    #[schema(max_length = 100)]
    pub kind: Option<String>,
    /// Default: the file name.
    #[schema(max_length = 500)]
    pub title: Option<String>,
    /// Instead of the file part's own name.
    #[schema(max_length = 255)]
    pub filename: Option<String>,
}

/// One stored version of a document's file.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentVersionOut {
    /// 1 for the first upload, then counting up; every version stays downloadable.
    pub number: i32,
    pub filename: String,
    /// The media type the file is served with.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Hex SHA-256 of the bytes; the download's ETag.
    pub sha256: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Set when the retention period let the bytes go (the document was removed long enough).
    pub purged_at: Option<DateTime<Utc>>,
    /// Where its bytes are downloaded.
    pub content_url: String,
}

impl From<VersionRow> for DocumentVersionOut {
    fn from(v: VersionRow) -> DocumentVersionOut {
        DocumentVersionOut {
            content_url: format!("/api/v1/documents/{}/versions/{}/content", v.document_id, v.number),
            number: v.number,
            filename: v.filename,
            content_type: v.content_type,
            size: v.size,
            sha256: v.sha256,
            created_by: v.created_by,
            created_at: as_utc(v.created_at),
            purged_at: v.purged_at.map(as_utc),
        }
    }
}

/// A document and its current version.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentOut {
    pub id: String,
    /// What the document is attached to.
    pub owner_type: OwnerType,
    pub owner_id: String,
    /// Free text such as `signed_contract`, `annex`, `certificate`; `generated` for rendered ones.
    pub kind: String,
    pub title: String,
    /// The pushing system's reference of a document pushed with its contract.
    pub external_ref: Option<String>,
    /// The version shown and downloaded by default (the newest).
    pub current_version: DocumentVersionOut,
    /// Increases with every change; the ETag is this number in quotes.
    pub version: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set when the document was removed (only admins still read it).
    pub deleted_at: Option<DateTime<Utc>>,
    pub deleted_by: Option<String>,
    /// Where the current version's bytes are downloaded.
    pub content_url: String,
}

impl DocumentOut {
    fn new(d: DocumentRow, v: VersionRow) -> DocumentOut {
        DocumentOut {
            content_url: format!("/api/v1/documents/{}/content", d.id),
            owner_type: d.owner_type,
            id: d.id,
            owner_id: d.owner_id,
            kind: d.kind,
            title: d.title,
            external_ref: d.external_ref,
            current_version: v.into(),
            version: d.version,
            created_by: d.created_by,
            created_at: as_utc(d.created_at),
            updated_at: as_utc(d.updated_at),
            deleted_at: d.deleted_at.map(as_utc),
            deleted_by: d.deleted_by,
        }
    }
}

/// The answer to a document push.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentPushOut {
    /// `created`, `updated` (a new version) or `unchanged` (the same file again: nothing written).
    pub outcome: Outcome,
    pub document: DocumentOut,
}

/// Documents attached to dossiers are in the change feed of those who may read the dossier.
pub const FEED_SCOPE: crate::events::FeedScope = crate::events::FeedScope {
    condition: |c, who| {
        Ok(crate::dossiers::service::reader(c, &who.sub, &who.roles)?.map(|r| store::feed_readable_by(&r)))
    },
    redact: |_, _| {},
};

/// The `kind`, `title` and `filename` query parameters of an upload, checked before the body is read.
fn described(req: &HttpRequest) -> Result<Described, ApiError> {
    let mut q = QueryPairs::from_request(req)?;
    let d = Described { kind: q.take("kind"), title: q.take("title"), filename: q.take("filename") };
    q.finish()?;
    if let Some(name) = &d.filename {
        upload::checked_filename("filename", name)?;
    }
    check_meta(&d, "document")?;
    Ok(d)
}

/// The document's kind and title from the form or the query (kind default `document`, title
/// default the file name); 422 when they are not acceptable.
fn meta_of(query: &Described, form: &Described, filename: &str) -> Result<Meta, ApiError> {
    let meta = Meta {
        kind: form.kind.clone().or_else(|| query.kind.clone()).unwrap_or_else(|| "document".into()),
        title: form.title.clone().or_else(|| query.title.clone()).unwrap_or_else(|| filename.to_string()),
    };
    let mut errors = Vec::new();
    service::check_meta(&mut errors, &meta);
    if errors.is_empty() {
        Ok(meta)
    } else {
        Err(ApiError::validation(errors))
    }
}

fn check_meta(d: &Described, filename: &str) -> Result<(), ApiError> {
    meta_of(d, &Described::default(), filename).map(|_| ())
}

/// Writes the metadata of filed bytes; when that fails, the bytes are let go again unless a
/// version or another upload holds them, so a refused upload leaves nothing behind.
async fn commit<T: Send + 'static>(
    db: &Db,
    store: &DocumentStore,
    clock: &Clock,
    filed: &Filed,
    write: impl FnOnce(&mut crate::db::DbConnection) -> Result<T, ApiError> + Clone + Send + 'static,
) -> Result<T, ApiError> {
    let result = db.write(write).await;
    if result.is_err() {
        blobs::release_refused(db, store, clock, filed).await;
    }
    result
}

/// Where an upload's bytes go: the store, and the database that records claims on them.
struct Sink<'a> {
    db: &'a Db,
    clock: &'a Clock,
    store: &'a DocumentStore,
}

/// Receives the file of a request and files its bytes once `check` accepts what came with it
/// (the form's fields and the file name): a refused upload stores nothing.
async fn receive_file<T>(
    req: &HttpRequest,
    payload: web::Payload,
    limits: &Limits,
    sink: Sink<'_>,
    query: &Described,
    check: impl FnOnce(&Described, &str) -> Result<T, ApiError>,
) -> Result<(Filed, FileMeta, T), ApiError> {
    let received = upload::receive(req, payload, limits, sink.store, query).await?;
    let checked = check(&received.form, &received.filename)?;
    let filed = blobs::file(sink.db, sink.clock, received.staged).await?;
    Ok((filed, FileMeta { filename: received.filename, content_type: received.content_type }, checked))
}

fn created(doc: DocumentRow, v: VersionRow) -> HttpResponse {
    let (version, location) = (doc.version, format!("/api/v1/documents/{}", doc.id));
    resource_response(StatusCode::CREATED, &DocumentOut::new(doc, v), version, Some(location))
}

#[allow(clippy::too_many_arguments)]
async fn upload_to(
    owner: OwnerType,
    who: Principal,
    id: String,
    req: HttpRequest,
    payload: web::Payload,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    limits: web::Data<Limits>,
    store: web::Data<DocumentStore>,
) -> Result<HttpResponse, ApiError> {
    let query = described(&req)?;
    upload::check_declared_length(&req, &limits)?;
    let (w, oid) = (who.clone(), id.clone());
    db.read(move |c| service::check_owner(c, &w, owner, &oid)).await?;
    let (filed, file, meta) =
        receive_file(&req, payload, &limits, Sink { db: &db, clock: &clock, store: &store }, &query, |form, name| {
            meta_of(&query, form, name)
        })
        .await?;
    let (s, now) = (filed.stored.clone(), clock.now());
    let (doc, v) = commit(&db, &store, &clock, &filed, move |c| {
        service::check_owner(c, &who, owner, &id)?;
        service::create(c, &Ctx { actor: &who.sub, now }, (owner, &id), meta, None, file, &s)
    })
    .await?;
    Ok(created(doc, v))
}

async fn list_of(
    owner: OwnerType,
    who: Principal,
    id: String,
    req: HttpRequest,
    db: web::Data<Db>,
) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let p = page.clone();
    let rows = db
        .read(move |c| {
            service::check_owner(c, &who, owner, &id)?;
            store::list_of_owner(c, owner.as_str(), &id, p.after.as_deref(), p.limit + 1).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |(d, _)| d.id.clone(), |(d, v)| DocumentOut::new(d, v))))
}

macro_rules! owner_endpoints {
    ($owner:expr, $roles:ty, $upload:ident, $list:ident, $path:literal, $tag:literal, $what:literal, $who:literal, $up_id:literal, $list_id:literal) => {
        #[doc = concat!("Attach a document to a ", $what, " (", $who, "): the file as the raw body with its `Content-Type` and a `filename` query parameter, or a `multipart/form-data` form.")]
        ///
        /// The file comes as the raw body with its `Content-Type` and a `filename` query
        /// parameter, or as a `multipart/form-data` form. The bytes stream to the document
        /// store; the document and its `created` event are written after they are stored. The same bytes are stored once, whoever uploads them.
        #[utoipa::path(
            post, operation_id = $up_id, path = $path, tag = $tag,
            summary = concat!("Attach a document to a ", $what, " (", $who, ")"),
            params(
                ("id" = String, Path, description = concat!("Id of the ", $what)),
                ("filename" = Option<String>, Query, description = "The file's name (required for a raw body; for a form, instead of the file part's own name). One name, not a path.", max_length = 255),
                ("kind" = Option<String>, Query, description = "Free text such as `signed_contract`, `annex`, `amendment`, `certificate` (default `document`)", max_length = 100),
                ("title" = Option<String>, Query, description = "Default: the file name", max_length = 500),
            ),
            request_body(
                description = "The file: the raw bytes (typed by `Content-Type`; with `application/octet-stream` by the file name's extension), or a form. Accepted media types are DOCUMENT_CONTENT_TYPES (by default PDF, office formats, text, CSV, e-mail, ZIP and common images).",
                content(
                    (FileBytes = "application/octet-stream"),
                    (DocumentForm = "multipart/form-data"),
                ),
            ),
            responses(
                (status = 201, description = "Stored", body = DocumentOut,
                 headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the document"))),
                (status = 400, description = "A broken multipart form, or a body that broke off", body = Problem, content_type = "application/problem+json"),
                (status = 413, description = "Larger than DOCUMENT_MAX_BYTES (refused by Content-Length before the body is read, or while it streams)", body = Problem, content_type = "application/problem+json"),
                (status = 415, description = "A media type that is not accepted", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "A missing or bad file name (a path, control characters), an empty file, a bad kind or title", body = Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        #[allow(clippy::too_many_arguments)]
        pub async fn $upload(
            who: Allowed<$roles>,
            id: web::Path<String>,
            req: HttpRequest,
            payload: web::Payload,
            db: web::Data<Db>,
            clock: web::Data<Clock>,
            limits: web::Data<Limits>,
            store: web::Data<DocumentStore>,
        ) -> Result<HttpResponse, ApiError> {
            upload_to($owner, who.into_inner(), id.into_inner(), req, payload, db, clock, limits, store).await
        }

        #[doc = concat!("The documents of a ", $what, " that are not removed, oldest first.")]
        #[utoipa::path(
            get, operation_id = $list_id, path = $path, tag = $tag,
            summary = concat!("The documents of a ", $what, " that are not removed, oldest first."),
            params(
                ("id" = String, Path, description = concat!("Id of the ", $what)),
                ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
                ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
            ),
            responses(
                (status = 200, description = "A page of documents", body = Page<DocumentOut>),
            ),
            security(("bearer" = []))
        )]
        pub async fn $list(
            who: Principal,
            id: web::Path<String>,
            req: HttpRequest,
            db: web::Data<Db>,
        ) -> Result<HttpResponse, ApiError> {
            list_of($owner, who, id.into_inner(), req, db).await
        }
    };
}

use crate::http::Page;

owner_endpoints!(
    OwnerType::Contract,
    ContractWriters,
    upload_contract_document,
    list_contract_documents,
    "/api/v1/contracts/{id}/documents",
    "documents",
    "contract",
    "contract_manager, integration",
    "upload_contract_document",
    "list_contract_documents"
);
owner_endpoints!(
    OwnerType::Installation,
    ContractWriters,
    upload_installation_document,
    list_installation_documents,
    "/api/v1/installations/{id}/documents",
    "documents",
    "installation",
    "contract_manager, integration",
    "upload_installation_document",
    "list_installation_documents"
);
owner_endpoints!(
    OwnerType::ServiceCall,
    CallRegistrars,
    upload_service_call_document,
    list_service_call_documents,
    "/api/v1/service-calls/{id}/documents",
    "documents",
    "service call",
    "service_agent, integration",
    "upload_service_call_document",
    "list_service_call_documents"
);
owner_endpoints!(
    OwnerType::Dossier,
    CaseWorkers,
    upload_dossier_document,
    list_dossier_documents,
    "/api/v1/dossiers/{id}/documents",
    "documents",
    "dossier",
    "case_worker",
    "upload_dossier_document",
    "list_dossier_documents"
);

/// A document with its current version (a removed one: admins only).
#[utoipa::path(
    get, operation_id = "get_document", path = "/api/v1/documents/{id}", tag = "documents",
    params(("id" = String, Path, description = "Document id")),
    responses(
        (status = 200, description = "The document", body = DocumentOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 404, description = "No such document (or one removed, for anyone but an admin)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get(who: Principal, db: web::Data<Db>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (doc, v) = db
        .read(move |c| {
            let doc = service::load_readable(c, &who, &id)?;
            let v = service::load_version(c, &doc, None)?;
            Ok::<_, ApiError>((doc, v))
        })
        .await?;
    let version = doc.version;
    Ok(resource_response(StatusCode::OK, &DocumentOut::new(doc, v), version, None))
}

/// Remove a document: it leaves lists and reads, a `deleted` event is recorded, and its
/// bytes stay retrievable for admins.
#[utoipa::path(
    delete, operation_id = "delete_document", path = "/api/v1/documents/{id}", tag = "documents",
    params(
        ("id" = String, Path, description = "Document id"),
        ("If-Match" = Option<String>, Header, description = "ETag the removal is based on; a stale one gives 412"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Role not allowed to change the documents of this owner", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    who: Principal,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    who.require_any(service::ANY_WRITER)?;
    let (id, now) = (id.into_inner(), clock.now());
    db.write(move |c| {
        Hold::Update.row(c, "documents", &id)?;
        let doc = service::load_writable(c, &who, &id)?;
        service::remove(c, &Ctx { actor: &who.sub, now }, doc, &if_match)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Upload a new version of a document; it becomes the current one and every earlier version
/// stays downloadable. Same body forms as the first upload.
#[utoipa::path(
    post, operation_id = "add_document_version", path = "/api/v1/documents/{id}/versions", tag = "documents",
    params(
        ("id" = String, Path, description = "Document id"),
        ("filename" = Option<String>, Query, description = "The file's name (required for a raw body). One name, not a path.", max_length = 255),
        ("If-Match" = Option<String>, Header, description = "ETag of the document the new version is based on; a stale one gives 412"),
    ),
    request_body(
        description = "The file: the raw bytes with their `Content-Type`, or a form (its `kind` and `title` fields are not used here).",
        content(
            (FileBytes = "application/octet-stream"),
            (DocumentForm = "multipart/form-data"),
        ),
    ),
    responses(
        (status = 201, description = "The document with its new current version", body = DocumentOut,
         headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the new version's content"))),
        (status = 400, description = "A broken multipart form, or a body that broke off", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed to change the documents of this owner", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than DOCUMENT_MAX_BYTES", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "A media type that is not accepted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or bad file name, an empty file", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[allow(clippy::too_many_arguments)]
pub async fn add_version(
    who: Principal,
    id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
    if_match: IfMatch,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    limits: web::Data<Limits>,
    store: web::Data<DocumentStore>,
) -> Result<HttpResponse, ApiError> {
    who.require_any(service::ANY_WRITER)?;
    let mut q = QueryPairs::from_request(&req)?;
    let query = Described { filename: q.take("filename"), ..Default::default() };
    q.finish()?;
    if let Some(name) = &query.filename {
        upload::checked_filename("filename", name)?;
    }
    upload::check_declared_length(&req, &limits)?;
    let id = id.into_inner();
    let (w, i) = (who.clone(), id.clone());
    let doc = db.read(move |c| service::load_writable(c, &w, &i)).await?;
    if_match.check(doc.version)?;
    let (filed, file, ()) =
        receive_file(&req, payload, &limits, Sink { db: &db, clock: &clock, store: &store }, &query, |_, _| Ok(()))
            .await?;
    let (s, now) = (filed.stored.clone(), clock.now());
    let (doc, v) = commit(&db, &store, &clock, &filed, move |c| {
        Hold::Update.row(c, "documents", &id)?;
        let doc = service::load_writable(c, &who, &id)?;
        service::add_version(c, &Ctx { actor: &who.sub, now }, doc, &if_match, None, file, &s)
    })
    .await?;
    let (version, location) = (doc.version, format!("/api/v1/documents/{}/versions/{}/content", doc.id, v.number));
    Ok(resource_response(StatusCode::CREATED, &DocumentOut::new(doc, v), version, Some(location)))
}

/// Every version of a document, oldest first.
#[utoipa::path(
    get, operation_id = "list_document_versions", path = "/api/v1/documents/{id}/versions", tag = "documents",
    params(
        ("id" = String, Path, description = "Document id"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of versions", body = Page<DocumentVersionOut>),
    ),
    security(("bearer" = []))
)]
pub async fn versions(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let after = match page.after.as_deref() {
        None => 0,
        Some(a) => a
            .parse::<i32>()
            .map_err(|_| ApiError::bad_request("invalid_cursor", "the cursor is not one this service handed out"))?,
    };
    let (id, limit) = (id.into_inner(), page.limit);
    let rows = db
        .read(move |c| {
            service::load_readable(c, &who, &id)?;
            store::versions(c, &id, after, limit + 1).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |v| v.number.to_string(), DocumentVersionOut::from)))
}

/// Every change of a document, oldest first.
#[utoipa::path(
    get, operation_id = "get_document_history", path = "/api/v1/documents/{id}/history", tag = "documents",
    params(
        ("id" = String, Path, description = "Document id"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of events, oldest first", body = Page<crate::events::api::EventOut>),
    ),
    security(("bearer" = []))
)]
pub async fn history(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (w, i) = (who.clone(), id.clone());
    db.read(move |c| service::load_readable(c, &w, &i)).await?;
    crate::events::api::history(&db, &req, ENTITY, id, store::exists).await
}

const DOWNLOAD_HEADERS: &str = "The file's bytes, typed by its media type";

/// Download the current version of a document.
///
/// Answers `Range: bytes=…` requests with 206 and the part (one range per request), so viewers
/// can stream a PDF; `If-None-Match` with the ETag (the SHA-256) gives 304.
#[utoipa::path(
    get, operation_id = "download_document", path = "/api/v1/documents/{id}/content", tag = "documents",
    params(
        ("id" = String, Path, description = "Document id"),
        ("Range" = Option<String>, Header, description = "One byte range, e.g. `bytes=0-1023`, `bytes=1024-` or `bytes=-500`"),
        ("If-Range" = Option<String>, Header, description = "The ETag the range is based on; when it no longer matches, the whole file comes back"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag held; 304 when it still matches"),
    ),
    responses(
        (status = 200, description = DOWNLOAD_HEADERS, content_type = "application/octet-stream", body = FileBytes, headers(
            ("ETag" = String, description = "The SHA-256 of the bytes, quoted"),
            ("Content-Disposition" = String, description = "`attachment` with the file name"),
            ("Accept-Ranges" = String, description = "`bytes`"),
            ("Content-Length" = i64, description = "Bytes"))),
        (status = 206, description = "The range asked for", content_type = "application/octet-stream", body = FileBytes, headers(
            ("Content-Range" = String, description = "`bytes first-last/size`"),
            ("ETag" = String, description = "The SHA-256 of the bytes, quoted"))),
        (status = 304, description = "The ETag still matches"),
        (status = 410, description = "A removed document whose bytes the retention period let go", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range lies outside the file; `Content-Range: bytes */size` gives its size", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn content(
    who: Principal,
    db: web::Data<Db>,
    store: web::Data<DocumentStore>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    download(who, db, store, id.into_inner(), None, req).await
}

/// Download one version of a document (same ranges and ETags as the current one).
#[utoipa::path(
    get, operation_id = "download_document_version", path = "/api/v1/documents/{id}/versions/{number}/content", tag = "documents",
    params(
        ("id" = String, Path, description = "Document id"),
        ("number" = i32, Path, description = "Version number, from 1", minimum = 1),
        ("Range" = Option<String>, Header, description = "One byte range, e.g. `bytes=0-1023`"),
        ("If-Range" = Option<String>, Header, description = "The ETag the range is based on"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag held; 304 when it still matches"),
    ),
    responses(
        (status = 200, description = DOWNLOAD_HEADERS, content_type = "application/octet-stream", body = FileBytes, headers(
            ("ETag" = String, description = "The SHA-256 of the bytes, quoted"),
            ("Content-Disposition" = String, description = "`attachment` with the file name"),
            ("Accept-Ranges" = String, description = "`bytes`"))),
        (status = 206, description = "The range asked for", content_type = "application/octet-stream", body = FileBytes, headers(
            ("Content-Range" = String, description = "`bytes first-last/size`"))),
        (status = 304, description = "The ETag still matches"),
        (status = 404, description = "No such document or version", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "A removed document whose bytes the retention period let go", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range lies outside the file", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn version_content(
    who: Principal,
    db: web::Data<Db>,
    store: web::Data<DocumentStore>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (id, number) = path.into_inner();
    let number = number
        .parse::<i32>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ApiError::not_found(format!("document {id} has no version {number}")))?;
    download(who, db, store, id, Some(number), req).await
}

fn header_str(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn download(
    who: Principal,
    db: web::Data<Db>,
    store: web::Data<DocumentStore>,
    id: String,
    number: Option<i32>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let v = db
        .read(move |c| {
            let doc = service::load_readable(c, &who, &id)?;
            service::load_version(c, &doc, number)
        })
        .await?;
    if let Some(at) = v.purged_at {
        return Err(ApiError::new(
            crate::error::Kind::Gone,
            "document_purged",
            format!("the bytes of this version were let go on {} (DOCUMENT_RETENTION_DAYS)", as_utc(at)),
        ));
    }
    let etag = format!("\"{}\"", v.sha256);
    let size = v.size as u64;
    let matches = |h: &str| h.split(',').any(|t| t.trim().trim_start_matches("W/") == etag || t.trim() == "*");
    if header_str(&req, header::IF_NONE_MATCH).is_some_and(matches) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish());
    }
    let range_applies = header_str(&req, header::IF_RANGE).is_none_or(|h| h.trim() == etag);
    let ask = if range_applies { model::parse_range(header_str(&req, header::RANGE), size) } else { RangeAsk::Whole };
    let mut res = match ask {
        RangeAsk::Unsatisfiable => {
            return Err(ApiError::new(
                crate::error::Kind::RangeNotSatisfiable,
                "range_not_satisfiable",
                format!("the file has {size} bytes; the range asked for lies outside it"),
            )
            .with_header("content-range", format!("bytes */{size}")))
        }
        RangeAsk::Part(r) => {
            let mut res = HttpResponse::PartialContent();
            res.insert_header((header::CONTENT_RANGE, format!("bytes {}-{}/{size}", r.first, r.last)));
            let body = store.get(&v.sha256, Some(r)).await?;
            return Ok(finish(&mut res, &v, etag).no_chunking(r.bytes()).streaming(body));
        }
        RangeAsk::Whole => HttpResponse::Ok(),
    };
    let body = store.get(&v.sha256, None).await?;
    Ok(finish(&mut res, &v, etag).no_chunking(size).streaming(body))
}

fn finish<'a>(
    res: &'a mut actix_web::HttpResponseBuilder,
    v: &VersionRow,
    etag: String,
) -> &'a mut actix_web::HttpResponseBuilder {
    res.insert_header((header::CONTENT_TYPE, v.content_type.clone()))
        .insert_header((header::CONTENT_DISPOSITION, model::content_disposition(&v.filename)))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        // A file opened in the browser (generated HTML among them) runs nothing in this origin.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'",
        ))
}

/// Push a document with its contract (integration, contract_manager): keyed by the pushing
/// system's `document_ref` under the contract's `external_ref`.
///
/// New → `created` (201). The same bytes, file name and type again (with the same kind and
/// title) → `unchanged` (200, nothing written). Anything else → a new version, `updated` (200).
/// Same body forms as an upload.
#[utoipa::path(
    put, operation_id = "put_contract_document_by_external_ref", path = "/api/v1/contracts/by-external-ref/{external_ref}/documents/{document_ref}", tag = "integration",
    params(
        ("external_ref" = String, Path, description = "The contract's reference in the pushing system"),
        ("document_ref" = String, Path, description = "The document's reference in the pushing system"),
        ("filename" = Option<String>, Query, description = "The file's name (required for a raw body). One name, not a path.", max_length = 255),
        ("kind" = Option<String>, Query, description = "Free text such as `signed_contract` (default `document`)", max_length = 100),
        ("title" = Option<String>, Query, description = "Default: the file name", max_length = 500),
    ),
    request_body(
        description = "The file: the raw bytes with their `Content-Type`, or a form.",
        content(
            (FileBytes = "application/octet-stream"),
            (DocumentForm = "multipart/form-data"),
        ),
    ),
    responses(
        (status = 200, description = "A new version (`updated`) or the same file again (`unchanged`)", body = DocumentPushOut, headers(("ETag" = String, description = "Version tag of the document"))),
        (status = 201, description = "Created", body = DocumentPushOut, headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the document"))),
        (status = 400, description = "A broken multipart form, or a body that broke off", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No contract has this external_ref", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than DOCUMENT_MAX_BYTES", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "A media type that is not accepted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad reference, file name, kind or title; an empty file", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[allow(clippy::too_many_arguments)]
pub async fn push(
    who: Allowed<Pushers>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    limits: web::Data<Limits>,
    store: web::Data<DocumentStore>,
) -> Result<HttpResponse, ApiError> {
    let (contract_ref, document_ref) = path.into_inner();
    let mut errors = Vec::new();
    crate::http::check_text(&mut errors, "external_ref", &contract_ref, 200);
    crate::http::check_text(&mut errors, "document_ref", &document_ref, 200);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let query = described(&req)?;
    upload::check_declared_length(&req, &limits)?;
    let r = contract_ref.clone();
    db.read(move |c| service::contract_by_ref(c, &r)).await?;
    let (filed, file, meta) =
        receive_file(&req, payload, &limits, Sink { db: &db, clock: &clock, store: &store }, &query, |form, name| {
            meta_of(&query, form, name)
        })
        .await?;
    let (s, now) = (filed.stored.clone(), clock.now());
    let (doc, v, outcome) = commit(&db, &store, &clock, &filed, move |c| {
        service::push(c, &Ctx { actor: &who.sub, now }, &contract_ref, &document_ref, meta, file, &s)
    })
    .await?;
    let (version, location) = (doc.version, format!("/api/v1/documents/{}", doc.id));
    let body = DocumentPushOut { outcome, document: DocumentOut::new(doc, v) };
    let status = if outcome == Outcome::Created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(resource_response(status, &body, version, Some(location)))
}

/// A document template.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateOut {
    pub id: String,
    pub key: String,
    pub name: String,
    pub body: String,
    /// Increases with every change; the ETag is this number in quotes.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<store::TemplateRow> for TemplateOut {
    fn from(t: store::TemplateRow) -> TemplateOut {
        TemplateOut {
            id: t.id,
            key: t.key,
            name: t.name,
            body: t.body,
            version: t.version,
            created_at: as_utc(t.created_at),
            updated_at: as_utc(t.updated_at),
        }
    }
}

fn template_ok(status: StatusCode, t: store::TemplateRow, location: Option<String>) -> HttpResponse {
    let version = t.version;
    resource_response(status, &TemplateOut::from(t), version, location)
}

/// Keep a new document template (admin).
#[utoipa::path(
    post, operation_id = "create_document_template", path = "/api/v1/document-templates", tag = "documents",
    request_body = TemplateIn,
    responses(
        (status = 201, description = "Kept", body = TemplateOut,
         headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the template"))),
        (status = 409, description = "The key is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad key or name, or a body that does not compile (the message says where)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_template(
    who: Allowed<crate::auth::AdminOnly>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    body: crate::http::ApiJson<TemplateIn>,
) -> Result<HttpResponse, ApiError> {
    let (t, now) = (body.into_inner(), clock.now());
    let row =
        db.write(move |c| super::templates::create(c, &Ctx { actor: &who.sub, now }, t.key, t.name, t.body)).await?;
    let location = format!("/api/v1/document-templates/{}", row.id);
    Ok(template_ok(StatusCode::CREATED, row, Some(location)))
}

/// The document templates, oldest first.
#[utoipa::path(
    get, operation_id = "list_document_templates", path = "/api/v1/document-templates", tag = "documents",
    params(
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses((status = 200, description = "A page of templates", body = Page<TemplateOut>)),
    security(("bearer" = []))
)]
pub async fn list_templates(_who: Principal, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let p = page.clone();
    let rows = db.read(move |c| store::templates(c, p.after.as_deref(), p.limit + 1).map_err(ApiError::from)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |t| t.id.clone(), TemplateOut::from)))
}

/// One document template.
#[utoipa::path(
    get, operation_id = "get_document_template", path = "/api/v1/document-templates/{id}", tag = "documents",
    params(("id" = String, Path, description = "Template id")),
    responses(
        (status = 200, description = "The template", body = TemplateOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 404, description = "No such template", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_template(_who: Principal, db: web::Data<Db>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    Ok(template_ok(StatusCode::OK, db.read(move |c| super::templates::load(c, &id)).await?, None))
}

/// Change a document template (admin).
#[utoipa::path(
    patch, operation_id = "update_document_template", path = "/api/v1/document-templates/{id}", tag = "documents",
    params(
        ("id" = String, Path, description = "Template id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; a stale one gives 412"),
    ),
    request_body(content = TemplatePatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Changed", body = TemplateOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 404, description = "No such template", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad name, or a body that does not compile", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update_template(
    who: Allowed<crate::auth::AdminOnly>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: crate::http::ApiJson<TemplatePatch>,
) -> Result<HttpResponse, ApiError> {
    let (id, p, now) = (id.into_inner(), body.into_inner(), clock.now());
    let row = db
        .write(move |c| super::templates::update(c, &Ctx { actor: &who.sub, now }, &id, (p.name, p.body), &if_match))
        .await?;
    Ok(template_ok(StatusCode::OK, row, None))
}

/// Delete a document template (admin); documents generated from it stay.
#[utoipa::path(
    delete, operation_id = "delete_document_template", path = "/api/v1/document-templates/{id}", tag = "documents",
    params(
        ("id" = String, Path, description = "Template id"),
        ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on; a stale one gives 412"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such template", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_template(
    who: Allowed<crate::auth::AdminOnly>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (id, now) = (id.into_inner(), clock.now());
    db.write(move |c| super::templates::delete(c, &Ctx { actor: &who.sub, now }, &id, &if_match)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What a template reads: the contract with its parent, covered installations and obligations.
fn contract_context(c: &mut crate::db::DbConnection, who: &Principal, id: &str) -> Result<serde_json::Value, ApiError> {
    service::check_owner(c, who, OwnerType::Contract, id)?;
    let contract = crate::contracts::service::load(c, id)?;
    let parent = match contract.parent_id.as_deref() {
        Some(p) => Some(crate::contracts::api::ContractOut::from(crate::contracts::service::load(c, p)?)),
        None => None,
    };
    let installations: Vec<serde_json::Value> = crate::installations::store::coverage_of_contract(c, id, None, 10_000)?
        .into_iter()
        .map(|(cov, inst)| {
            let mut v =
                serde_json::to_value(crate::installations::api::InstallationOut::from(inst)).unwrap_or_default();
            v["valid_from"] = serde_json::json!(cov.valid_from);
            v["valid_to"] = serde_json::json!(cov.valid_to);
            v
        })
        .collect();
    let obligations: Vec<crate::obligations::api::ObligationOut> =
        crate::obligations::store::of_contracts(c, &[id.to_string()])?.into_iter().map(Into::into).collect();
    Ok(serde_json::json!({
        "contract": crate::contracts::api::ContractOut::from(contract),
        "parent": parent,
        "installations": installations,
        "obligations": obligations,
    }))
}

/// Render a document template for a contract and keep the HTML as a new document of kind
/// `generated` (contract_manager, integration).
///
/// HTML, not PDF: a PDF renderer would cost more build and image than the rest of the service;
/// a browser prints the HTML to PDF.
#[utoipa::path(
    post, operation_id = "generate_contract_document", path = "/api/v1/contracts/{id}/documents/generate", tag = "documents",
    params(("id" = String, Path, description = "Contract id")),
    request_body = GenerateIn,
    responses(
        (status = 201, description = "The generated document", body = DocumentOut,
         headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the document"))),
        (status = 422, description = "No template with this key, a template that fails on this contract, a bad title or file name", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn generate(
    who: Allowed<ContractWriters>,
    id: web::Path<String>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    limits: web::Data<Limits>,
    store: web::Data<DocumentStore>,
    body: crate::http::ApiJson<GenerateIn>,
) -> Result<HttpResponse, ApiError> {
    let (who, id, input) = (who.into_inner(), id.into_inner(), body.into_inner());
    if let Some(name) = &input.filename {
        upload::checked_filename("filename", name)?;
    }
    let (w, i, key) = (who.clone(), id.clone(), input.template.clone());
    let (template, html) = db
        .read(move |c| {
            let context = contract_context(c, &w, &i)?;
            super::templates::render(c, &key, &context)
        })
        .await?;
    if html.trim().is_empty() {
        return Err(ApiError::invalid("template", "empty", "the template renders nothing for this contract"));
    }
    let meta = Meta { kind: model::GENERATED_KIND.to_string(), title: input.title.unwrap_or(template.name) };
    let mut errors = Vec::new();
    service::check_meta(&mut errors, &meta);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let mut upload = store.begin(limits.max_bytes).await?;
    if let Err(e) = upload.write(html.as_bytes()).await {
        upload.abort().await;
        return Err(match e {
            super::storage::UploadError::TooLarge => {
                ApiError::invalid("template", "too_large", "the rendered document is larger than DOCUMENT_MAX_BYTES")
            }
            super::storage::UploadError::Store(e) => e,
        });
    }
    let filed = blobs::file(&db, &clock, upload.complete().await?).await?;
    let file = FileMeta {
        filename: input.filename.unwrap_or_else(|| format!("{}.html", template.key)),
        content_type: "text/html".to_string(),
    };
    let (s, now) = (filed.stored.clone(), clock.now());
    let (doc, v) = commit(&db, &store, &clock, &filed, move |c| {
        service::check_owner(c, &who, OwnerType::Contract, &id)?;
        service::create(c, &Ctx { actor: &who.sub, now }, (OwnerType::Contract, &id), meta, None, file, &s)
    })
    .await?;
    Ok(created(doc, v))
}
