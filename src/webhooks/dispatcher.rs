//! Delivers the outbox. A pass fills each active webhook's outbox from the event log, then
//! POSTs its deliveries oldest first, strictly in order: a failed delivery waits for its retry
//! (exponential backoff) and holds back the later ones of the same webhook, so a receiver sees
//! each resource's events in the order they happened. Everything lives in the database: a
//! restart, or a receiver down for hours, loses nothing. Several instances share the work:
//! a webhook is delivered by whoever holds its lease (a conditional update with an expiry),
//! and HTTP calls run outside any transaction.
//!
//! Webhooks are served beside each other, each in a lane of its own (`WEBHOOK_LANES` threads
//! taking the next webhook when done with one), so a receiver that never answers costs its
//! own webhook a timeout per attempt and nobody else anything. Webhooks whose receiver fails
//! are served after the healthy ones. A lane holds a database connection only between calls,
//! never while it waits for a receiver. A receiver that fails without a success for
//! `WEBHOOK_PAUSE_AFTER_HOURS` gets its webhook paused ([`service::record_attempt`]).
//!
//! Receivers are called at public addresses only (or in the ranges `WEBHOOK_ALLOW_PRIVATE`
//! names): the HTTP client resolves the host through [`GuardedResolver`], which refuses the
//! attempt when any address the name resolves to is not allowed and otherwise hands the client
//! exactly the addresses it checked, so a second, different DNS answer (rebinding) is never
//! asked for. A failed attempt records a class of error, never the socket's own words, which
//! would tell a closed port from an open one.

use super::model::{signature, AllowedRanges, RetryPolicy, WebhookPayload};
use super::service::{self, OUTBOX_BATCH};
use super::store::{self, Attempt, DeliveryRow};
use crate::clock::{as_utc, Clock};
use crate::db::Db;
use crate::error::ApiError;
use crate::events::store::EventRow;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How deliveries are made (`config::Settings::dispatch` reads it from the settings).
#[derive(Clone, Debug)]
pub struct DispatchConfig {
    /// Longest wait for a receiver's answer (connect, send and read).
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Most deliveries per webhook in one pass.
    pub max_per_pass: usize,
    /// Private ranges receivers may be in (`WEBHOOK_ALLOW_PRIVATE`); public addresses always.
    pub allowed: AllowedRanges,
    /// Webhooks served at the same time (`WEBHOOK_LANES`), at least one.
    pub lanes: usize,
    /// Continuous failure after which a webhook is paused; zero: never.
    pub pause_after: Duration,
}

/// Resolves a receiver's `host:port` for the HTTP client and refuses it when any address it
/// resolves to is neither public nor in an allowed range. The client connects to the addresses
/// returned here, the ones checked, and to no others.
pub struct GuardedResolver {
    allowed: AllowedRanges,
    lookup: fn(&str) -> io::Result<Vec<SocketAddr>>,
}

impl GuardedResolver {
    /// Resolves with the system resolver.
    pub fn new(allowed: AllowedRanges) -> GuardedResolver {
        GuardedResolver { allowed, lookup: |netloc| netloc.to_socket_addrs().map(Iterator::collect) }
    }

    /// Resolves with `lookup` instead (tests stand in a DNS answer).
    pub fn with_lookup(allowed: AllowedRanges, lookup: fn(&str) -> io::Result<Vec<SocketAddr>>) -> GuardedResolver {
        GuardedResolver { allowed, lookup }
    }
}

impl ureq::Resolver for GuardedResolver {
    fn resolve(&self, netloc: &str) -> io::Result<Vec<SocketAddr>> {
        let addrs = (self.lookup)(netloc)?;
        match addrs.iter().find(|a| !self.allowed.permits(a.ip())) {
            Some(refused) => Err(io::Error::new(io::ErrorKind::PermissionDenied, NotAllowed(refused.ip()))),
            None => Ok(addrs),
        }
    }
}

/// The resolver's refusal: the receiver is (or resolves to) an address that is not allowed.
#[derive(Debug)]
pub struct NotAllowed(pub IpAddr);

impl std::fmt::Display for NotAllowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is not a public address and not in WEBHOOK_ALLOW_PRIVATE", self.0)
    }
}

impl std::error::Error for NotAllowed {}

