//! Webhook rules without I/O: the event type catalogue and subscription patterns, URL and secret
//! checks, the signature, the retry schedule and the delivered document.

use crate::http::FieldError;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use std::time::Duration;
use utoipa::ToSchema;

/// Every event type a webhook can subscribe to: every `<entity>.<action>` the event log holds
/// (see [`event_type`] for the two entities named differently). `task.overdue` and
/// `service_call.breached` are appended by the scheduler when time passes. The webhook
/// configuration's own types are delivered only when named (`webhook.*` or one of them).
pub const CATALOGUE: &[&str] = &[
    "attribute_definition.created",
    "attribute_definition.updated",
    "attribute_definition.deleted",
    "contract.created",
    "contract.updated",
    "contract.deleted",
    "contract.activated",
    "contract.suspended",
    "contract.terminated",
    "contract.renewed",
    "contract.expired",
    "coverage.created",
    "coverage.updated",
    "coverage.deleted",
    "coverage.adjusted",
    "coverage.extended",
    "coverage.ended",
    "dossier.created",
    "dossier.updated",
    "dossier.closed",
    "dossier.reopened",
    "dossier_event.posted",
    "dossier_type.created",
    "dossier_type.updated",
    "installation.created",
    "installation.updated",
    "installation.deleted",
    "obligation.created",
    "obligation.updated",
    "obligation.deleted",
    "rule_firing.fired",
    "service_call.created",
    "service_call.updated",
    "service_call.acknowledged",
    "service_call.started",
    "service_call.held",
    "service_call.resumed",
    "service_call.resolved",
    "service_call.closed",
    "service_call.cancelled",
    "service_call.breached",
    "task.created",
    "task.updated",
    "task.deleted",
    "task.started",
    "task.completed",
    "task.skipped",
    "task.cancelled",
    "task.reopened",
    "task.overdue",
    "webhook.created",
    "webhook.updated",
    "webhook.deleted",
    "workflow.started",
    "workflow.advanced",
    "workflow.completed",
    "workflow.cancelled",
    "workflow_definition.created",
    "workflow_definition.updated",
];

/// Most event types one webhook may list.
pub const MAX_EVENT_TYPES: usize = 100;

/// The type of an event: `<entity_type>.<action>`, except that a running workflow instance is
/// a `workflow` to integrators (`workflow.started`) and a workflow's definition is a
/// `workflow_definition`.
pub fn event_type(entity_type: &str, action: &str) -> String {
    let entity = match entity_type {
        "workflow_instance" => "workflow",
        "workflow" => "workflow_definition",
        other => other,
    };
    format!("{entity}.{action}")
}

/// The entity whose changes `*` leaves out: the subscriptions themselves, which are the admin's
/// bookkeeping rather than business events.
const NAMED_ONLY: &str = "webhook";

/// Whether `pattern` is a valid subscription: a catalogue type, `<entity>.*` for an entity of
/// the catalogue, or `*` (every business type of the catalogue: all but `webhook.*`).
pub fn valid_pattern(pattern: &str) -> bool {
    match pattern.strip_suffix(".*") {
        _ if pattern == "*" => true,
        Some(entity) => CATALOGUE.iter().any(|t| t.split_once('.').is_some_and(|(e, _)| e == entity)),
        None => CATALOGUE.contains(&pattern),
    }
}

/// Every subscription a webhook may list: the catalogue's types, `<entity>.*` per entity, `*`.
pub fn subscribable() -> Vec<String> {
    let mut all: Vec<String> = CATALOGUE.iter().map(|t| t.to_string()).collect();
    let mut entities: Vec<&str> = CATALOGUE.iter().filter_map(|t| t.split_once('.').map(|(e, _)| e)).collect();
    entities.sort_unstable();
    entities.dedup();
    all.extend(entities.into_iter().map(|e| format!("{e}.*")));
    all.push("*".into());
    all
}

/// The spec of one subscribed event type: an enum of [`subscribable`], so generated clients
/// check the names at compile time.
pub struct EventTypePattern;

impl utoipa::PartialSchema for EventTypePattern {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(subscribable()))
            .description(Some(
                "An event type, `<entity>.*` for every type of one entity, or `*` for every type except the webhooks' own changes.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for EventTypePattern {
    fn name() -> std::borrow::Cow<'static, str> {
        "EventTypePattern".into()
    }
}

/// Whether an event of type `event_type` is wanted by any of `patterns`. Types outside the
/// catalogue are never delivered; `*` leaves out the webhook configuration's own changes.
pub fn matches(patterns: &[String], event_type: &str) -> bool {
    if !CATALOGUE.contains(&event_type) {
        return false;
    }
    let entity = event_type.split_once('.').map(|(e, _)| e).unwrap_or(event_type);
    patterns
        .iter()
        .any(|p| (p == "*" && entity != NAMED_ONLY) || p == event_type || p.strip_suffix(".*") == Some(entity))
}

