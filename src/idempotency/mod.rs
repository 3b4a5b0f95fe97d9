//! `Idempotency-Key` on every POST: the first request with a key does the work and its answer
//! is kept; a retry with the same key and body gets that answer again (with
//! `Idempotent-Replayed: true`) without the work being done twice; the same key with another
//! body is a 422; a retry that arrives while the first request still runs waits for its answer.
//! Keys are per caller (the token's `sub`) and kept at least 24 hours.
//!
//! A key goes `pending` (claimed) → `committed` (marked in the very transaction that did the
//! work, through `db::with_before_commit`) → `done` (answer stored). A pending key whose
//! request died (lease over) may be taken over by a retry, since nothing was done; a committed
//! key never is: the retry gets a 409 instead of the work being done twice.
//!
//! Bulk imports (`/imports/…`) and document uploads are streamed: their body is fingerprinted
//! as it passes to the handler instead of being held, and a retry's body is read to its end
//! before its stored answer is replayed. An answer that is streamed out names a short stand-in
//! ([`ReplayWith`]) which is kept and replayed instead of it, so the answer itself is never
//! held.

pub mod model;
pub mod store;

use crate::auth::Principal;
use crate::clock::Clock;
use crate::db::Db;
use crate::error::ApiError;
use crate::http::json::BodyLimit;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::Payload;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpResponse, ResponseError};
use chrono::{Duration, NaiveDateTime, SubsecRound};
use futures_util::StreamExt;
use model::Fingerprint;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use store::KeyRow;

pub const HEADER: &str = crate::http::openapi::IDEMPOTENCY_KEY;

/// Put in an answer's extensions by a handler that streams a large body: this body is kept
/// for replays instead of the answer's own, which is passed on without being held.
pub struct ReplayWith(pub web::Bytes);
/// Paths whose bodies are streamed (bulk imports).
const STREAMED: &str = "/api/v1/imports/";

/// Whether a POST to `path` streams its body: bulk imports, and document uploads (up to
/// `DOCUMENT_MAX_BYTES`, far more than a request body this middleware may hold).
fn is_streamed(path: &str) -> bool {
    path.starts_with(STREAMED)
        || (path.starts_with("/api/v1/") && (path.ends_with("/documents") || path.ends_with("/versions")))
}

/// The headers of an answer that are kept and replayed with its body.
const KEPT_HEADERS: [header::HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];
/// How long a retry waits for the first request's answer before giving up with a 409.
const WAIT_STEPS: u32 = 200;
const WAIT_STEP: std::time::Duration = std::time::Duration::from_millis(50);

fn problem(req: ServiceRequest, e: ApiError) -> ServiceResponse<BoxBody> {
    let (req, _) = req.into_parts();
    ServiceResponse::new(req, e.error_response())
}

/// The middleware; see the module documentation.
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let key = match req.headers().get(HEADER) {
        Some(v) if req.method() == Method::POST => v.to_str().unwrap_or("").to_string(),
        _ => return next.call(req).await.map(ServiceResponse::map_into_boxed_body),
    };
    if let Err(m) = model::check_key(&key) {
        return Ok(problem(req, ApiError::bad_request("invalid_idempotency_key", m)));
    }
    // Without a valid token the handler answers 401; nothing to remember.
    let Ok(who) = Principal::extract(req.request()).await else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let (Some(db), Some(clock)) =
        (req.app_data::<web::Data<Db>>().cloned(), req.app_data::<web::Data<Clock>>().cloned())
    else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string();
    // Bulk imports and uploads stream their body: it is fingerprinted as it passes instead of held.
    let streamed = is_streamed(req.path());
    let known = if streamed {
        None
    } else {
        match held_fingerprint(&mut req, &path).await? {
            Ok(print) => Some(print),
            Err(e) => return Ok(problem(req, e)),
        }
    };
    let owner = who.sub;
    let lease = match claim(&db, &clock, &owner, &key, known.as_deref(), &path).await {
        Ok(Claim::Mine(lease)) => lease,
        Ok(Claim::Replay(row)) => return replay_to(req, row, streamed, &path).await,
        Err(e) => return Ok(problem(req, e)),
    };
    let streamed_print = streamed.then(|| fingerprint_as_it_passes(&mut req, &path));
    // The key is marked `committed` in the very transaction that does the work.
    let mark: crate::db::BeforeCommit = {
        let (owner, key) = (owner.clone(), key.clone());
        Arc::new(move |c| store::mark_committed(c, &owner, &key, lease))
    };
    let res = crate::db::with_before_commit(mark, next.call(req)).await?;
    let fingerprint = known
        .or_else(|| streamed_print?.lock().unwrap_or_else(|e| e.into_inner()).take().map(Fingerprint::finish))
        .unwrap_or_default();
    Ok(store_answer(&db, owner, key, lease, fingerprint, streamed, res).await)
}

