//! Settings read from the environment (a `.env` file is loaded first when present).
//! Every variable is documented, with its default, in `.env.example`. The settings sit above
//! the features: each feature owns the type of what it is configured with, and `startup`
//! hands it over (as app data, or as an argument of a background pass).

use crate::auth::jwt::JwtConfig;
use crate::contracts::model::ReminderDefaults;
use crate::contracts::service_level::ServiceLevel;
use crate::documents::upload::Limits;
use crate::service_calls::model::check_risk_share;
use crate::service_calls::service::SlaSettings;
use crate::webhooks::dispatcher::DispatchConfig;
use crate::webhooks::model::{AllowedRanges, RetryPolicy};
use std::path::PathBuf;
use std::time::Duration;

/// Everything the service needs to know about its surroundings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Address the HTTP server listens on.
    pub bind_addr: String,
    /// `postgres://…` for PostgreSQL; anything else is a SQLite file path. `None` means the
    /// embedded default `<data_dir>/pactum.db`.
    pub database_url: Option<String>,
    /// Folder for the SQLite file and the generated development secret.
    pub data_dir: PathBuf,
    /// Largest number of pooled database connections.
    pub db_pool_size: u32,
    /// HS256 secret. When neither this nor a public key is set, a development secret is
    /// generated in the data folder.
    pub jwt_secret: Option<String>,
    /// PEM public key (RSA or EC) for tokens issued by an identity provider.
    pub jwt_public_key_file: Option<PathBuf>,
    /// `iss` that tokens must carry, when set.
    pub jwt_issuer: Option<String>,
    /// `aud` that tokens must carry, when set.
    pub jwt_audience: Option<String>,
    /// With a public key and no audience: accept tokens whatever their `aud` (an explicit
    /// choice; without it such a configuration is refused at start).
    pub jwt_allow_any_audience: bool,
    /// Largest accepted request body in bytes.
    pub body_limit_bytes: usize,
    /// Largest `data` of one business event posted on a dossier, in bytes of JSON: everyone
    /// reading the dossier's events pays for it again.
    pub event_data_max_bytes: usize,
    /// Most lines one NDJSON import request applies; the report says where it stopped.
    pub import_max_lines: usize,
    /// Pattern for generated contract numbers: `{YYYY}` is the year, `{SEQ}` or `{SEQ:n}`
    /// a counter zero-padded to n digits.
    pub contract_number_pattern: String,
    /// `text` or `json` log lines.
    pub log_format: String,
    /// Seconds between background scheduler passes; 0 disables the scheduler.
    pub scheduler_interval_secs: u64,
    /// Seconds in-flight requests get to finish after SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// Service level for calls that no contract's service level covers (uncovered
    /// installations, contracts without one); `None`: such calls get no deadlines.
    pub default_service_level: Option<ServiceLevel>,
    /// A running SLA clock with less than this share of its allowed time left is at risk.
    pub sla_at_risk_share: f64,
    /// Seconds between webhook dispatcher passes; 0 disables delivery by this instance.
    pub webhook_dispatch_interval_secs: u64,
    /// Seconds a webhook receiver gets to answer a delivery.
    pub webhook_timeout_secs: u64,
    /// Wait before the first retry of a failed delivery; it doubles with every failure.
    pub webhook_retry_base_secs: u64,
    /// Longest wait between two retries of a delivery.
    pub webhook_retry_max_secs: u64,
    /// Private address ranges webhooks may be sent to (receivers on premises); empty: public
    /// addresses only.
    pub webhook_allow_private: AllowedRanges,
    /// Webhooks delivered at the same time, each in its own lane (strictly in order within a
    /// webhook), so a receiver that does not answer holds up only its own webhook.
    pub webhook_lanes: usize,
    /// Hours of continuous failure after which the dispatcher pauses a webhook; 0: never.
    pub webhook_pause_after_hours: u64,
    /// Reminders of contracts without their own, per contract type (`CONTRACT_REMINDERS`).
    pub contract_reminders: ReminderDefaults,
    /// Where document bytes live: `None` is a folder `documents` under the data folder;
    /// `s3://bucket/prefix` is S3-compatible storage (credentials from the usual `AWS_*`
    /// variables, `DOCUMENT_STORE_ENDPOINT` for MinIO and the like).
    pub document_store_url: Option<String>,
    /// Endpoint of S3-compatible storage other than AWS (e.g. `http://127.0.0.1:9000`).
    pub document_store_endpoint: Option<String>,
    /// Largest document accepted, in bytes.
    pub document_max_bytes: u64,
    /// Media types a document may have (`type/subtype`, or `type/*` for a whole family).
    pub document_content_types: Vec<String>,
    /// Days a removed document keeps its bytes (for admins); `None`: for ever.
    pub document_retention_days: Option<u32>,
}

