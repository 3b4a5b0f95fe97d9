//! Webhook rules without I/O: the event type catalogue and subscription patterns, URL and secret
//! checks (including which destinations a receiver may be at), the signature, the retry schedule
//! and the delivered document.

use crate::error::FieldError;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::Serialize;
use sha2::Sha256;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use utoipa::ToSchema;

/// Every event type a webhook can subscribe to: every `<entity>.<action>` the event log holds
/// (see [`event_type`] for the two entities named differently). `task.overdue`,
/// `service_call.breached`, `contract.notice_approaching` and `contract.expiring` are appended
/// by the scheduler when time passes. The webhook
/// configuration's own types and the case files' types are delivered only when named
/// (`webhook.*`, `dossier.*` or one of their types; see [`NAMED_ONLY`]).
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
    "contract.notice_approaching",
    "contract.expiring",
    "coverage.created",
    "coverage.updated",
    "coverage.deleted",
    "coverage.adjusted",
    "coverage.extended",
    "coverage.ended",
    "document.created",
    "document.version_added",
    "document.deleted",
    "document.purged",
    "document_template.created",
    "document_template.updated",
    "document_template.deleted",
    "dossier.created",
    "dossier.updated",
    "dossier.closed",
    "dossier.reopened",
    "dossier_document.created",
    "dossier_document.version_added",
    "dossier_document.deleted",
    "dossier_document.purged",
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
    "webhook.paused",
    "webhook.delivery_skipped",
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

/// The entities whose changes `*` leaves out: the subscriptions themselves, which are the admin's
/// bookkeeping rather than business events; and the case files (a dossier's changes, posted
/// events, rule firings and the documents attached to it), which carry birth dates, addresses
/// and customer letters: a receiver gets those only when the admin names them, so a catch-all
/// CRM sync does not start copying personal data. A document attached to a dossier has the
/// event types `dossier_document.*` for webhooks (`document.*` covers the others).
pub const NAMED_ONLY: &[&str] = &["webhook", "dossier", "dossier_event", "rule_firing", "dossier_document"];

/// Whether `pattern` is a valid subscription: a catalogue type, `<entity>.*` for an entity of
/// the catalogue, or `*` (every type of the catalogue but those of [`NAMED_ONLY`]).
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
                "An event type, `<entity>.*` for every type of one entity, or `*` for every type except the webhooks' own changes and the case files' (`dossier.*`, `dossier_event.*`, `rule_firing.*`, `dossier_document.*`: documents attached to dossiers), which are delivered only when named.",
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
/// catalogue are never delivered; `*` leaves out those of [`NAMED_ONLY`].
pub fn matches(patterns: &[String], event_type: &str) -> bool {
    if !CATALOGUE.contains(&event_type) {
        return false;
    }
    let entity = event_type.split_once('.').map(|(e, _)| e).unwrap_or(event_type);
    patterns
        .iter()
        .any(|p| (p == "*" && !NAMED_ONLY.contains(&entity)) || p == event_type || p.strip_suffix(".*") == Some(entity))
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
/// at most 2000 characters, and a destination outside the network unless `allowed` names its
/// range (see [`check_destination`]).
pub fn check_url(errors: &mut Vec<FieldError>, url: &str, allowed: &AllowedRanges) {
    let before = errors.len();
    check_url_syntax(errors, url);
    if errors.len() == before {
        check_destination(errors, url, allowed);
    }
}

fn check_url_syntax(errors: &mut Vec<FieldError>, url: &str) {
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

/// Private address ranges that webhooks may reach all the same (`WEBHOOK_ALLOW_PRIVATE`), for
/// receivers on premises. Empty by default: only public addresses are called.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedRanges(Vec<IpNet>);

impl AllowedRanges {
    /// Parses a comma-separated list of CIDR ranges (`10.0.0.0/8, fd00::/8`); a bare address is
    /// a range of one. Blank entries are skipped.
    pub fn parse(list: &str) -> Result<AllowedRanges, String> {
        let mut ranges = Vec::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => match item.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => return Err(format!("{item:?} is not a CIDR range such as 10.0.0.0/8 or fd00::/8")),
                },
            };
            ranges.push(net);
        }
        Ok(AllowedRanges(ranges))
    }

    /// The ranges, as given (host bits cleared).
    pub fn ranges(&self) -> &[IpNet] {
        &self.0
    }

    /// Whether a webhook may be sent to `ip`: a public address, or one inside an allowed range.
    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is judged as the IPv4 address it is.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        not_public(ip).is_none() || self.0.iter().any(|net| net.contains(&ip))
    }
}

