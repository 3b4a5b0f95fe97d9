//! Handlers and request/response types for machine pushes: upserts by external reference
//! (`PUT /contracts/by-external-ref/{ref}`, `PUT /installations/by-external-ref/{ref}`) and
//! NDJSON bulk imports (`POST /imports/contracts`, `POST /imports/installations`).

use super::input::{check_ref, ContractDocument, InstallationDocument};
use super::model::{ImportMaxLines, ImportReport, Line, LineSplitter, Outcome, ReportBuilder};
use super::{import, service};
use crate::auth::{Allowed, Pushers};
use crate::clock::Clock;
use crate::contracts::api::ContractOut;
use crate::contracts::model::NumberPattern;
use crate::db::Db;
use crate::events::Ctx;
use crate::http::etag::resource_response;
use crate::http::json::BodyLimit;
use crate::http::{ApiError, Problem, QueryPairs};
use crate::idempotency::ReplayWith;
use crate::installations::api::InstallationOut;
use crate::obligations::generation;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;

/// Lines applied per transaction in an import (each line in a savepoint of its own), and the
/// most bytes of lines held before they are applied.
const BATCH: usize = 500;
const BATCH_BYTES: usize = 8 * 1024 * 1024;
/// An import report up to this size is spooled in memory; a larger one goes to a file.
const SPOOL_IN_MEMORY: usize = 256 * 1024;

/// The answer to a contract push.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContractPushOut {
    pub outcome: Outcome,
    pub contract: ContractOut,
}

/// The answer to an installation push.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstallationPushOut {
    pub outcome: Outcome,
    pub installation: InstallationOut,
}

fn pushed<T: Serialize>(outcome: Outcome, body: &T, version: i64, location: String) -> HttpResponse {
    let status = if outcome == Outcome::Created { StatusCode::CREATED } else { StatusCode::OK };
    resource_response(status, body, version, Some(location))
}

