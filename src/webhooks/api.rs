//! Handlers and request/response types for `/api/v1/webhooks` (admin only).

use super::input::{WebhookIn, WebhookPatch};
use super::model::{self, check_event_types, check_secret, check_url, AllowedRanges};
use super::service;
use super::store::{self, DeliveryRow, DeliveryState, WebhookRow};
use crate::auth::{AdminOnly, Allowed};

use crate::clock::{as_utc, Clock};
use crate::db::Db;
use crate::events::Ctx;
use crate::http::etag::resource_response;
use crate::http::pagination::PageRequest;
use crate::http::{check_text, ApiError, ApiJson, FieldError, IfMatch, Page, Problem, QueryPairs};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A webhook subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// What the subscription is for.
    pub description: Option<String>,
    /// Subscribed event types and patterns.
    pub event_types: Vec<String>,
    /// Whether events are delivered.
    pub active: bool,
    pub status: WebhookStatus,
    /// Since when every attempt has failed: the first failed attempt after the last delivery
    /// the receiver accepted; `null` while it accepts them. After `WEBHOOK_PAUSE_AFTER_HOURS`
    /// (default 72) of this the webhook is paused.
    pub failing_since: Option<DateTime<Utc>>,
    /// When the dispatcher paused the webhook (a `webhook.paused` event); `null` unless
    /// `status` is `paused`.
    pub paused_at: Option<DateTime<Utc>>,
    /// The last four characters of the signing secret.
    #[schema(example = "…9f3a")]
    pub secret_hint: String,
    /// Feed position (the change feed's `sequence`) of the newest event the outbox has taken
    /// in: the delivery cursor.
    pub last_event_id: i64,
    /// Increases with every change; the ETag is this number in quotes.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new webhook subscription, with its signing secret: this answer is the only one that has it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: WebhookOut,
    /// The signing secret: keep it, later answers show only `secret_hint`.
    pub secret: String,
}

/// Whether a webhook delivers.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WebhookStatus {
    /// Events are delivered.
    Active,
    /// An admin turned deliveries off (`"active": false`).
    Inactive,
    /// The dispatcher turned deliveries off after the receiver failed for
    /// `WEBHOOK_PAUSE_AFTER_HOURS` without a success; PATCH `{"active": true}` resumes it.
    Paused,
}