impl Settings {
    /// Reads the settings from the process environment (after loading `.env` if present).
    pub fn from_env() -> Result<Settings, String> {
        let _ = dotenvy::dotenv();
        let data_dir = PathBuf::from(var("DATA_DIR").unwrap_or_else(|| "./data".into()));
        let settings = Settings {
            bind_addr: var("BIND_ADDR").unwrap_or_else(|| "0.0.0.0:8080".into()),
            database_url: var("DATABASE_URL"),
            data_dir,
            db_pool_size: parse("DB_POOL_SIZE", 10)?,
            jwt_secret: var("JWT_SECRET"),
            jwt_public_key_file: var("JWT_PUBLIC_KEY_FILE").map(PathBuf::from),
            jwt_issuer: var("JWT_ISSUER"),
            jwt_audience: var("JWT_AUDIENCE"),
            jwt_allow_any_audience: parse("JWT_ALLOW_ANY_AUDIENCE", false)?,
            body_limit_bytes: parse("BODY_LIMIT_BYTES", 1024 * 1024)?,
            event_data_max_bytes: parse("EVENT_DATA_MAX_BYTES", 32 * 1024)?,
            import_max_lines: parse("IMPORT_MAX_LINES", 20_000)?,
            contract_number_pattern: var("CONTRACT_NUMBER_PATTERN").unwrap_or_else(|| "C-{YYYY}-{SEQ:6}".into()),
            log_format: var("LOG_FORMAT").unwrap_or_else(|| "text".into()),
            scheduler_interval_secs: parse("SCHEDULER_INTERVAL_SECS", 60)?,
            shutdown_timeout_secs: parse("SHUTDOWN_TIMEOUT_SECS", 30)?,
            default_service_level: var("DEFAULT_SERVICE_LEVEL").map(|raw| parse_service_level(&raw)).transpose()?,
            sla_at_risk_share: check_risk_share(parse("SLA_AT_RISK_SHARE", 0.25)?)?,
            webhook_dispatch_interval_secs: parse("WEBHOOK_DISPATCH_INTERVAL_SECS", 5)?,
            webhook_timeout_secs: parse("WEBHOOK_TIMEOUT_SECS", 10)?,
            webhook_retry_base_secs: parse("WEBHOOK_RETRY_BASE_SECS", 10)?,
            webhook_retry_max_secs: parse("WEBHOOK_RETRY_MAX_SECS", 3600)?,
            webhook_allow_private: var("WEBHOOK_ALLOW_PRIVATE")
                .map(|raw| parse_allowed_ranges(&raw))
                .transpose()?
                .unwrap_or_default(),
            webhook_lanes: parse("WEBHOOK_LANES", 8)?,
            webhook_pause_after_hours: parse("WEBHOOK_PAUSE_AFTER_HOURS", 72)?,
            contract_reminders: var("CONTRACT_REMINDERS")
                .map(|raw| ReminderDefaults::parse(&raw).map_err(|e| format!("CONTRACT_REMINDERS: {e}")))
                .transpose()?
                .unwrap_or_default(),
            document_store_url: var("DOCUMENT_STORE_URL"),
            document_store_endpoint: var("DOCUMENT_STORE_ENDPOINT"),
            document_max_bytes: parse("DOCUMENT_MAX_BYTES", DEFAULT_DOCUMENT_MAX_BYTES)?,
            document_content_types: match var("DOCUMENT_CONTENT_TYPES") {
                Some(raw) => parse_content_types(&raw)?,
                None => default_document_content_types(),
            },
            document_retention_days: var("DOCUMENT_RETENTION_DAYS")
                .map(|raw| {
                    raw.trim().parse().map_err(|_| format!("DOCUMENT_RETENTION_DAYS={raw:?} is not a number of days"))
                })
                .transpose()?,
        };
        settings.check_jwt()?;
        Ok(settings)
    }