/// `last_error` of an attempt refused before any connection was made.
pub const DESTINATION_NOT_ALLOWED: &str = "destination not allowed";

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DispatchReport {
    /// Deliveries added to outboxes.
    pub queued: usize,
    /// Deliveries the receiver accepted (2xx).
    pub delivered: usize,
    /// Attempts that failed and wait for a retry.
    pub failed: usize,
}

impl std::ops::AddAssign for DispatchReport {
    fn add_assign(&mut self, other: DispatchReport) {
        self.queued += other.queued;
        self.delivered += other.delivered;
        self.failed += other.failed;
    }
}

/// The headers a delivery carries besides `Content-Type`.
pub const SIGNATURE_HEADER: &str = "Pactum-Signature";
pub const EVENT_ID_HEADER: &str = "Pactum-Event-Id";
pub const EVENT_TYPE_HEADER: &str = "Pactum-Event-Type";
pub const DELIVERY_ID_HEADER: &str = "Pactum-Delivery-Id";

/// Runs one pass (blocking: call from the blocking pool, a thread or a test). It returns when
/// every lane is done; a receiver that does not answer keeps its lane for one timeout.
pub fn run_once(db: &Db, clock: &Clock, cfg: &DispatchConfig) -> Result<DispatchReport, ApiError> {
    // Every pass, with webhooks or not: the feed's positions never fall far behind, even while
    // nobody reads it, so no reader later meets a long backlog.
    crate::events::positions::settle_pending(db)?;
    let ids = db.read_blocking(|c| store::dispatch_order(c).map_err(ApiError::from))?;
    if ids.is_empty() {
        return Ok(DispatchReport::default());
    }
    let agent = ureq::AgentBuilder::new()
        .timeout(cfg.timeout)
        .redirects(0)
        // A fresh connection per delivery: a receiver's sloppy answer (say, a body on a 204)
        // cannot spoil the next delivery.
        .max_idle_connections(0)
        .user_agent(concat!("Pactum-Webhooks/", env!("CARGO_PKG_VERSION")))
        // Never through a proxy from the environment: the addresses checked are the ones called.
        .try_proxy_from_env(false)
        .resolver(GuardedResolver::new(cfg.allowed.clone()))
        .build();
    let owner = uuid::Uuid::new_v4().to_string();
    let next = AtomicUsize::new(0);
    let report = Mutex::new(DispatchReport::default());
    std::thread::scope(|lanes| {
        for _ in 0..cfg.lanes.clamp(1, ids.len()) {
            lanes.spawn(|| {
                while let Some(id) = ids.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let mut mine = DispatchReport::default();
                    serve(db, clock, cfg, &agent, id, &owner, &mut mine);
                    *report.lock().unwrap_or_else(|e| e.into_inner()) += mine;
                }
            });
        }
    });
    Ok(report.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// One webhook's turn in a lane: fill its outbox, deliver what is due, give the lease back.
fn serve(
    db: &Db,
    clock: &Clock,
    cfg: &DispatchConfig,
    agent: &ureq::Agent,
    id: &str,
    owner: &str,
    report: &mut DispatchReport,
) {
    if let Err(e) = fill_outbox(db, clock, id, report) {
        tracing::warn!(webhook = %id, error = %e, "filling the webhook outbox failed; next pass tries again");
        return;
    }
    let result = deliver_queue(db, clock, cfg, agent, id, owner, report);
    let released = db.write_blocking(|c| store::release_lease(c, id, owner).map_err(ApiError::from));
    if let Err(e) = result.and(released) {
        tracing::warn!(webhook = %id, error = %e, "webhook delivery stopped; next pass goes on");
    }
}

fn fill_outbox(db: &Db, clock: &Clock, id: &str, report: &mut DispatchReport) -> Result<(), ApiError> {
    // Again here: a webhook served late in a pass gets what committed since the pass began.
    crate::events::positions::settle_pending(db)?;
    loop {
        let step = db.write_blocking(|c| service::enqueue(c, id, clock.now().naive_utc()))?;
        report.queued += step.queued;
        if (step.scanned as i64) < OUTBOX_BATCH {
            return Ok(());
        }
    }
}

/// Delivers the due head of a webhook's queue, one after the other, while they succeed.
fn deliver_queue(
    db: &Db,
    clock: &Clock,
    cfg: &DispatchConfig,
    agent: &ureq::Agent,
    id: &str,
    owner: &str,
    report: &mut DispatchReport,
) -> Result<(), ApiError> {
    let lease = chrono::Duration::from_std(cfg.timeout * 2 + Duration::from_secs(30)).unwrap_or(chrono::Duration::MAX);
    for _ in 0..cfg.max_per_pass {
        let now = clock.now();
        // Take (or renew) the lease before every attempt; another instance may hold it.
        let hook = db.write_blocking(|c| {
            let held = store::take_lease(c, id, owner, now.naive_utc(), (now + lease).naive_utc())?;
            Ok::<_, ApiError>(if held { store::get(c, id)? } else { None })
        })?;
        let Some(hook) = hook else { return Ok(()) };
        let Some((delivery, event)) = db.read_blocking(|c| store::head(c, id).map_err(ApiError::from))? else {
            return Ok(());
        };
        if delivery.next_attempt_at.is_some_and(|t| as_utc(t) > now) {
            return Ok(());
        }
        let body = serde_json::to_string(&payload(&delivery, event)).unwrap_or_default();
        let outcome = send(agent, &hook.url, &hook.secret, &delivery, &body, now.timestamp());
        let at = clock.now();
        let retry_at = match &outcome {
            Ok(_) => None,
            Err(_) => {
                let wait = cfg.retry.delay(delivery.attempts + 1);
                Some((at + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1))).naive_utc())
            }
        };
        let (status_code, error) = match &outcome {
            Ok(code) => (Some(*code), None),
            Err((code, message)) => (*code, Some(message.as_str())),
        };
        let attempt = Attempt { at: at.naive_utc(), status_code, error, retry_at };
        let paused = db.write_blocking(|c| service::record_attempt(c, id, &delivery.id, &attempt, cfg.pause_after))?;
        if outcome.is_err() {
            report.failed += 1;
            if paused {
                tracing::warn!(webhook = %id, event = delivery.event_id, error = ?error, "webhook paused: its receiver failed for WEBHOOK_PAUSE_AFTER_HOURS");
            } else {
                tracing::info!(webhook = %id, event = delivery.event_id, error = ?error, "webhook delivery failed; will retry");
            }
            return Ok(());
        }
        report.delivered += 1;
    }
    Ok(())
}