/// Reads the whole body (up to the body limit), puts it back for the handler and gives the
/// request's fingerprint; a body over the limit is refused (413).
async fn held_fingerprint(req: &mut ServiceRequest, path: &str) -> Result<Result<String, ApiError>, actix_web::Error> {
    let mut print = Fingerprint::new(req.method().as_str(), path);
    let limit = req.app_data::<BodyLimit>().map(|l| l.0).unwrap_or(1024 * 1024);
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > limit {
            let detail = format!("the body exceeds {limit} bytes");
            return Ok(Err(ApiError::new(crate::error::Kind::PayloadTooLarge, "body_too_large", detail)));
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    print.update(&body);
    req.set_payload(body.into());
    Ok(Ok(print.finish()))
}

/// Passes a streamed body on to the handler, fingerprinting it as it goes; the fingerprint is
/// complete once the handler has read the body to its end.
fn fingerprint_as_it_passes(req: &mut ServiceRequest, path: &str) -> Arc<Mutex<Option<Fingerprint>>> {
    let print = Arc::new(Mutex::new(Some(Fingerprint::new(req.method().as_str(), path))));
    let sink = print.clone();
    let payload = req.take_payload().map(move |chunk| {
        if let (Ok(bytes), Some(print)) = (&chunk, sink.lock().unwrap_or_else(|e| e.into_inner()).as_mut()) {
            print.update(bytes);
        }
        chunk
    });
    let boxed: std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<web::Bytes, actix_web::error::PayloadError>>>> =
        Box::pin(payload);
    req.set_payload(Payload::from(boxed));
    print
}

/// Answers a retry with the stored answer. A streamed retry's body is read to its end first:
/// only the same body gets the same answer.
async fn replay_to(
    mut req: ServiceRequest,
    row: KeyRow,
    streamed: bool,
    path: &str,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if streamed {
        let mut print = Fingerprint::new(req.method().as_str(), path);
        let mut payload = req.take_payload();
        while let Some(chunk) = payload.next().await {
            print.update(&chunk?);
        }
        if print.finish() != row.fingerprint {
            return Ok(problem(req, reused()));
        }
    }
    let (http, _) = req.into_parts();
    Ok(ServiceResponse::new(http, replay(row)))
}

/// Keeps the handler's answer under the key (or lets the key go when the answer is not one to
/// keep) and passes it on. A handler that streams its answer named a stand-in to keep instead
/// ([`ReplayWith`]).
async fn store_answer<B: MessageBody + 'static>(
    db: &Db,
    owner: String,
    key: String,
    lease: NaiveDateTime,
    fingerprint: String,
    streamed: bool,
    res: ServiceResponse<B>,
) -> ServiceResponse<BoxBody> {
    let status = res.status();
    let (http, response) = res.into_parts();
    let (mut head, body) = response.into_parts();
    let stand_in = head.extensions_mut().remove::<ReplayWith>();
    let (kept_body, body) = match stand_in {
        Some(ReplayWith(kept)) => (kept, body.boxed()),
        None => {
            let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
            (bytes.clone(), BoxBody::new(bytes))
        }
    };
    let kept: BTreeMap<String, String> = KEPT_HEADERS
        .iter()
        .filter_map(|h| head.headers().get(h).and_then(|v| v.to_str().ok()).map(|v| (h.to_string(), v.to_string())))
        .collect();
    // A streamed request refused early did not read its whole body, so its fingerprint would
    // not match an honest retry: only its successful answers are kept.
    let keep = model::keeps(status.as_u16()) && (!streamed || status.is_success());
    let stored = db
        .write(move |c| {
            if keep {
                let headers = serde_json::to_string(&kept).unwrap_or_else(|_| "{}".into());
                store::complete(c, &owner, &key, lease, &fingerprint, status.as_u16() as i32, &headers, &kept_body)?;
            } else {
                store::release(c, &owner, &key, lease)?;
            }
            Ok::<_, ApiError>(())
        })
        .await;
    if let Err(e) = stored {
        // The answer still goes out; the key stays pending until its lease ends.
        tracing::warn!(error = %e, "could not store the answer of an idempotent request");
    }
    ServiceResponse::new(http, head.set_body(body))
}