/// `::ffff:a.b.c.d` as `a.b.c.d`; every other address as it is.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

/// IPv4 ranges that are not on the public internet (IANA special-purpose registry), with what
/// they are.
const NOT_PUBLIC_V4: &[(Ipv4Net, &str)] = &[
    (v4(0, 0, 0, 0, 8), "an address of this host (\"this network\")"),
    (v4(10, 0, 0, 0, 8), "a private address"),
    (v4(100, 64, 0, 0, 10), "a shared (carrier-grade NAT) address"),
    (v4(127, 0, 0, 0, 8), "a loopback address"),
    (v4(169, 254, 0, 0, 16), "a link-local address (where cloud metadata services answer)"),
    (v4(172, 16, 0, 0, 12), "a private address"),
    (v4(192, 0, 0, 0, 24), "an IETF protocol address"),
    (v4(192, 0, 2, 0, 24), "a documentation address"),
    (v4(192, 88, 99, 0, 24), "a reserved relay address"),
    (v4(192, 168, 0, 0, 16), "a private address"),
    (v4(198, 18, 0, 0, 15), "a benchmarking address"),
    (v4(198, 51, 100, 0, 24), "a documentation address"),
    (v4(203, 0, 113, 0, 24), "a documentation address"),
    (v4(224, 0, 0, 0, 4), "a multicast address"),
    (v4(240, 0, 0, 0, 4), "a reserved or broadcast address"),
];

const fn v6(segments: [u16; 8], prefix: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), prefix)
}

/// Non-public IPv6 ranges inside the global unicast block 2000::/3; everything outside that
/// block is not public either (loopback, unspecified, unique-local, link-local, multicast, …).
const NOT_PUBLIC_V6: &[(Ipv6Net, &str)] = &[
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), "an IETF protocol address"),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), "a documentation address"),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), "a documentation address"),
];

/// Why `ip` is not a public address, or `None` when it is one. IPv6 addresses that carry an
/// IPv4 address (IPv4-mapped, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by it.
pub fn not_public(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(a) => NOT_PUBLIC_V4.iter().find(|(net, _)| net.contains(&a)).map(|(_, why)| *why),
        IpAddr::V6(a) => {
            let s = a.segments();
            if a.is_unspecified() {
                return Some("an address of this host (unspecified)");
            }
            if a.is_loopback() {
                return Some("a loopback address");
            }
            let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return not_public(IpAddr::V4(embedded(s[6], s[7])));
            }
            if s[0] == 0x2002 {
                return not_public(IpAddr::V4(embedded(s[1], s[2])));
            }
            if s[0] & 0xfe00 == 0xfc00 {
                return Some("a unique local (private) address");
            }
            if s[0] & 0xffc0 == 0xfe80 {
                return Some("a link-local address");
            }
            if s[0] & 0xff00 == 0xff00 {
                return Some("a multicast address");
            }
            if s[0] & 0xe000 != 0x2000 {
                return Some("a reserved address");
            }
            NOT_PUBLIC_V6.iter().find(|(net, _)| net.contains(&a)).map(|(_, why)| *why)
        }
    }
}

/// Host names of cloud metadata services, whatever they resolve to: they answer at
/// 169.254.169.254 and hand out credentials.
pub const METADATA_HOSTS: &[&str] =
    &["metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"];