impl From<WebhookRow> for WebhookOut {
    fn from(r: WebhookRow) -> WebhookOut {
        WebhookOut {
            status: match (r.active, r.paused_at) {
                (true, _) => WebhookStatus::Active,
                (false, Some(_)) => WebhookStatus::Paused,
                (false, None) => WebhookStatus::Inactive,
            },
            failing_since: r.failing_since.map(as_utc),
            paused_at: r.paused_at.map(as_utc),
            event_types: r.patterns(),
            secret_hint: model::secret_hint(&r.secret),
            id: r.id,
            url: r.url,
            description: r.description,
            active: r.active,
            last_event_id: r.last_event_id,
            version: r.version,
            created_at: as_utc(r.created_at),
            updated_at: as_utc(r.updated_at),
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not yet accepted by the receiver: due at `next_attempt_at` (or waiting behind an older one).
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// An admin took it out of the queue on purpose; it is not sent unless redelivered.
    Skipped,
}

/// One event to deliver to a webhook, with the state of its attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    /// Delivery id, sent as `Pactum-Delivery-Id`.
    pub id: String,
    /// The event delivered, sent as `Pactum-Event-Id` (and `event_id` in the body).
    pub event_id: i64,
    /// `<entity>.<action>`, sent as `Pactum-Event-Type`.
    pub event_type: String,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i32,
    /// HTTP status of the last answer; `null` before the first attempt or when none came.
    pub last_status_code: Option<i32>,
    /// Why the last attempt failed, as a class: `the receiver answered 503`, `timed out`,
    /// `connection refused or unreachable`, `TLS error`, `destination not allowed` (the host is
    /// or resolves to an address that is not public), …; `null` when it did not fail.
    pub last_error: Option<String>,
    /// When the last attempt was made.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due; `null` once delivered.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the receiver accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the event entered the webhook's outbox.
    pub created_at: DateTime<Utc>,
    /// When an admin skipped it; `null` unless `status` is `skipped`.
    pub skipped_at: Option<DateTime<Utc>>,
    /// Who skipped it (the token's `sub`).
    pub skipped_by: Option<String>,
}

impl From<DeliveryRow> for DeliveryOut {
    fn from(r: DeliveryRow) -> DeliveryOut {
        DeliveryOut {
            status: match (r.delivered_at, r.skipped_at) {
                (Some(_), _) => DeliveryStatus::Delivered,
                (None, Some(_)) => DeliveryStatus::Skipped,
                (None, None) => DeliveryStatus::Pending,
            },
            skipped_at: r.skipped_at.map(as_utc),
            skipped_by: r.skipped_by,
            id: r.id,
            event_id: r.event_id,
            event_type: r.event_type,
            attempts: r.attempts,
            last_status_code: r.last_status_code,
            last_error: r.last_error,
            last_attempt_at: r.last_attempt_at.map(as_utc),
            next_attempt_at: r.next_attempt_at.map(as_utc),
            delivered_at: r.delivered_at.map(as_utc),
            created_at: as_utc(r.created_at),
        }
    }
}

fn check_description(errors: &mut Vec<FieldError>, description: Option<&String>) {
    if let Some(d) = description {
        check_text(errors, "description", d, 1000);
    }
}

fn validated(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Subscribe a receiver to events (admin).
///
/// Events are POSTed as JSON (`WebhookPayload`) with the headers `Pactum-Event-Id`,
/// `Pactum-Event-Type`, `Pactum-Delivery-Id` and `Pactum-Signature: t=<unix seconds>,v1=<hex>`,
/// where `v1` is HMAC-SHA256 with the secret as key over `<t>.<raw body>`. Receivers should
/// recompute it, compare in constant time, and reject a `t` more than 5 minutes away from their
/// clock (replays). Delivery is at least once — dedupe by event id — and strictly in event order
/// per webhook: a delivery that is not answered with 2xx within the timeout is retried with
/// exponential backoff (10 s, 20 s, 40 s … at most 1 h, by default) and holds back the later ones.
/// A receiver that fails every attempt for `WEBHOOK_PAUSE_AFTER_HOURS` (default 72) gets its
/// webhook paused (`webhook.paused`) until an admin resumes it; an admin may also skip one
/// delivery on purpose. The webhook hears events committed after its creation.
#[utoipa::path(
    post, operation_id = "create_webhook", path = "/api/v1/webhooks", tag = "webhooks",
    request_body = WebhookIn,
    responses(
        (status = 201, description = "Subscribed; the answer carries the secret, this once", body = WebhookCreated,
         headers(("ETag" = String, description = "Version tag"), ("Location" = String, description = "URL of the webhook"))),
        (status = 422, description = "Invalid URL, a URL inside the network (`url_not_public`), event type or secret", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    who: Allowed<AdminOnly>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    allowed: web::Data<AllowedRanges>,
    body: ApiJson<WebhookIn>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let mut errors = Vec::new();
    check_url(&mut errors, &input.url, &allowed);
    check_event_types(&mut errors, &input.event_types);
    if let Some(s) = &input.secret {
        check_secret(&mut errors, s);
    }
    check_description(&mut errors, input.description.as_ref());
    validated(errors)?;
    let now = clock.now();
    let secret = input.secret.unwrap_or_else(model::generate_secret);
    let row = WebhookRow {
        id: uuid::Uuid::now_v7().to_string(),
        url: input.url,
        description: input.description,
        event_types: crate::db::column::Json::new(input.event_types.clone()),
        secret: secret.clone(),
        active: input.active.unwrap_or(true),
        last_event_id: 0,
        lease_owner: None,
        lease_until: None,
        version: 1,
        created_at: now.naive_utc(),
        updated_at: now.naive_utc(),
        failing_since: None,
        paused_at: None,
    };
    let row = db.write(move |c| service::create(c, &Ctx { actor: &who.sub, now }, row)).await?;
    let location = format!("/api/v1/webhooks/{}", row.id);
    let version = row.version;
    let out = WebhookCreated { webhook: WebhookOut::from(row), secret };
    Ok(resource_response(StatusCode::CREATED, &out, version, Some(location)))
}

/// List webhooks (admin), oldest first.
#[utoipa::path(
    get, operation_id = "list_webhooks", path = "/api/v1/webhooks", tag = "webhooks",
    params(
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of webhooks", body = Page<WebhookOut>),
    ),
    security(("bearer" = []))
)]
pub async fn list(_who: Allowed<AdminOnly>, db: web::Data<Db>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let p = page.clone();
    let rows = db.read(move |c| store::list(c, p.after.as_deref(), p.limit + 1).map_err(ApiError::from)).await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.id.clone(), WebhookOut::from)))
}