/// The document a receiver gets for an event.
pub fn payload(delivery: &DeliveryRow, e: EventRow) -> WebhookPayload {
    WebhookPayload {
        event_id: e.id,
        event_type: delivery.event_type.clone(),
        entity_type: e.entity_type,
        entity_id: e.entity_id,
        action: e.action,
        actor: e.actor,
        occurred_at: as_utc(e.occurred_at),
        changes: (*e.changes).clone(),
    }
}

/// POSTs one delivery. `Ok(status)` for a 2xx answer; otherwise the status (if any) and why.
fn send(
    agent: &ureq::Agent,
    url: &str,
    secret: &str,
    d: &DeliveryRow,
    body: &str,
    timestamp: i64,
) -> Result<i32, (Option<i32>, String)> {
    let answer = agent
        .post(url)
        .set("Content-Type", "application/json")
        .set(EVENT_ID_HEADER, &d.event_id.to_string())
        .set(EVENT_TYPE_HEADER, &d.event_type)
        .set(DELIVERY_ID_HEADER, &d.id)
        .set(SIGNATURE_HEADER, &signature(secret, timestamp, body))
        .send_string(body);
    match answer {
        Ok(r) if (200..300).contains(&r.status()) => Ok(i32::from(r.status())),
        Ok(r) => Err((
            Some(i32::from(r.status())),
            format!("the receiver answered {} (redirects are not followed)", r.status()),
        )),
        Err(ureq::Error::Status(code, _)) => Err((Some(i32::from(code)), format!("the receiver answered {code}"))),
        Err(ureq::Error::Transport(t)) => {
            // The operator's log keeps the details; the delivery record (readable through the
            // API) keeps the class.
            tracing::info!(delivery = %d.id, error = %t, "webhook delivery attempt failed");
            Err((None, failure_class(&t).to_string()))
        }
    }
}