const METADATA_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);

/// Refuses a receiver inside the network (`url_not_public`) unless `allowed` names its range:
/// the host is read as the HTTP client reads it (the WHATWG URL parser, so `2130706433`,
/// `0x7f.1`, `0177.0.0.1` and `127.1` are all 127.0.0.1, and `[::ffff:169.254.169.254]` is
/// 169.254.169.254), and the metadata host names and `localhost` count as the addresses they
/// stand for. Other names are not resolved here: the dispatcher checks every address a name
/// resolves to when it sends.
pub fn check_destination(errors: &mut Vec<FieldError>, url: &str, allowed: &AllowedRanges) {
    let parsed = match url::Url::parse(url) {
        Ok(u) => u,
        Err(e) => {
            errors.push(FieldError::new("url", "invalid_url", format!("the URL cannot be used: {e}")));
            return;
        }
    };
    let (shown, ip, what) = match parsed.host() {
        Some(url::Host::Ipv4(a)) => (a.to_string(), IpAddr::V4(a), None),
        Some(url::Host::Ipv6(a)) => (a.to_string(), IpAddr::V6(a), None),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if METADATA_HOSTS.contains(&name.as_str()) {
                (name, IpAddr::V4(METADATA_ADDRESS), Some("the cloud metadata service"))
            } else if name == "localhost" || name.ends_with(".localhost") {
                (name, IpAddr::V4(Ipv4Addr::LOCALHOST), Some("this host (a loopback name)"))
            } else {
                return;
            }
        }
        None => {
            errors.push(FieldError::new("url", "invalid_url", "the URL needs a host"));
            return;
        }
    };
    if allowed.permits(ip) {
        return;
    }
    let what = what.or_else(|| not_public(ip)).unwrap_or("not a public address");
    errors.push(FieldError::new(
        "url",
        "url_not_public",
        format!(
            "{shown} is {what}; webhooks are sent to public addresses only \
             (WEBHOOK_ALLOW_PRIVATE names private ranges that may be reached)"
        ),
    ));
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