/// Get one webhook (admin).
#[utoipa::path(
    get, operation_id = "get_webhook", path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "The webhook", body = WebhookOut, headers(("ETag" = String, description = "Version tag"))),
    ),
    security(("bearer" = []))
)]
pub async fn get(_who: Allowed<AdminOnly>, db: web::Data<Db>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = db.read(move |c| service::load(c, &id)).await?;
    let version = row.version;
    Ok(resource_response(StatusCode::OK, &WebhookOut::from(row), version, None))
}

/// Change a webhook (admin): URL, event types, description, active flag, or rotate the secret.
#[utoipa::path(
    patch, operation_id = "update_webhook", path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(
        ("id" = String, Path, description = "Webhook id"),
        ("If-Match" = Option<String>, Header, description = "ETag the change is based on; a stale one gives 412"),
    ),
    request_body(content = WebhookPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Changed", body = WebhookOut, headers(("ETag" = String, description = "Version tag"))),
        (status = 409, description = "Changed concurrently", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid change", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    who: Allowed<AdminOnly>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    allowed: web::Data<AllowedRanges>,
    id: web::Path<String>,
    if_match: IfMatch,
    body: ApiJson<WebhookPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let patch = body.into_inner();
    let now = clock.now();
    let allowed = allowed.get_ref().clone();
    let row = db
        .write(move |c| {
            service::update(c, &Ctx { actor: &who.sub, now }, &id, &if_match, |w| {
                let mut errors = Vec::new();
                match patch.url.require("url", w.url.clone()) {
                    // A stored URL that is no longer allowed is checked only when it changes, so
                    // such a webhook can still be paused or described; the dispatcher refuses
                    // to send to it all the same.
                    Ok(url) if url == w.url => {}
                    Ok(url) => {
                        check_url(&mut errors, &url, &allowed);
                        w.url = url;
                    }
                    Err(e) => errors.push(e),
                }
                match patch.event_types.require("event_types", w.patterns()) {
                    Ok(types) => {
                        check_event_types(&mut errors, &types);
                        w.event_types = crate::db::column::Json::new(types);
                    }
                    Err(e) => errors.push(e),
                }
                match patch.secret.require("secret", w.secret.clone()) {
                    Ok(secret) => {
                        check_secret(&mut errors, &secret);
                        w.secret = secret;
                    }
                    Err(e) => errors.push(e),
                }
                w.description = patch.description.apply_to(w.description.take());
                check_description(&mut errors, w.description.as_ref());
                match patch.active.require("active", w.active) {
                    Ok(active) => w.active = active,
                    Err(e) => errors.push(e),
                }
                validated(errors)
            })
        })
        .await?;
    let version = row.version;
    Ok(resource_response(StatusCode::OK, &WebhookOut::from(row), version, None))
}

/// Delete a webhook and its delivery records (admin). Pending deliveries are dropped.
#[utoipa::path(
    delete, operation_id = "delete_webhook", path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(
        ("id" = String, Path, description = "Webhook id"),
        ("If-Match" = Option<String>, Header, description = "ETag the deletion is based on; a stale one gives 412"),
    ),
    responses(
        (status = 204, description = "Deleted"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    who: Allowed<AdminOnly>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let now = clock.now();
    db.write(move |c| service::delete(c, &Ctx { actor: &who.sub, now }, &id, &if_match)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The deliveries of a webhook (admin), newest event first: attempts, last answer, next retry.
#[utoipa::path(
    get, operation_id = "list_webhook_deliveries", path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(
        ("id" = String, Path, description = "Webhook id"),
        ("status" = Option<DeliveryStatus>, Query, description = "Only pending, delivered or skipped ones"),
        ("limit" = Option<i64>, Query, description = "Page size, 1–500 (default 50)", minimum = 1, maximum = 500),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of deliveries", body = Page<DeliveryOut>),
    ),
    security(("bearer" = []))
)]
pub async fn deliveries(
    _who: Allowed<AdminOnly>,
    db: web::Data<Db>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut q = QueryPairs::from_request(&req)?;
    let state = match q.take("status").as_deref() {
        None => None,
        Some("pending") => Some(DeliveryState::Pending),
        Some("delivered") => Some(DeliveryState::Delivered),
        Some("skipped") => Some(DeliveryState::Skipped),
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("query parameter `status` must be pending, delivered or skipped, got {other:?}"),
            ))
        }
    };
    let page = PageRequest::take(&mut q)?;
    q.finish()?;
    let before =
        match &page.after {
            None => None,
            Some(p) => Some(p.parse::<i64>().map_err(|_| {
                ApiError::bad_request("invalid_cursor", "the cursor is not one this service handed out")
            })?),
        };
    let id = id.into_inner();
    let limit = page.limit;
    let rows = db
        .read(move |c| {
            service::load(c, &id)?;
            store::deliveries(c, &id, state, before, limit + 1).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page.page(rows, |r| r.event_id.to_string(), DeliveryOut::from)))
}

