//! Verifying and minting JWTs: HS256 with a shared secret, or RS256/ES256 with the public key
//! of a company identity provider.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Deserializer, Serialize};
use std::path::{Path, PathBuf};

/// Shortest accepted HS256 secret, in bytes (RFC 7518 §3.2: a key of at least the hash's size).
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Where the token keys come from (the `JWT_*` settings).
#[derive(Clone, Debug, Default)]
pub struct JwtConfig {
    /// HS256 secret (`JWT_SECRET`).
    pub secret: Option<String>,
    /// PEM public key (RSA or EC) of an identity provider (`JWT_PUBLIC_KEY_FILE`); wins over a secret.
    pub public_key_file: Option<PathBuf>,
    /// `iss` that tokens must carry, when set.
    pub issuer: Option<String>,
    /// `aud` that tokens must carry, when set.
    pub audience: Option<String>,
    /// With a public key and no audience: accept tokens whatever their `aud`.
    pub allow_any_audience: bool,
    /// Folder of the generated development secret, used when neither key is set.
    pub data_dir: PathBuf,
}

impl JwtConfig {
    /// The token settings' rules, checked before anything starts: a shared secret of at least
    /// [`MIN_JWT_SECRET_BYTES`] (a short one can be guessed offline from any token), and with an
    /// identity provider's public key an audience, since that provider also signs tokens for
    /// other applications (unless `JWT_ALLOW_ANY_AUDIENCE=true` says so on purpose).
    pub fn check(&self) -> Result<(), String> {
        if self.public_key_file.is_some() {
            if self.audience.is_none() && !self.allow_any_audience {
                return Err("JWT_PUBLIC_KEY_FILE is set but JWT_AUDIENCE is not: tokens your identity provider \
                    issues for other applications would be accepted. Set JWT_AUDIENCE to this service's \
                    audience, or JWT_ALLOW_ANY_AUDIENCE=true to accept every audience on purpose"
                    .into());
            }
        } else if let Some(secret) = &self.secret {
            if secret.len() < MIN_JWT_SECRET_BYTES {
                let n = secret.len();
                return Err(format!(
                    "JWT_SECRET is too short ({n} byte{}); at least {MIN_JWT_SECRET_BYTES} bytes are required \
                     (e.g. the output of `openssl rand -hex 32`)",
                    if n == 1 { "" } else { "s" }
                ));
            }
        }
        Ok(())
    }
}

/// The claims Pactum reads from a token.
#[derive(Clone, Debug, Serialize)]
pub struct Claims {
    /// The user.
    pub sub: String,
    /// Permission roles and team/department names. Required in a token; an empty list is a
    /// user without roles.
    pub roles: Vec<String>,
    /// Expiry, in whole seconds since the epoch (a fractional `exp` is rounded down).
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// One audience or a list of them (RFC 7519 §4.1.3); the library checks it against ours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
}

/// The claims as a token carries them: `roles` may be missing (refused after decoding, with a
/// message that says so), and the dates are NumericDates, which RFC 7519 §2 allows to have a
/// fraction of a second.
#[derive(Deserialize)]
struct TokenClaims {
    sub: String,
    #[serde(default)]
    roles: Option<Vec<String>>,
    #[serde(deserialize_with = "numeric_date")]
    exp: i64,
    #[serde(default, deserialize_with = "optional_numeric_date")]
    nbf: Option<i64>,
    #[serde(default, deserialize_with = "optional_numeric_date")]
    iat: Option<i64>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<serde_json::Value>,
}

/// A NumericDate: seconds since the epoch as an integer or a finite decimal, rounded down to
/// whole seconds.
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64().map(f64::floor) {
        Some(f) if f.is_finite() && f >= i64::MIN as f64 && f < i64::MAX as f64 => Ok(f as i64),
        _ => Err(serde::de::Error::custom("a NumericDate is a number of seconds")),
    }
}

fn optional_numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "numeric_date")] i64);
    Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(n)| n))
}

/// Where the verification key came from, for the startup log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    ConfiguredSecret,
    GeneratedSecret(std::path::PathBuf),
    PublicKey(std::path::PathBuf),
}

/// The keys and rules for tokens.
pub struct JwtKeys {
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    algorithm: Algorithm,
    issuer: Option<String>,
    audience: Option<String>,
    pub source: KeySource,
}

const DEV_SECRET_FILE: &str = "jwt-secret";