/// Whether the dispatcher pauses a webhook whose receiver has failed every attempt since
/// `failing_since` (its first failure after the last success): once that has lasted `after`.
/// An `after` of zero never pauses. It is judged when an attempt fails, so the pause comes with
/// the first failed retry past the limit.
pub fn pause_due(failing_since: DateTime<Utc>, now: DateTime<Utc>, after: Duration) -> bool {
    !after.is_zero() && (now - failing_since).to_std().is_ok_and(|failing| failing >= after)
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
        for t in ["dossier.updated", "dossier_event.posted", "rule_firing.fired"] {
            assert!(!matches(&["*".to_string()], t), "`*` leaves out the case files' {t}");
            let entity = t.split_once('.').unwrap().0;
            assert!(matches(&[format!("{entity}.*")], t) && matches(&[t.to_string()], t), "named: {t}");
        }
        assert!(matches(&["*".to_string()], "workflow.started") && matches(&["*".to_string()], "dossier_type.created"));
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

    fn loopback() -> AllowedRanges {
        AllowedRanges::parse("127.0.0.0/8,::1").unwrap()
    }

    #[test]
    fn urls_must_be_absolute_http() {
        for ok in ["https://example.com/hook", "http://127.0.0.1:8080/x?y=1", "https://[::1]:443/", "http://h"] {
            assert!(errs(|e| check_url(e, ok, &loopback())).is_empty(), "{ok}");
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
            "http://1.2.3.4.5/",
        ] {
            let e = errs(|e| check_url(e, bad, &loopback()));
            assert_eq!(e.len(), 1, "{bad}");
            assert_eq!(e[0].code, "invalid_url", "{bad}");
        }
    }

    fn refused(url: &str, allowed: &AllowedRanges) -> Option<String> {
        let e = errs(|e| check_url(e, url, allowed));
        assert!(e.len() <= 1, "{url}: {e:?}");
        e.first().map(|e| {
            assert_eq!((e.field.as_str(), e.code.as_str()), ("url", "url_not_public"), "{url}");
            e.message.clone()
        })
    }

    #[test]
    fn destinations_inside_the_network_are_refused_in_every_spelling() {
        let none = AllowedRanges::default();
        for (url, says) in [
            ("http://127.0.0.1:5432/", "127.0.0.1 is a loopback address"),
            ("http://127.1/", "127.0.0.1 is a loopback"),
            ("http://2130706433/", "127.0.0.1 is a loopback"),
            ("http://0x7f.1/", "127.0.0.1 is a loopback"),
            ("http://0177.0.0.1/", "127.0.0.1 is a loopback"),
            ("http://0x7F000001/", "127.0.0.1 is a loopback"),
            ("http://127.0.0.1./", "127.0.0.1 is a loopback"),
            ("http://127.255.255.254/", "loopback"),
            ("http://[::1]/", "::1 is a loopback"),
            ("http://[0:0:0:0:0:0:0:1]/", "::1 is a loopback"),
            ("http://[::]/", "unspecified"),
            ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 is a loopback"),
            ("http://0.0.0.0/", "this network"),
            ("http://0/", "0.0.0.0 is an address of this host"),
            ("http://localhost:8080/", "localhost is this host"),
            ("http://LocalHost./", "localhost is this host"),
            ("http://api.localhost/", "this host"),
            ("http://10.0.0.1/", "private"),
            ("http://10.255.255.255/", "private"),
            ("http://172.16.0.1/", "private"),
            ("http://172.31.255.254/", "private"),
            ("http://192.168.1.1/", "private"),
            ("http://100.64.0.1/", "carrier-grade NAT"),
            ("http://100.127.255.254/", "carrier-grade NAT"),
            ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
            ("http://169.254.1.1/", "link-local"),
            ("http://[::ffff:169.254.169.254]/", "link-local"),
            ("http://[::ffff:a9fe:a9fe]/", "link-local"),
            ("http://metadata.google.internal/computeMetadata/v1/", "the cloud metadata service"),
            ("http://METADATA.Google.Internal./", "metadata.google.internal is the cloud metadata service"),
            ("http://metadata.goog/", "metadata service"),
            ("http://instance-data/", "metadata service"),
            ("http://[fc00::1]/", "unique local"),
            ("http://[fd12:3456::1]/", "unique local"),
            ("http://[fe80::1]/", "link-local"),
            ("http://[febf::1]/", "link-local"),
            ("http://[ff02::1]/", "multicast"),
            ("http://[::127.0.0.1]/", "reserved"),
            ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),
            ("http://[64:ff9b::7f00:1]/", "loopback"),
            ("http://[2002:7f00:1::1]/", "loopback"),
            ("http://[2002:a00:1::]/", "private"),
            ("http://[2001:db8::1]/", "documentation"),
            ("http://224.0.0.1/", "multicast"),
            ("http://255.255.255.255/", "broadcast"),
            ("http://192.0.2.10/", "documentation"),
            ("http://198.18.0.1/", "benchmarking"),
        ] {
            let message = refused(url, &none).unwrap_or_else(|| panic!("{url} was accepted"));
            assert!(message.contains(says), "{url}: {message}");
            assert!(message.contains("WEBHOOK_ALLOW_PRIVATE"), "{url}: {message}");
        }
        for public in [
            "https://93.184.215.14/hook",
            "https://8.8.8.8/",
            "http://172.32.0.1/",
            "http://172.15.255.255/",
            "http://100.128.0.1/",
            "http://192.169.0.1/",
            "https://[2606:4700::1111]/",
            "https://[2a00:1450:4001:80b::200e]/",
            "https://[64:ff9b::808:808]/",
            "https://crm.example.com/hook",
            "https://localhost.example.com/",
            "https://metadata.example.com/",
            "https://10.0.0.1.example.com/",
        ] {
            assert_eq!(refused(public, &none), None, "{public}");
        }
    }

    #[test]
    fn allowed_ranges_open_exactly_what_they_name() {
        let allowed = AllowedRanges::parse(" 10.0.0.0/8, 192.168.1.0/24 ,127.0.0.0/8,fd00::/8,").unwrap();
        for ok in [
            "http://10.1.2.3/",
            "http://192.168.1.20:8443/",
            "http://127.0.0.1:9000/",
            "http://0x7f.1/",
            "http://localhost:9000/",
            "http://[::ffff:127.0.0.1]/",
            "http://[fd12::1]/",
        ] {
            assert_eq!(refused(ok, &allowed), None, "{ok}");
        }
        for still in
            ["http://192.168.2.1/", "http://[::1]/", "http://0.0.0.0/", "http://169.254.169.254/", "http://[fc00::1]/"]
        {
            assert!(refused(still, &allowed).is_some(), "{still}");
        }
        // The metadata names stand for their address: only a range holding it opens them.
        assert!(refused("http://metadata.google.internal/", &allowed).is_some());
        let link_local = AllowedRanges::parse("169.254.0.0/16").unwrap();
        assert_eq!(refused("http://metadata.google.internal/", &link_local), None);
    }

    #[test]
    fn allowed_ranges_parse_cidr_lists_and_single_addresses() {
        let r = AllowedRanges::parse("10.1.2.3/8,192.168.1.7,::1").unwrap();
        let shown: Vec<String> = r.ranges().iter().map(|n| n.to_string()).collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.168.1.7/32", "::1/128"]);
        assert_eq!(AllowedRanges::parse("").unwrap(), AllowedRanges::default());
        assert_eq!(AllowedRanges::parse(" , ").unwrap(), AllowedRanges::default());
        for bad in ["banana", "10.0.0.0/33", "10.0.0/8", "fd00::/129", "10.0.0.0/8;192.168.0.0/16", "*"] {
            let e = AllowedRanges::parse(bad).unwrap_err();
            assert!(e.contains("CIDR"), "{bad}: {e}");
        }
    }

    #[test]
    fn public_means_outside_every_special_purpose_range() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(not_public(ip("1.1.1.1")), None);
        assert_eq!(not_public(ip("2606:4700::1111")), None);
        assert_eq!(not_public(ip("127.0.0.1")), Some("a loopback address"));
        assert_eq!(not_public(ip("::ffff:10.0.0.1")), Some("a private address"));
        assert_eq!(not_public(ip("fec0::1")), Some("a reserved address"), "site-local, deprecated");
        assert_eq!(not_public(ip("100::1")), Some("a reserved address"), "discard-only");
        assert_eq!(not_public(ip("2001::1")), Some("an IETF protocol address"), "Teredo");
        assert_eq!(canonical(ip("::ffff:1.2.3.4")), ip("1.2.3.4"));
        assert_eq!(canonical(ip("::1")), ip("::1"));
        assert!(!AllowedRanges::default().permits(ip("::ffff:127.0.0.1")));
        assert!(AllowedRanges::parse("127.0.0.0/8").unwrap().permits(ip("::ffff:127.0.0.1")));
        assert!(AllowedRanges::default().permits(ip("9.9.9.9")));
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
    fn a_webhook_is_paused_once_it_has_failed_for_the_whole_limit() {
        let since = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 6, 15, 10, 0, 0).unwrap();
        let limit = Duration::from_secs(72 * 3600);
        assert!(!pause_due(since, since, limit), "the first failure");
        assert!(!pause_due(since, since + chrono::Duration::hours(72) - chrono::Duration::seconds(1), limit));
        assert!(pause_due(since, since + chrono::Duration::hours(72), limit));
        assert!(pause_due(since, since + chrono::Duration::days(30), limit));
        assert!(!pause_due(since, since - chrono::Duration::hours(1), limit), "a clock that went back");
        assert!(!pause_due(since, since + chrono::Duration::days(365), Duration::ZERO), "0 never pauses");
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