/// Deliver an event again (admin): queues the delivery for the next dispatcher pass, now.
///
/// A delivered or skipped one is sent once more; a pending one skips the rest of its backoff wait.
#[utoipa::path(
    post, operation_id = "redeliver_webhook_delivery", path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    tag = "webhooks",
    params(
        ("id" = String, Path, description = "Webhook id"),
        ("delivery_id" = String, Path, description = "Delivery id"),
    ),
    responses(
        (status = 202, description = "Queued", body = DeliveryOut),
        (status = 404, description = "No such webhook or delivery", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn redeliver(
    _who: Allowed<AdminOnly>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery_id) = path.into_inner();
    let now = clock.now().naive_utc();
    let row = db
        .write(move |c| {
            service::load(c, &id)?;
            let found = store::get_delivery(c, &id, &delivery_id)?;
            let Some(_) = found else {
                return Err(ApiError::not_found(format!("webhook {id} has no delivery {delivery_id}")));
            };
            store::requeue(c, &delivery_id, now)?;
            store::get_delivery(c, &id, &delivery_id)?.ok_or_else(|| ApiError::internal("requeued delivery vanished"))
        })
        .await?;
    Ok(HttpResponse::Accepted().json(DeliveryOut::from(row)))
}

/// Skip a pending delivery on purpose (admin): the receiver will not get it, and the later
/// deliveries of the webhook, which it held back, flow again.
///
/// For an event the receiver refuses for good. The delivery records who skipped it and when
/// (`status` `skipped`), and the webhook's history a `webhook.delivery_skipped` event. A skipped
/// delivery can still be sent by hand with `redeliver`.
#[utoipa::path(
    post, operation_id = "skip_webhook_delivery", path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/skip",
    tag = "webhooks",
    params(
        ("id" = String, Path, description = "Webhook id"),
        ("delivery_id" = String, Path, description = "Delivery id"),
    ),
    responses(
        (status = 200, description = "Skipped", body = DeliveryOut),
        (status = 404, description = "No such webhook or delivery", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The delivery is not pending: delivered or skipped already (`delivery_not_pending`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn skip(
    who: Allowed<AdminOnly>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery_id) = path.into_inner();
    let now = clock.now();
    let row = db.write(move |c| service::skip_delivery(c, &Ctx { actor: &who.sub, now }, &id, &delivery_id)).await?;
    Ok(HttpResponse::Ok().json(DeliveryOut::from(row)))
}