impl JwtKeys {
    /// Builds the keys `config` names; with no key configured, reads or creates the
    /// development secret in the data folder.
    pub fn from_config(config: &JwtConfig) -> Result<JwtKeys, String> {
        config.check()?;
        if let Some(path) = &config.public_key_file {
            let pem =
                std::fs::read(path).map_err(|e| format!("cannot read JWT_PUBLIC_KEY_FILE {}: {e}", path.display()))?;
            let (decoding, algorithm) = if let Ok(k) = DecodingKey::from_rsa_pem(&pem) {
                (k, Algorithm::RS256)
            } else if let Ok(k) = DecodingKey::from_ec_pem(&pem) {
                (k, Algorithm::ES256)
            } else {
                return Err(format!(
                    "JWT_PUBLIC_KEY_FILE {} holds neither an RSA nor an EC public key in PEM form",
                    path.display()
                ));
            };
            return Ok(JwtKeys {
                decoding,
                encoding: None,
                algorithm,
                issuer: config.issuer.clone(),
                audience: config.audience.clone(),
                source: KeySource::PublicKey(path.clone()),
            });
        }
        let (secret, source) = match &config.secret {
            Some(s) => (s.clone(), KeySource::ConfiguredSecret),
            None => {
                let path = config.data_dir.join(DEV_SECRET_FILE);
                (dev_secret(&path)?, KeySource::GeneratedSecret(path))
            }
        };
        Ok(JwtKeys::hs256(&secret, config.issuer.clone(), config.audience.clone(), source))
    }

    pub fn hs256(secret: &str, issuer: Option<String>, audience: Option<String>, source: KeySource) -> JwtKeys {
        JwtKeys {
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            encoding: Some(EncodingKey::from_secret(secret.as_bytes())),
            algorithm: Algorithm::HS256,
            issuer,
            audience,
            source,
        }
    }

    /// Checks signature, algorithm, expiry, not-before, issuer and audience, and that the token
    /// names its roles.
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let mut validation = Validation::new(self.algorithm);
        validation.leeway = 30;
        validation.validate_nbf = true;
        // A configured issuer or audience must be present in the token, not only match when present.
        let mut required = vec!["exp", "sub"];
        if self.issuer.is_some() {
            required.push("iss");
        }
        if self.audience.is_some() {
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        match &self.issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match &self.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        let c = jsonwebtoken::decode::<TokenClaims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| describe(&e))?;
        let roles = c.roles.ok_or("the token lacks the `roles` claim (an empty list is fine)")?;
        Ok(Claims { sub: c.sub, roles, exp: c.exp, nbf: c.nbf, iat: c.iat, iss: c.iss, aud: c.aud })
    }

    /// Mints a token (only with a shared secret: an identity provider's keys stay with it).
    pub fn mint(
        &self,
        sub: &str,
        roles: &[String],
        ttl: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        let key = self
            .encoding
            .as_ref()
            .ok_or("tokens are issued by the identity provider (JWT_PUBLIC_KEY_FILE is set); cannot mint")?;
        let claims = Claims {
            sub: sub.to_string(),
            roles: roles.to_vec(),
            exp: now.timestamp() + ttl.as_secs() as i64,
            nbf: None,
            iat: Some(now.timestamp()),
            iss: self.issuer.clone(),
            aud: self.audience.clone().map(serde_json::Value::String),
        };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, key).map_err(|e| e.to_string())
    }
}

fn describe(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::ExpiredSignature => "the token has expired".into(),
        K::ImmatureSignature => "the token is not valid yet".into(),
        K::InvalidSignature => "the token signature is invalid".into(),
        K::InvalidAlgorithm | K::InvalidAlgorithmName => {
            "the token uses an algorithm this service does not accept".into()
        }
        K::InvalidIssuer => "the token has the wrong issuer".into(),
        K::InvalidAudience => "the token has the wrong audience".into(),
        K::MissingRequiredClaim(c) => format!("the token lacks the `{c}` claim"),
        _ => "the token is malformed".into(),
    }
}