    /// Where the token keys come from.
    pub fn jwt(&self) -> JwtConfig {
        JwtConfig {
            secret: self.jwt_secret.clone(),
            public_key_file: self.jwt_public_key_file.clone(),
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            allow_any_audience: self.jwt_allow_any_audience,
            data_dir: self.data_dir.clone(),
        }
    }

    /// The token settings' rules ([`JwtConfig::check`]), checked before anything starts.
    pub fn check_jwt(&self) -> Result<(), String> {
        self.jwt().check()
    }

    /// How the webhook dispatcher delivers.
    pub fn dispatch(&self) -> DispatchConfig {
        DispatchConfig {
            timeout: Duration::from_secs(self.webhook_timeout_secs.max(1)),
            retry: RetryPolicy {
                base: Duration::from_secs(self.webhook_retry_base_secs.max(1)),
                max: Duration::from_secs(self.webhook_retry_max_secs.max(self.webhook_retry_base_secs).max(1)),
            },
            max_per_pass: 1000,
            allowed: self.webhook_allow_private.clone(),
            lanes: self.webhook_lanes.max(1),
            pause_after: Duration::from_secs(self.webhook_pause_after_hours.saturating_mul(3600)),
        }
    }

    /// How SLA clocks are set up beyond the contracts.
    pub fn sla(&self) -> SlaSettings {
        SlaSettings { default_level: self.default_service_level.clone(), risk_share: self.sla_at_risk_share }
    }

    /// Which documents are accepted.
    pub fn document_limits(&self) -> Limits {
        Limits { max_bytes: self.document_max_bytes, content_types: self.document_content_types.clone() }
    }

    /// The database URL actually used: the configured one or the embedded SQLite file.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => self.data_dir.join("pactum.db").to_string_lossy().into_owned(),
        }
    }
}

/// Default of `DOCUMENT_MAX_BYTES`: 50 MB.
pub const DEFAULT_DOCUMENT_MAX_BYTES: u64 = 50 * 1024 * 1024;

/// Default of `DOCUMENT_CONTENT_TYPES`: office documents, PDF, images, plain text and e-mail;
/// nothing a browser would run (HTML, SVG, scripts) is accepted by default.
pub fn default_document_content_types() -> Vec<String> {
    crate::documents::model::DEFAULT_CONTENT_TYPES.iter().map(|t| t.to_string()).collect()
}

/// Parses `DOCUMENT_CONTENT_TYPES`: comma-separated `type/subtype` or `type/*`.
fn parse_content_types(raw: &str) -> Result<Vec<String>, String> {
    let list: Vec<String> = raw.split(',').map(|t| t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty()).collect();
    match list.iter().find(|t| !crate::documents::model::is_media_range(t)) {
        Some(bad) => {
            Err(format!("DOCUMENT_CONTENT_TYPES: {bad:?} is not a media type such as application/pdf or image/*"))
        }
        None if list.is_empty() => Err("DOCUMENT_CONTENT_TYPES is empty".into()),
        None => Ok(list),
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match var(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| format!("{name}={raw:?} is not a valid value")),
    }
}

/// Parses `WEBHOOK_ALLOW_PRIVATE`: comma-separated CIDR ranges such as `10.0.0.0/8,fd00::/8`.
fn parse_allowed_ranges(raw: &str) -> Result<AllowedRanges, String> {
    AllowedRanges::parse(raw).map_err(|e| format!("WEBHOOK_ALLOW_PRIVATE: {e}"))
}

