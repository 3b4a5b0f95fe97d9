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
    /// Whether the header is absent or only `*`: it then pins no version, and a write sent
    /// twice happens twice. (A header that is not a list of tags is a 412 in [`IfMatch::check`].)
    pub fn pins_no_version(&self) -> bool {
        match &self.0 {
            None => true,
            Some(tags) => !tags.is_empty() && tags.iter().all(|t| t == "*"),
        }
    }

    /// Fails with 412 when the header is present and names none of the current version. A
    /// header that names no entity tag at all (empty, or something that is not a tag) matches
    /// no version either (RFC 9110 13.1.1): it is a 412 too, never taken as absent.
    pub fn check(&self, current_version: i64) -> Result<(), ApiError> {
        match &self.0 {
            None => Ok(()),
            Some(tags) if tags.is_empty() => Err(ApiError::precondition_failed(
                "If-Match names no entity tag; send the ETag you read, e.g. If-Match: \"3\" (or *), \
                 or leave the header out to write unconditionally",
            )),
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
        ready(Ok(parse_if_match(req.headers().get_all(header::IF_MATCH).map(|v| v.to_str().ok()))))
    }
}

/// Reads the `If-Match` header lines (`None` for a line that is not visible ASCII). A header
/// that is present keeps its entity tags; what is not a tag (or an empty value) adds none, so
/// a present header with no tag fails [`IfMatch::check`] instead of reading as absent.
fn parse_if_match<'a>(lines: impl Iterator<Item = Option<&'a str>>) -> IfMatch {
    let mut present = false;
    let mut tags = Vec::new();
    for line in lines {
        present = true;
        let Some(line) = line else { continue };
        tags.extend(line.split(',').map(str::trim).filter(|t| is_entity_tag(t)).map(str::to_string));
    }
    IfMatch(present.then_some(tags))
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

    fn parse(lines: &[Option<&str>]) -> Option<Vec<String>> {
        parse_if_match(lines.iter().copied()).0
    }

    #[test]
    fn a_present_if_match_without_a_tag_matches_no_version() {
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&[Some("\"3\"")]), Some(vec!["\"3\"".into()]));
        assert_eq!(
            parse(&[Some("\"1\", W/\"2\""), Some("*")]),
            Some(vec!["\"1\"".into(), "W/\"2\"".into(), "*".into()])
        );
        for no_tag in [
            &[Some("")][..],
            &[Some(" , ")],
            &[None],
            &[Some("garbage")],
            &[Some("{}")],
            &[Some("0")],
            &[Some("\"a\"b\"")],
        ] {
            let m = parse_if_match(no_tag.iter().copied());
            assert_eq!(m.0, Some(vec![]), "{no_tag:?}");
            assert!(m.check(1).unwrap_err().to_string().contains("no entity tag"), "{no_tag:?}");
        }
        assert!(IfMatch(Some(vec!["\"2\"".into()])).check(1).is_err());
        assert!(IfMatch(Some(vec!["W/\"1\"".into()])).check(1).is_ok());
    }
}