/// Create or replace a contract document by its external reference (integration,
/// contract_manager).
///
/// The document carries the header, attributes, service level, child contracts, covered
/// installations and obligations; it is applied atomically. Pushing the same document again
/// answers `unchanged` and appends no events.
#[utoipa::path(
    put, operation_id = "put_contract_by_external_ref", path = "/api/v1/contracts/by-external-ref/{external_ref}", tag = "integration",
    params(("external_ref" = String, Path, description = "The contract's reference in the pushing system")),
    request_body = ContractDocument,
    responses(
        (status = 200, description = "Replaced (`updated`) or already so (`unchanged`)", body = ContractPushOut, headers(("ETag" = String, description = "Version tag of the contract"))),
        (status = 201, description = "Created", body = ContractPushOut, headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the contract"))),
        (status = 409, description = "A rule refuses the change (duplicate number, coverage overlap, status change not supported…); nothing was applied", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid document, with field paths into it; nothing was applied", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put_contract(
    who: Allowed<Pushers>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    pattern: web::Data<NumberPattern>,
    path: web::Path<String>,
    body: crate::http::ApiJson<ContractDocument>,
) -> Result<HttpResponse, ApiError> {
    let (external_ref, doc, now) = (path.into_inner(), body.into_inner(), clock.now());
    check_ref(&external_ref)?;
    let (pattern, actor) = (pattern.0.clone(), who.sub.clone());
    let (row, outcome) = db
        .write(move |c| {
            service::with_outcome(c, |c| {
                service::put_contract(c, &Ctx { actor: &who.sub, now }, &external_ref, doc, &pattern)
            })
        })
        .await?;
    if outcome != Outcome::Unchanged {
        generation::follow_up_trees(&db, &actor, now, vec![row.id.clone()]).await;
    }
    let (version, location) = (row.version, format!("/api/v1/contracts/{}", row.id));
    Ok(pushed(outcome, &ContractPushOut { outcome, contract: row.into() }, version, location))
}

/// Create or replace an installation by its external reference (integration,
/// contract_manager). Pushing the same document again answers `unchanged`.
#[utoipa::path(
    put, operation_id = "put_installation_by_external_ref", path = "/api/v1/installations/by-external-ref/{external_ref}", tag = "integration",
    params(("external_ref" = String, Path, description = "The installation's reference in the pushing system")),
    request_body = InstallationDocument,
    responses(
        (status = 200, description = "Replaced (`updated`) or already so (`unchanged`)", body = InstallationPushOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 201, description = "Created", body = InstallationPushOut, headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the installation"))),
        (status = 409, description = "Serial number used by another installation", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid document", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put_installation(
    who: Allowed<Pushers>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    path: web::Path<String>,
    body: crate::http::ApiJson<InstallationDocument>,
) -> Result<HttpResponse, ApiError> {
    let (external_ref, doc, now) = (path.into_inner(), body.into_inner(), clock.now());
    check_ref(&external_ref)?;
    let (row, outcome) = db
        .write(move |c| {
            service::with_outcome(c, |c| {
                service::put_installation(c, &Ctx { actor: &who.sub, now }, &external_ref, doc)
            })
        })
        .await?;
    let (version, location) = (row.version, format!("/api/v1/installations/{}", row.id));
    Ok(pushed(outcome, &InstallationPushOut { outcome, installation: row.into() }, version, location))
}

#[allow(clippy::too_many_arguments)]
async fn import(
    who: Allowed<Pushers>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    pattern: web::Data<NumberPattern>,
    max_lines: web::Data<ImportMaxLines>,
    req: HttpRequest,
    mut payload: web::Payload,
    kind: import::Kind,
) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let dry_run = q.take_bool("dry_run")?.unwrap_or(false);
    q.finish()?;
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime != "application/x-ndjson" && mime != "application/ndjson" {
        return Err(ApiError::new(
            crate::error::Kind::UnsupportedMediaType,
            "unsupported_media_type",
            "send newline-delimited JSON with Content-Type: application/x-ndjson",
        ));
    }
    let limit = req.app_data::<BodyLimit>().map(|l| l.0).unwrap_or(1024 * 1024);
    let now = clock.now();
    let (pattern, max_lines) = (pattern.0.clone(), max_lines.0);
    let mut splitter = LineSplitter::new(limit);
    // The report is spooled (in memory while small, then in an unnamed temporary file) and
    // streamed out at the end, so no import holds its whole answer in memory.
    let spool = tempfile::SpooledTempFile::new(SPOOL_IN_MEMORY);
    let mut report = ReportBuilder::new(dry_run, spool).map_err(ApiError::internal)?;
    let (mut batch, mut bytes, mut taken, mut next_line) = (Vec::new(), 0, 0usize, None);
    'read: while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request("body_unreadable", format!("the body could not be read: {e}")))?;
        for line in splitter.push(&chunk) {
            if taken == max_lines {
                next_line = Some(line.number());
                break 'read;
            }
            taken += 1;
            bytes += match &line {
                Line::Text(_, b) => b.len(),
                Line::TooLong(_) => 0,
            };
            batch.push(line);
            if batch.len() >= BATCH || bytes >= BATCH_BYTES {
                report
                    .add(
                        import::apply_batch(&db, &who.sub, now, kind, std::mem::take(&mut batch), dry_run, &pattern)
                            .await?,
                    )
                    .map_err(ApiError::internal)?;
                bytes = 0;
            }
        }
    }
    if next_line.is_none() {
        for line in splitter.finish() {
            if taken == max_lines {
                next_line = Some(line.number());
                break;
            }
            taken += 1;
            batch.push(line);
        }
    }
    if !batch.is_empty() {
        report
            .add(import::apply_batch(&db, &who.sub, now, kind, batch, dry_run, &pattern).await?)
            .map_err(ApiError::internal)?;
    }
    let (spool, len, summary) = report.finish(next_line).map_err(ApiError::internal)?;
    let mut res =
        HttpResponse::Ok().content_type(header::ContentType::json()).no_chunking(len).streaming(read_out(spool));
    res.extensions_mut().insert(ReplayWith(summary.into()));
    Ok(res)
}

/// The spooled report as a body, read a chunk at a time off the async workers.
fn read_out(
    spool: tempfile::SpooledTempFile,
) -> impl futures_util::Stream<Item = Result<web::Bytes, actix_web::Error>> {
    futures_util::stream::try_unfold(spool, |mut spool| async move {
        web::block(move || {
            let mut chunk = vec![0; 64 * 1024];
            let n = std::io::Read::read(&mut spool, &mut chunk)?;
            chunk.truncate(n);
            Ok::<_, std::io::Error>((n > 0).then(|| (web::Bytes::from(chunk), spool)))
        })
        .await?
        .map_err(actix_web::Error::from)
    })
}

/// Import contract documents as NDJSON (integration, contract_manager).
///
/// One contract document per line (the shape of `PUT /contracts/by-external-ref/{ref}`, with
/// `external_ref` in the line). The body is streamed; each line is applied on its own (a bad
/// line never loses the others) and reported as `created`, `updated`, `unchanged` or `failed`
/// with its problem. Re-running an import is safe: applied lines report `unchanged`.
#[utoipa::path(
    post, operation_id = "import_contracts", path = "/api/v1/imports/contracts", tag = "integration",
    params(("dry_run" = Option<bool>, Query, description = "`true`: check and report every line, then roll everything back")),
    request_body(content = String, content_type = "application/x-ndjson", description = "One contract document (JSON) per line"),
    responses(
        (status = 200, description = "The outcome of every line", body = ImportReport),
        (status = 415, description = "Not NDJSON", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn import_contracts(
    who: Allowed<Pushers>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    pattern: web::Data<NumberPattern>,
    max_lines: web::Data<ImportMaxLines>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    import(who, db, clock, pattern, max_lines, req, payload, import::Kind::Contracts).await
}

/// Import installation documents as NDJSON (integration, contract_manager).
///
/// One installation document per line (the shape of `PUT /installations/by-external-ref/{ref}`,
/// with `external_ref` in the line); streamed, each line applied and reported on its own.
#[utoipa::path(
    post, operation_id = "import_installations", path = "/api/v1/imports/installations", tag = "integration",
    params(("dry_run" = Option<bool>, Query, description = "`true`: check and report every line, then roll everything back")),
    request_body(content = String, content_type = "application/x-ndjson", description = "One installation document (JSON) per line"),
    responses(
        (status = 200, description = "The outcome of every line", body = ImportReport),
        (status = 415, description = "Not NDJSON", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn import_installations(
    who: Allowed<Pushers>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    pattern: web::Data<NumberPattern>,
    max_lines: web::Data<ImportMaxLines>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    import(who, db, clock, pattern, max_lines, req, payload, import::Kind::Installations).await
}
