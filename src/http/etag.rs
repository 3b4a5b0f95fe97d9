//! ETags from resource versions and `If-Match` preconditions.

use super::errors::ApiError;
use crate::db::expected::{Accept, Expected, Stale};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use std::future::{ready, Ready};

/// The ETag of a resource at `version`.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// The `If-Match` header of a request, read as the version the write expects
/// ([`Expected`]): absent, `*`, or the entity tags it lists (each naming a version as its
/// ETag does, or none).
pub type IfMatch = Expected;

/// A write's expectation that does not hold: 412, worded for the client that sent `If-Match`.
impl From<Stale> for ApiError {
    fn from(stale: Stale) -> ApiError {
        match stale {
            Stale::NothingNamed => ApiError::precondition_failed(
                "If-Match names no entity tag; send the ETag you read, e.g. If-Match: \"3\" (or *), \
                 or leave the header out to write unconditionally",
            ),
            Stale::Changed { current } => ApiError::precondition_failed(format!(
                "If-Match does not match the current version (ETag {}); fetch the resource again",
                etag(current)
            )),
        }
    }
}

impl FromRequest for Expected {
    type Error = ApiError;
    type Future = Ready<Result<Expected, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(parse_if_match(req.headers().get_all(header::IF_MATCH).map(|v| v.to_str().ok()))))
    }
}

/// Reads the `If-Match` header lines (`None` for a line that is not visible ASCII). A header
/// that is present keeps its entity tags; what is not a tag (or an empty value) adds none, so
/// a present header with no tag matches no version (RFC 9110 13.1.1) instead of reading as
/// absent.
fn parse_if_match<'a>(lines: impl Iterator<Item = Option<&'a str>>) -> Expected {
    let mut present = false;
    let mut accepted = Vec::new();
    for line in lines {
        present = true;
        let Some(line) = line else { continue };
        accepted.extend(line.split(',').map(str::trim).filter(|t| is_entity_tag(t)).map(accept_of));
    }
    if present {
        Expected::one_of(accepted)
    } else {
        Expected::none()
    }
}

/// The version an entity tag names: ours are `"<version>"` (weak or not), written as [`etag`]
/// writes them.
fn accept_of(tag: &str) -> Accept {
    if tag == "*" {
        return Accept::Any;
    }
    let opaque = tag.strip_prefix("W/").unwrap_or(tag);
    match opaque.trim_matches('"').parse::<i64>() {
        Ok(version) if etag(version) == opaque => Accept::Version(version),
        _ => Accept::Unknown,
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

    fn parse(lines: &[Option<&str>]) -> Expected {
        parse_if_match(lines.iter().copied())
    }

    #[test]
    fn a_present_if_match_without_a_tag_matches_no_version() {
        assert_eq!(parse(&[]), Expected::none());
        assert_eq!(parse(&[Some("\"3\"")]), Expected::one_of(vec![Accept::Version(3)]));
        assert_eq!(
            parse(&[Some("\"1\", W/\"2\""), Some("*")]),
            Expected::one_of(vec![Accept::Version(1), Accept::Version(2), Accept::Any])
        );
        // Tags that name no version of ours match none.
        assert_eq!(parse(&[Some("\"a\", \"03\"")]), Expected::one_of(vec![Accept::Unknown, Accept::Unknown]));
        for no_tag in [
            &[Some("")][..],
            &[Some(" , ")],
            &[None],
            &[Some("garbage")],
            &[Some("{}")],
            &[Some("0")],
            &[Some("\"a\"b\"")],
        ] {
            let m = parse(no_tag);
            assert_eq!(m, Expected::one_of(vec![]), "{no_tag:?}");
            let e = ApiError::from(m.check(1).unwrap_err());
            assert!(e.to_string().contains("no entity tag"), "{no_tag:?}");
        }
        let e = ApiError::from(parse(&[Some("\"2\"")]).check(1).unwrap_err());
        assert_eq!(e.kind.status(), 412);
        assert!(e.detail.contains("ETag \"1\""), "{}", e.detail);
        assert!(parse(&[Some("W/\"1\"")]).check(1).is_ok());
    }
}