/// Reads the development secret, creating it (32 random bytes as 64 hex digits, owner-only)
/// when missing. One shorter than `MIN_JWT_SECRET_BYTES` (written by hand) is refused.
fn dev_secret(path: &Path) -> Result<String, String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let s = existing.trim().to_string();
        if s.len() >= MIN_JWT_SECRET_BYTES {
            return Ok(s);
        }
        if !s.is_empty() {
            return Err(format!(
                "the development secret in {} is {} bytes long; at least {MIN_JWT_SECRET_BYTES} are required \
                 (delete the file to have a new one generated)",
                path.display(),
                s.len()
            ));
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let bytes: [u8; 32] = rand::random();
    let secret = hex::encode(bytes);
    write_private(path, &secret).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(secret)
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::hs256("s3cret", None, None, KeySource::ConfiguredSecret)
    }

    #[test]
    fn minted_token_verifies() {
        let k = keys();
        let t = k.mint("alice", &["admin".into()], std::time::Duration::from_secs(60), Utc::now()).unwrap();
        let c = k.verify(&t).unwrap();
        assert_eq!(c.sub, "alice");
        assert_eq!(c.roles, vec!["admin".to_string()]);
    }

    #[test]
    fn expired_and_foreign_tokens_fail() {
        let k = keys();
        let old = Utc::now() - chrono::Duration::hours(2);
        let t = k.mint("alice", &[], std::time::Duration::from_secs(60), old).unwrap();
        assert_eq!(k.verify(&t).unwrap_err(), "the token has expired");
        let other = JwtKeys::hs256("other", None, None, KeySource::ConfiguredSecret);
        let t = other.mint("bob", &[], std::time::Duration::from_secs(60), Utc::now()).unwrap();
        assert_eq!(k.verify(&t).unwrap_err(), "the token signature is invalid");
    }

    #[test]
    fn issuer_and_audience_are_enforced() {
        let strict = JwtKeys::hs256("s", Some("idp".into()), Some("pactum".into()), KeySource::ConfiguredSecret);
        let loose = JwtKeys::hs256("s", None, None, KeySource::ConfiguredSecret);
        let t = loose.mint("a", &[], std::time::Duration::from_secs(60), Utc::now()).unwrap();
        assert!(strict.verify(&t).is_err());
        let t = strict.mint("a", &[], std::time::Duration::from_secs(60), Utc::now()).unwrap();
        assert!(strict.verify(&t).is_ok());
    }

    #[test]
    fn a_configured_issuer_or_audience_must_be_present() {
        let issuer_only = JwtKeys::hs256("s", Some("idp".into()), None, KeySource::ConfiguredSecret);
        let audience_only = JwtKeys::hs256("s", None, Some("pactum".into()), KeySource::ConfiguredSecret);
        let loose = JwtKeys::hs256("s", None, None, KeySource::ConfiguredSecret);
        let t = loose.mint("a", &[], std::time::Duration::from_secs(60), Utc::now()).unwrap();
        assert_eq!(issuer_only.verify(&t).unwrap_err(), "the token lacks the `iss` claim");
        assert_eq!(audience_only.verify(&t).unwrap_err(), "the token lacks the `aud` claim");
    }

    fn signed(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(b"s3cret")).unwrap()
    }

    #[test]
    fn roles_are_required_and_may_be_empty() {
        let exp = Utc::now().timestamp() + 60;
        let e = keys().verify(&signed(serde_json::json!({"sub": "a", "exp": exp}))).unwrap_err();
        assert_eq!(e, "the token lacks the `roles` claim (an empty list is fine)");
        assert!(keys().verify(&signed(serde_json::json!({"sub": "a", "roles": null, "exp": exp}))).is_err());
        let c = keys().verify(&signed(serde_json::json!({"sub": "a", "roles": [], "exp": exp}))).unwrap();
        assert!(c.roles.is_empty());
        let e = keys().verify(&signed(serde_json::json!({"sub": "a", "roles": "admin", "exp": exp}))).unwrap_err();
        assert_eq!(e, "the token is malformed");
    }

    #[test]
    fn numeric_dates_may_be_fractional_and_are_rounded_down() {
        let exp = Utc::now().timestamp() + 60;
        let t = signed(serde_json::json!({"sub": "a", "roles": [], "exp": exp as f64 + 0.5, "iat": 1.9, "nbf": 2.2}));
        let c = keys().verify(&t).unwrap();
        assert_eq!((c.exp, c.iat, c.nbf), (exp, Some(1), Some(2)));
        let t = signed(serde_json::json!({"sub": "a", "roles": [], "exp": 1893456000.5}));
        assert_eq!(keys().verify(&t).unwrap().exp, 1_893_456_000);
        let t =
            signed(serde_json::json!({"sub": "a", "roles": [], "exp": (Utc::now().timestamp() - 120) as f64 + 0.5}));
        assert_eq!(keys().verify(&t).unwrap_err(), "the token has expired");
        let t = signed(serde_json::json!({"sub": "a", "roles": [], "exp": exp, "iat": "yesterday"}));
        assert_eq!(keys().verify(&t).unwrap_err(), "the token is malformed");
    }

    #[test]
    fn the_development_secret_is_long_enough_and_a_short_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("pactum-dev-secret-{}", uuid::Uuid::now_v7().simple()));
        let path = dir.join(DEV_SECRET_FILE);
        let made = dev_secret(&path).unwrap();
        assert_eq!(made.len(), 64);
        assert!(made.len() >= MIN_JWT_SECRET_BYTES);
        assert_eq!(dev_secret(&path).unwrap(), made, "kept across starts");
        std::fs::write(&path, "too-short\n").unwrap();
        let e = dev_secret(&path).unwrap_err();
        assert!(e.contains("9 bytes") && e.contains("delete the file"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