enum Claim {
    /// This request does the work, under the lease it holds the key with.
    Mine(NaiveDateTime),
    /// Answer with the stored response.
    Replay(KeyRow),
}

/// Claims the key for this request, or finds the answer to replay, waiting for a first
/// request that is still running.
async fn claim(
    db: &Db,
    clock: &Clock,
    owner: &str,
    key: &str,
    fingerprint: Option<&str>,
    path: &str,
) -> Result<Claim, ApiError> {
    // A streamed body's fingerprint is known only at its end: its requests are compared then.
    let differs = |stored: &str| fingerprint.is_some_and(|f| f != stored);
    for _ in 0..WAIT_STEPS {
        let now = clock.now().naive_utc();
        // Look before writing: a waiting retry only reads.
        let (o, k) = (owner.to_string(), key.to_string());
        match db.read(move |c| store::get(c, &o, &k).map_err(ApiError::from)).await? {
            Some(e) if differs(&e.fingerprint) => return Err(reused()),
            Some(e) if e.state == model::KeyState::Done => return Ok(Claim::Replay(e)),
            Some(e) if e.state == model::KeyState::Committed && e.locked_until <= now => return Err(answer_lost(path)),
            Some(e) if e.locked_until > now => {
                actix_web::rt::time::sleep(WAIT_STEP).await;
                continue;
            }
            _ => {}
        }
        let row = KeyRow {
            owner: owner.to_string(),
            idempotency_key: key.to_string(),
            fingerprint: fingerprint.unwrap_or_default().to_string(),
            state: model::KeyState::Pending,
            // Whole microseconds, as PostgreSQL stores it: the lease is compared for equality
            // when the work commits.
            locked_until: (now + Duration::seconds(model::LEASE_SECS)).trunc_subsecs(6),
            response_status: None,
            response_headers: None,
            response_body: None,
            created_at: now,
        };
        let check = fingerprint.is_some();
        let lease = row.locked_until;
        let found = db
            .write(move |c| {
                if store::claim(c, &row)? {
                    return Ok::<_, ApiError>(None);
                }
                let existing = store::get(c, &row.owner, &row.idempotency_key)?;
                match existing {
                    Some(e)
                        if (!check || e.fingerprint == row.fingerprint)
                            && e.state == model::KeyState::Pending
                            && e.locked_until <= now =>
                    {
                        let taken =
                            store::take_over(c, &row.owner, &row.idempotency_key, e.locked_until, row.locked_until)?;
                        Ok(if taken { None } else { Some(e) })
                    }
                    other => Ok(other),
                }
            })
            .await?;
        match found {
            None => return Ok(Claim::Mine(lease)),
            Some(e) if differs(&e.fingerprint) => return Err(reused()),
            Some(e) if e.state == model::KeyState::Done => return Ok(Claim::Replay(e)),
            Some(_) => actix_web::rt::time::sleep(WAIT_STEP).await,
        }
    }
    Err(ApiError::conflict(
        "idempotency_key_in_progress",
        "a request with this Idempotency-Key is still running; retry shortly",
    ))
}

fn reused() -> ApiError {
    ApiError::new(
        crate::error::Kind::Invalid,
        "idempotency_key_reused",
        "this Idempotency-Key was already used for a different request; use a new key",
    )
}

/// The first request's work committed but its answer was never stored (the process stopped in
/// between): doing it again would do it twice. Imports are the exception that says so: their
/// lines are idempotent by external reference, so sending the file again is safe.
fn answer_lost(path: &str) -> ApiError {
    let detail = if path.starts_with("/api/v1/imports/") {
        "the import with this Idempotency-Key was cut off before its report was stored (the service \
         stopped); every line is keyed by its external_ref, so send the same file again with a new \
         Idempotency-Key: lines already applied report `unchanged`, the rest are applied"
    } else {
        "the request with this Idempotency-Key was carried out, but its answer was lost; look the result up instead of retrying"
    };
    ApiError::conflict("idempotency_key_answer_lost", detail)
}

fn replay(row: KeyRow) -> HttpResponse {
    let status = row.response_status.and_then(|s| StatusCode::from_u16(s as u16).ok()).unwrap_or(StatusCode::OK);
    let mut res = HttpResponse::build(status);
    let headers: BTreeMap<String, String> = row.response_headers.map(|h| h.into_inner()).unwrap_or_default();
    for (name, value) in headers {
        res.insert_header((name, value));
    }
    res.insert_header(("Idempotent-Replayed", "true"));
    res.body(row.response_body.unwrap_or_default())
}