/// Parses and checks `DEFAULT_SERVICE_LEVEL`, a service level as JSON.
fn parse_service_level(raw: &str) -> Result<ServiceLevel, String> {
    let level: ServiceLevel =
        serde_json::from_str(raw).map_err(|e| format!("DEFAULT_SERVICE_LEVEL is not a service level: {e}"))?;
    match level.check("DEFAULT_SERVICE_LEVEL").first() {
        None => Ok(level),
        Some(e) => Err(format!("{}: {}", e.field, e.message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            bind_addr: "127.0.0.1:0".into(),
            database_url: None,
            data_dir: PathBuf::from("./data"),
            db_pool_size: 1,
            jwt_secret: Some("0123456789abcdef0123456789abcdef".into()),
            jwt_public_key_file: None,
            jwt_issuer: None,
            jwt_audience: None,
            jwt_allow_any_audience: false,
            body_limit_bytes: 1024,
            event_data_max_bytes: 32 * 1024,
            import_max_lines: 20_000,
            contract_number_pattern: "C-{SEQ}".into(),
            log_format: "text".into(),
            scheduler_interval_secs: 0,
            shutdown_timeout_secs: 1,
            default_service_level: None,
            sla_at_risk_share: 0.25,
            webhook_dispatch_interval_secs: 0,
            webhook_timeout_secs: 1,
            webhook_retry_base_secs: 1,
            webhook_retry_max_secs: 1,
            webhook_allow_private: AllowedRanges::default(),
            webhook_lanes: 1,
            webhook_pause_after_hours: 0,
            contract_reminders: ReminderDefaults::none(),
            document_store_url: None,
            document_store_endpoint: None,
            document_max_bytes: DEFAULT_DOCUMENT_MAX_BYTES,
            document_content_types: default_document_content_types(),
            document_retention_days: None,
        }
    }

    #[test]
    fn a_shared_secret_has_at_least_32_bytes() {
        assert_eq!(settings().check_jwt(), Ok(()));
        for short in ["a", "change-me", "0123456789abcdef0123456789abcde"] {
            let s = Settings { jwt_secret: Some(short.into()), ..settings() };
            let e = s.check_jwt().unwrap_err();
            assert!(e.starts_with("JWT_SECRET is too short") && e.contains("at least 32 bytes"), "{e}");
            if short.len() > 1 {
                assert!(!e.contains(short), "the secret is not repeated: {e}");
            }
        }
        // Bytes, not characters: 11 three-byte characters are 33 bytes.
        let s = Settings { jwt_secret: Some("€".repeat(11)), ..settings() };
        assert_eq!(s.check_jwt(), Ok(()));
        // What CI mints (`ci-secret-` and 32 hex digits) and the generated development secret
        // (unset here: 32 random bytes as hex) pass.
        let s = Settings { jwt_secret: Some(format!("ci-secret-{}", "0f".repeat(16))), ..settings() };
        assert_eq!(s.check_jwt(), Ok(()));
        assert_eq!(Settings { jwt_secret: None, ..settings() }.check_jwt(), Ok(()));
    }

    #[test]
    fn private_webhook_ranges_are_a_cidr_list() {
        let r = parse_allowed_ranges("10.0.0.0/8, 192.168.1.0/24,127.0.0.0/8").unwrap();
        assert_eq!(r.ranges().len(), 3);
        assert!(r.permits("192.168.1.9".parse().unwrap()));
        assert!(!r.permits("192.168.2.9".parse().unwrap()));
        let e = parse_allowed_ranges("10.0.0.0/8,intranet").unwrap_err();
        assert!(e.starts_with("WEBHOOK_ALLOW_PRIVATE: \"intranet\" is not a CIDR range"), "{e}");
        assert!(parse_allowed_ranges("10.0.0.0/40").is_err());
    }

    #[test]
    fn a_public_key_needs_an_audience_or_an_explicit_any() {
        let idp = Settings { jwt_secret: None, jwt_public_key_file: Some("idp.pem".into()), ..settings() };
        let e = idp.clone().check_jwt().unwrap_err();
        assert!(e.contains("JWT_AUDIENCE") && e.contains("JWT_ALLOW_ANY_AUDIENCE=true"), "{e}");
        assert_eq!(Settings { jwt_audience: Some("pactum".into()), ..idp.clone() }.check_jwt(), Ok(()));
        assert_eq!(Settings { jwt_allow_any_audience: true, ..idp.clone() }.check_jwt(), Ok(()));
        // The public key wins over a secret, which is then not used and not judged.
        assert_eq!(
            Settings { jwt_secret: Some("short".into()), jwt_audience: Some("pactum".into()), ..idp }.check_jwt(),
            Ok(())
        );
        // A shared secret is this service's own: no audience needed.
        assert_eq!(Settings { jwt_audience: None, ..settings() }.check_jwt(), Ok(()));
    }
}