/// Checks the subscribed event types (non-empty, known, no repeats).
pub fn check_event_types(errors: &mut Vec<FieldError>, types: &[String]) {
    if types.is_empty() {
        errors.push(FieldError::new("event_types", "required", "subscribe to at least one event type"));
    }
    if types.len() > MAX_EVENT_TYPES {
        errors.push(FieldError::new("event_types", "too_many", format!("at most {MAX_EVENT_TYPES} event types")));
        return;
    }
    let mut seen = std::collections::HashSet::new();
    for (i, t) in types.iter().enumerate() {
        if !valid_pattern(t) {
            errors.push(FieldError::new(
                format!("event_types[{i}]"),
                "unknown_event_type",
                format!("{t:?} is not a known event type, `<entity>.*` or `*`; known: {}", CATALOGUE.join(", ")),
            ));
        } else if !seen.insert(t) {
            errors.push(FieldError::new(format!("event_types[{i}]"), "duplicate", format!("{t:?} is listed twice")));
        }
    }
}

/// Checks a receiver URL: absolute `http` or `https` with a host, no credentials or fragment,
/// at most 2000 characters.
pub fn check_url(errors: &mut Vec<FieldError>, url: &str) {
    let bad = |m: &str| FieldError::new("url", "invalid_url", m.to_string());
    if url.chars().count() > 2000 {
        errors.push(bad("at most 2000 characters"));
        return;
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        errors.push(bad("a URL has no spaces or control characters"));
        return;
    }
    let lower = url.to_ascii_lowercase();
    let rest = match lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")) {
        Some(rest) => rest,
        None => {
            errors.push(bad("an absolute http:// or https:// URL is required"));
            return;
        }
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, after)) => {
                (h, after.strip_prefix(':').map(Some).unwrap_or(if after.is_empty() { None } else { Some("x") }))
            }
            None => ("", None),
        },
        None => match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    if authority.contains('@') {
        errors.push(bad("credentials in the URL are not allowed; verify the signature instead"));
    } else if host.is_empty() {
        errors.push(bad("the URL needs a host"));
    } else if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        errors.push(bad("the port must be a number from 0 to 65535"));
    } else if url.contains('#') {
        errors.push(bad("a fragment is not sent to the receiver; leave it out"));
    }
}

/// Checks a given signing secret: 16 to 200 printable ASCII characters.
pub fn check_secret(errors: &mut Vec<FieldError>, secret: &str) {
    let n = secret.chars().count();
    if !(16..=200).contains(&n) || !secret.chars().all(|c| c.is_ascii_graphic()) {
        errors.push(FieldError::new(
            "secret",
            "invalid_secret",
            "a secret is 16 to 200 printable ASCII characters without spaces",
        ));
    }
}

/// A new random signing secret.
pub fn generate_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    format!("whsec_{}", hex::encode(bytes))
}

/// The part of a secret shown after creation: its last four characters.
pub fn secret_hint(secret: &str) -> String {
    let tail: String = secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    format!("…{tail}")
}

/// The `Pactum-Signature` header value: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// How the retries of one delivery are spaced: doubling from `base`, never more than `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    /// The wait after the `attempts`-th failed attempt (1 → base, 2 → 2·base, … capped at max).
    pub fn delay(&self, attempts: i32) -> Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
        self.base.saturating_mul(1u32 << doublings).min(self.max)
    }
}

