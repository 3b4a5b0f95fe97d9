//! ETags from resource versions and `If-Match` preconditions.

use super::errors::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use std::future::{ready, Ready};

/// The ETag of a resource at `version`.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// The `If-Match` header of a request, if any.
#[derive(Clone, Debug, Default)]
pub struct IfMatch(Option<Vec<String>>);

impl IfMatch {
    /// Fails with 412 when the header is present and names none of the current version.
    pub fn check(&self, current_version: i64) -> Result<(), ApiError> {
        match &self.0 {
            None => Ok(()),
            Some(tags) => {
                let current = etag(current_version);
                if tags.iter().any(|t| t == "*" || t.trim_start_matches("W/") == current) {
                    Ok(())
                } else {
                    Err(ApiError::precondition_failed(format!(
                        "If-Match does not match the current version (ETag {current}); fetch the resource again"
                    )))
                }
            }
        }
    }

    pub fn none() -> IfMatch {
        IfMatch(None)
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<IfMatch, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_if_match(req.headers().get_all(header::IF_MATCH).map(|v| v.to_str().ok())))
    }
}

/// Reads the `If-Match` header lines (`None` for a line that is not visible ASCII). RFC 9110
/// gives the header no empty form: a header that is present but names no entity tag, or holds
/// something that is not one, is a malformed request (400), never taken as absent, so a client
/// that meant a precondition never writes without one. Well-formed tags that do not match are
/// the 412 of [`IfMatch::check`].
fn parse_if_match<'a>(lines: impl Iterator<Item = Option<&'a str>>) -> Result<IfMatch, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "invalid_if_match",
            "If-Match must list entity tags such as \"3\" (or be *); leave the header out to write unconditionally",
        )
    };
    let mut present = false;
    let mut tags = Vec::new();
    for line in lines {
        present = true;
        for tag in line.ok_or_else(bad)?.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if !is_entity_tag(tag) {
                return Err(bad());
            }
            tags.push(tag.to_string());
        }
    }
    match (present, tags.is_empty()) {
        (false, _) => Ok(IfMatch(None)),
        (true, true) => Err(bad()),
        (true, false) => Ok(IfMatch(Some(tags))),
    }
}

/// A JSON response carrying the resource's ETag (and `Location` when created).
pub fn resource_response<T: serde::Serialize>(
    status: actix_web::http::StatusCode,
    body: &T,
    version: i64,
    location: Option<String>,
) -> actix_web::HttpResponse {
    let mut r = actix_web::HttpResponse::build(status);
    r.insert_header((header::ETAG, etag(version)));
    if let Some(loc) = location {
        r.insert_header((header::LOCATION, loc));
    }
    r.json(body)
}

/// `*` or an entity tag: `"…"` or `W/"…"` around visible ASCII other than `"` (RFC 9110 8.8.3).
fn is_entity_tag(tag: &str) -> bool {
    let opaque = tag.strip_prefix("W/").unwrap_or(tag);
    tag == "*"
        || (opaque.len() >= 2
            && opaque.starts_with('"')
            && opaque.ends_with('"')
            && opaque[1..opaque.len() - 1].bytes().all(|b| b == 0x21 || (0x23..=0x7e).contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(lines: &[Option<&str>]) -> Result<Option<Vec<String>>, String> {
        parse_if_match(lines.iter().copied()).map(|m| m.0).map_err(|e| e.to_string())
    }

    #[test]
    fn an_if_match_header_must_name_a_tag() {
        assert_eq!(parse(&[]), Ok(None));
        assert_eq!(parse(&[Some("\"3\"")]), Ok(Some(vec!["\"3\"".into()])));
        assert_eq!(
            parse(&[Some("\"1\", W/\"2\""), Some("*")]),
            Ok(Some(vec!["\"1\"".into(), "W/\"2\"".into(), "*".into()]))
        );
        for empty in [
            &[Some("")][..],
            &[Some(" , ")],
            &[Some("  ")],
            &[None],
            &[Some("\"1\""), None],
            &[Some("garbage")],
            &[Some("{}")],
            &[Some("\"1\", 2")],
            &[Some("\"a\"b\"")],
        ] {
            assert!(parse(empty).is_err(), "{empty:?} should be refused");
        }
    }
}