/// What a failed attempt records: one of a few fixed classes. Whether a port is closed, refused
/// or filtered, and the operating system's words for it, stay in the server's log.
pub fn failure_class(t: &ureq::Transport) -> &'static str {
    let (mut refused, mut timed_out) = (false, false);
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(t);
    while let Some(e) = next {
        next = e.source();
        if let Some(io) = e.downcast_ref::<io::Error>() {
            timed_out |= matches!(io.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock);
            // An io::Error's source() skips the error it wraps: step into that one instead.
            if let Some(inner) = io.get_ref() {
                refused |= inner.is::<NotAllowed>();
                next = Some(inner);
            }
        }
    }
    if refused {
        return DESTINATION_NOT_ALLOWED;
    }
    if timed_out {
        return "timed out";
    }
    if t.message().is_some_and(|m| m.starts_with("tls ")) {
        return "TLS error";
    }
    match t.kind() {
        ureq::ErrorKind::Dns => "the host name could not be resolved",
        ureq::ErrorKind::ConnectionFailed => "connection refused or unreachable",
        ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => "the URL cannot be used",
        _ => "the connection failed before a complete answer came",
    }
}

/// Starts the periodic dispatcher on the current actix runtime; 0 seconds disables it.
pub fn spawn(db: Db, clock: Clock, cfg: DispatchConfig, interval_secs: u64) {
    crate::jobs::every("webhook dispatcher", "WEBHOOK_DISPATCH_INTERVAL_SECS", interval_secs, move || {
        run_once(&db, &clock, &cfg)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::Resolver;

    fn resolved(r: &GuardedResolver, netloc: &str) -> Result<Vec<SocketAddr>, String> {
        r.resolve(netloc).map_err(|e| {
            assert!(e.get_ref().is_some_and(|i| i.is::<NotAllowed>()), "{e}");
            e.to_string()
        })
    }

    /// A name whose DNS answer mixes a public and a private address, as a rebinding attacker
    /// would serve it.
    fn rebinding(netloc: &str) -> io::Result<Vec<SocketAddr>> {
        let port = netloc.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).unwrap_or(80);
        Ok(vec![SocketAddr::new([93, 184, 215, 14].into(), port), SocketAddr::new([10, 0, 0, 7].into(), port)])
    }

    fn public_only(netloc: &str) -> io::Result<Vec<SocketAddr>> {
        let port = netloc.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).unwrap_or(80);
        Ok(vec![
            SocketAddr::new([93, 184, 215, 14].into(), port),
            SocketAddr::new("2606:4700::1111".parse().unwrap(), port),
        ])
    }

    fn mapped_metadata(_: &str) -> io::Result<Vec<SocketAddr>> {
        Ok(vec!["[::ffff:169.254.169.254]:80".parse().unwrap()])
    }

    #[test]
    fn every_resolved_address_must_be_allowed_and_only_those_are_returned() {
        let strict = GuardedResolver::with_lookup(AllowedRanges::default(), rebinding);
        assert_eq!(
            resolved(&strict, "hooks.example.com:443").unwrap_err(),
            "10.0.0.7 is not a public address and not in WEBHOOK_ALLOW_PRIVATE"
        );
        let on_prem = GuardedResolver::with_lookup(AllowedRanges::parse("10.0.0.0/8").unwrap(), rebinding);
        assert_eq!(resolved(&on_prem, "hooks.example.com:443").unwrap().len(), 2);
        let public = GuardedResolver::with_lookup(AllowedRanges::default(), public_only);
        assert_eq!(resolved(&public, "hooks.example.com:8443").unwrap(), public_only("x:8443").unwrap());
        let mapped = GuardedResolver::with_lookup(AllowedRanges::default(), mapped_metadata);
        assert!(resolved(&mapped, "metadata.example.com:80").is_err());
    }

    #[test]
    fn ip_literals_are_judged_without_a_lookup() {
        let strict = GuardedResolver::new(AllowedRanges::default());
        for netloc in ["127.0.0.1:5432", "[::1]:80", "0.0.0.0:80", "[::ffff:169.254.169.254]:80", "192.168.1.1:443"] {
            assert!(resolved(&strict, netloc).is_err(), "{netloc}");
        }
        assert_eq!(resolved(&strict, "93.184.215.14:443").unwrap(), ["93.184.215.14:443".parse().unwrap()]);
        let loopback = GuardedResolver::new(AllowedRanges::parse("127.0.0.0/8").unwrap());
        assert!(resolved(&loopback, "127.0.0.1:5432").is_ok());
        assert!(resolved(&loopback, "[::1]:5432").is_err(), "::1 is not in 127.0.0.0/8");
    }
}