/// The JSON document POSTed to a receiver: one event of the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookPayload {
    /// Position of the event in the log; the same event keeps it on every retry: dedupe by it.
    pub event_id: i64,
    /// `<entity_type>.<action>`, e.g. `contract.renewed`.
    #[schema(example = "contract.renewed")]
    pub event_type: String,
    /// Kind of resource, e.g. `contract`.
    pub entity_type: String,
    /// Id of the resource.
    pub entity_id: String,
    /// What happened, e.g. `renewed`.
    pub action: String,
    /// The `sub` of the user who did it, or `system` for background jobs.
    pub actor: String,
    /// When it happened (UTC).
    pub occurred_at: DateTime<Utc>,
    /// Changed fields with their old and new values.
    #[schema(value_type = std::collections::BTreeMap<String, crate::events::model::Change>)]
    pub changes: crate::events::model::Changes,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(f: impl Fn(&mut Vec<FieldError>)) -> Vec<FieldError> {
        let mut e = Vec::new();
        f(&mut e);
        e
    }

    #[test]
    fn workflow_instances_are_workflows_to_integrators() {
        assert_eq!(event_type("workflow_instance", "started"), "workflow.started");
        assert_eq!(event_type("workflow", "created"), "workflow_definition.created");
        assert_eq!(event_type("contract", "renewed"), "contract.renewed");
        for t in ["workflow.started", "workflow_definition.created", "dossier.updated", "rule_firing.fired"] {
            assert!(CATALOGUE.contains(&t), "{t}");
        }
    }

    #[test]
    fn patterns_name_catalogue_types_entities_or_everything() {
        assert!(valid_pattern("contract.created"));
        assert!(valid_pattern("task.overdue"));
        assert!(valid_pattern("workflow.started"));
        assert!(valid_pattern("contract.*"));
        assert!(valid_pattern("*"));
        assert!(!valid_pattern("contract.exploded"));
        assert!(valid_pattern("webhook.created"));
        assert!(valid_pattern("webhook.*"));
        assert!(!valid_pattern("webhook.fired"));
        assert!(!valid_pattern("nothing.*"));
        assert!(!valid_pattern(""));
    }

    #[test]
    fn matching_respects_patterns_and_the_catalogue() {
        let p = vec!["contract.*".to_string(), "task.overdue".to_string()];
        assert!(matches(&p, "contract.renewed"));
        assert!(matches(&p, "task.overdue"));
        assert!(!matches(&p, "task.created"));
        assert!(!matches(&["*".to_string()], "webhook.created"), "`*` leaves out the webhooks' own changes");
        assert!(matches(&["webhook.*".to_string()], "webhook.deleted"));
        assert!(matches(&["webhook.updated".to_string()], "webhook.updated"));
        assert!(!matches(&["*".to_string()], "feed_token.created"), "never a type outside the catalogue");
        assert!(matches(&["*".to_string()], "service_call.breached"));
    }

    #[test]
    fn every_subscribable_name_is_a_valid_pattern() {
        let all = subscribable();
        assert!(all.iter().all(|p| valid_pattern(p)), "{all:?}");
        assert!(all.contains(&"contract.*".to_string()) && all.contains(&"*".to_string()));
        assert_eq!(all.iter().filter(|p| p.as_str() == "task.*").count(), 1);
    }

    #[test]
    fn event_type_lists_are_checked() {
        assert_eq!(errs(|e| check_event_types(e, &[]))[0].field, "event_types");
        let e = errs(|e| check_event_types(e, &["contract.created".into(), "bogus".into(), "contract.created".into()]));
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].field, "event_types[1]");
        assert_eq!(e[1].code, "duplicate");
    }

    #[test]
    fn urls_must_be_absolute_http() {
        for ok in ["https://example.com/hook", "http://127.0.0.1:8080/x?y=1", "https://[::1]:443/", "http://h"] {
            assert!(errs(|e| check_url(e, ok)).is_empty(), "{ok}");
        }
        for bad in [
            "ftp://example.com",
            "example.com/hook",
            "https://",
            "https://user:pw@example.com/",
            "http://host:port/",
            "http://host:99999/",
            "https://example.com/a b",
            "https://example.com/#frag",
            "",
        ] {
            assert_eq!(errs(|e| check_url(e, bad)).len(), 1, "{bad}");
        }
    }

    #[test]
    fn secrets_are_long_printable_and_hinted() {
        assert!(errs(|e| check_secret(e, "short")).len() == 1);
        assert!(errs(|e| check_secret(e, "with a space in it!!")).len() == 1);
        assert!(errs(|e| check_secret(e, "0123456789abcdef")).is_empty());
        let s = generate_secret();
        assert!(s.starts_with("whsec_") && s.len() == 54);
        assert!(errs(|e| check_secret(e, &s)).is_empty());
        assert_eq!(secret_hint("whsec_abcdef"), "…cdef");
    }

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Reference value from: printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'secret-of-16char'
        let sig = signature("secret-of-16char", 1_700_000_000, r#"{"a":1}"#);
        assert_eq!(sig, "t=1700000000,v1=560517ab8bd0efb62aa6d3ab7e5f40fced21dea46b088732c28d217cc99649b8");
        assert_ne!(sig, signature("secret-of-16char", 1_700_000_001, r#"{"a":1}"#));
        assert_ne!(sig, signature("other-secret-16c", 1_700_000_000, r#"{"a":1}"#));
    }

    #[test]
    fn retries_double_up_to_the_cap() {
        let p = RetryPolicy { base: Duration::from_secs(10), max: Duration::from_secs(3600) };
        assert_eq!(p.delay(1), Duration::from_secs(10));
        assert_eq!(p.delay(2), Duration::from_secs(20));
        assert_eq!(p.delay(3), Duration::from_secs(40));
        assert_eq!(p.delay(9), Duration::from_secs(2560));
        assert_eq!(p.delay(10), Duration::from_secs(3600));
        assert_eq!(p.delay(1000), Duration::from_secs(3600));
        assert_eq!(p.delay(0), Duration::from_secs(10));
    }
}
