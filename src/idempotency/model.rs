//! Idempotency-key rules without I/O: which keys are acceptable, what makes two requests the
//! same, and how long keys live.

use sha2::{Digest, Sha256};

/// Keys are kept at least this long after their first use.
pub const RETENTION_HOURS: i64 = 24;
/// How long a first request may run before a retry may take its key over.
pub const LEASE_SECS: i64 = 60;

/// Where a key's request is: running (`Pending`, under a lease), its work committed but the
/// answer not yet stored (`Committed`), or answered and replayable (`Done`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum KeyState {
    Pending,
    Committed,
    Done,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Pending => "pending",
            KeyState::Committed => "committed",
            KeyState::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<KeyState> {
        [KeyState::Pending, KeyState::Committed, KeyState::Done].into_iter().find(|k| k.as_str() == s)
    }
}

crate::db::column::text_enum!(KeyState, "idempotency key state");

/// A key is 1 to 255 visible ASCII characters (a UUID is the usual choice).
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the Idempotency-Key header must be 1 to 255 visible ASCII characters, e.g. a UUID".into());
    }
    Ok(())
}

/// What identifies a request for replay: method, path with query, and the exact body. Fed in
/// pieces, so a streamed body is identified without being held.
pub struct Fingerprint(Sha256);

impl Fingerprint {
    pub fn new(method: &str, path_and_query: &str) -> Fingerprint {
        let mut h = Sha256::new();
        h.update(method.as_bytes());
        h.update([0]);
        h.update(path_and_query.as_bytes());
        h.update([0]);
        Fingerprint(h)
    }

    pub fn update(&mut self, body: &[u8]) {
        self.0.update(body);
    }

    pub fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// The fingerprint of a whole request at once.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut f = Fingerprint::new(method, path_and_query);
    f.update(body);
    f.finish()
}

/// Whether an answer is kept for replay: everything but server-side failures, which a retry
/// should get the chance to redo.
pub fn keeps(status: u16) -> bool {
    status < 500
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(check_key("0192f1c2-7c5e-7cc0-b3f4-6d1a2c3b4a5f").is_ok());
        assert!(check_key("").is_err());
        assert!(check_key("has space").is_err());
        assert!(check_key("ünïcode").is_err());
        assert!(check_key(&"k".repeat(256)).is_err());
    }

    #[test]
    fn the_fingerprint_covers_method_path_and_body() {
        let a = fingerprint("POST", "/api/v1/contracts", b"{\"a\":1}");
        assert_eq!(a, fingerprint("POST", "/api/v1/contracts", b"{\"a\":1}"));
        assert_ne!(a, fingerprint("POST", "/api/v1/contracts", b"{\"a\":2}"));
        assert_ne!(a, fingerprint("POST", "/api/v1/installations", b"{\"a\":1}"));
        // The separator keeps path and body apart.
        assert_ne!(fingerprint("POST", "/x", b"y"), fingerprint("POST", "/xy", b""));
        // Fed in pieces it is the same.
        let mut f = Fingerprint::new("POST", "/api/v1/contracts");
        f.update(b"{\"a\"");
        f.update(b":1}");
        assert_eq!(f.finish(), a);
    }

    #[test]
    fn server_failures_are_not_kept() {
        assert!(keeps(201) && keeps(409) && keeps(422));
        assert!(!keeps(500) && !keeps(503));
    }
}
