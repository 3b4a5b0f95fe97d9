//! Documents: what they are attached to, and the pure rules on their names, media types and
//! byte ranges. No I/O here.

use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a document is attached to.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum OwnerType {
    Contract,
    Installation,
    ServiceCall,
    Dossier,
}

impl OwnerType {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerType::Contract => "contract",
            OwnerType::Installation => "installation",
            OwnerType::ServiceCall => "service_call",
            OwnerType::Dossier => "dossier",
        }
    }

    pub fn parse(s: &str) -> Option<OwnerType> {
        [OwnerType::Contract, OwnerType::Installation, OwnerType::ServiceCall, OwnerType::Dossier]
            .into_iter()
            .find(|o| o.as_str() == s)
    }

    /// The owner's path segment under `/api/v1`.
    pub fn collection(self) -> &'static str {
        match self {
            OwnerType::Contract => "contracts",
            OwnerType::Installation => "installations",
            OwnerType::ServiceCall => "service-calls",
            OwnerType::Dossier => "dossiers",
        }
    }
}

crate::db::column::text_enum!(OwnerType, "document owner type");

/// The entity type of a document's events.
pub const ENTITY: &str = "document";

/// The kind of document every generated one gets.
pub const GENERATED_KIND: &str = "generated";

/// The media types accepted by default (see `DOCUMENT_CONTENT_TYPES`): documents, images, mail.
/// Nothing a browser would run in this service's origin (HTML, SVG, JavaScript, XML).
pub const DEFAULT_CONTENT_TYPES: &[&str] = &[
    "application/pdf",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.ms-outlook",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/rtf",
    "application/zip",
    "text/plain",
    "text/csv",
    "message/rfc822",
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/tiff",
    "image/heic",
];

/// Whether `t` is `type/subtype` or `type/*` in lowercase token characters.
pub fn is_media_range(t: &str) -> bool {
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
    match t.split_once('/') {
        Some((ty, sub)) => token(ty) && (sub == "*" || token(sub)) && t == t.to_ascii_lowercase(),
        None => false,
    }
}

/// The essence of a `Content-Type` value (`type/subtype`, lowercase, without parameters), or
/// `None` when it is not a media type.
pub fn essence(content_type: &str) -> Option<String> {
    let e = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    is_media_range(&e).then_some(e).filter(|e| !e.ends_with("/*"))
}

/// Whether the media type `essence` is in the allow-list `allowed` (entries `type/*` allow a family).
pub fn allowed(allowed: &[String], essence: &str) -> bool {
    allowed.iter().any(|a| match a.strip_suffix("/*") {
        Some(family) => essence.split_once('/').is_some_and(|(ty, _)| ty == family),
        None => a == essence,
    })
}

/// Longest file name kept, in characters.
pub const MAX_FILENAME: usize = 255;
/// Most characters of a document's kind and title.
pub const MAX_KIND: usize = 100;
pub const MAX_TITLE: usize = 500;

/// Checks a file name as a client sends it: one name, not a path. Control characters (NUL
/// among them), `/`, `\`, and the names `.` and `..` are refused, as is a blank name.
pub fn check_filename(errors: &mut Vec<FieldError>, field: &str, name: &str) {
    if name.trim().is_empty() {
        errors.push(FieldError::new(field, "required", "a file name is required"));
    } else if name.chars().any(|c| c.is_control()) {
        errors.push(FieldError::new(
            field,
            "invalid_character",
            "a file name must not contain control characters such as NUL",
        ));
    } else if name.contains(['/', '\\']) || name == "." || name == ".." {
        errors.push(FieldError::new(
            field,
            "invalid_filename",
            "a file name is one name, not a path: no `/`, `\\`, `.` or `..`",
        ));
    } else if name.chars().count() > MAX_FILENAME {
        errors.push(FieldError::new(field, "too_long", format!("at most {MAX_FILENAME} characters")));
    }
}

/// A byte range of a download, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    pub first: u64,
    pub last: u64,
}

impl ByteRange {
    /// How many bytes the range holds.
    pub fn bytes(&self) -> u64 {
        self.last - self.first + 1
    }
}

/// What a `Range` header asks of a representation of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeAsk {
    /// No usable range: send everything (200). A header that is not a byte range, or asks for
    /// several ranges, is ignored as RFC 9110 14.2 allows.
    Whole,
    /// One satisfiable range (206).
    Part(ByteRange),
    /// No byte of the range exists (416).
    Unsatisfiable,
}

/// Reads a `Range` header (`bytes=first-last`, `bytes=first-`, `bytes=-suffix`).
pub fn parse_range(header: Option<&str>, size: u64) -> RangeAsk {
    let Some(spec) = header.map(str::trim).and_then(|h| h.strip_prefix("bytes=")) else { return RangeAsk::Whole };
    if spec.contains(',') {
        return RangeAsk::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else { return RangeAsk::Whole };
    let num = |s: &str| if s.is_empty() { Ok(None) } else { s.parse::<u64>().map(Some).map_err(|_| ()) };
    let (Ok(first), Ok(last)) = (num(a.trim()), num(b.trim())) else { return RangeAsk::Whole };
    match (first, last) {
        (None, None) => RangeAsk::Whole,
        (None, Some(0)) => RangeAsk::Unsatisfiable,
        (None, Some(_)) if size == 0 => RangeAsk::Unsatisfiable,
        (None, Some(suffix)) => RangeAsk::Part(ByteRange { first: size.saturating_sub(suffix), last: size - 1 }),
        (Some(first), last) => {
            if last.is_some_and(|l| l < first) {
                return RangeAsk::Whole;
            }
            if first >= size {
                return RangeAsk::Unsatisfiable;
            }
            RangeAsk::Part(ByteRange { first, last: last.unwrap_or(u64::MAX).min(size - 1) })
        }
    }
}

/// The `Content-Disposition` of a download: `attachment` with the file name in ASCII (others
/// replaced by `_`) and as UTF-8 (RFC 6266, RFC 8187).
pub fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::new();
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        let part = |first, last| RangeAsk::Part(ByteRange { first, last });
        assert_eq!(parse_range(None, 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=0-3"), 10), part(0, 3));
        assert_eq!(parse_range(Some("bytes=4-"), 10), part(4, 9));
        assert_eq!(parse_range(Some("bytes=5-100"), 10), part(5, 9));
        assert_eq!(parse_range(Some("bytes=-3"), 10), part(7, 9));
        assert_eq!(parse_range(Some("bytes=-30"), 10), part(0, 9));
        assert_eq!(parse_range(Some("bytes=10-"), 10), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-2"), 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=0-1,4-5"), 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("items=0-1"), 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=x-1"), 10), RangeAsk::Whole);
    }

    #[test]
    fn file_names_are_names_not_paths() {
        let check = |n: &str| {
            let mut e = Vec::new();
            check_filename(&mut e, "filename", n);
            e.first().map(|e| e.code.clone())
        };
        assert_eq!(check("offer 2026.pdf"), None);
        assert_eq!(check("Übergabe.pdf"), None);
        assert_eq!(check("..").as_deref(), Some("invalid_filename"));
        assert_eq!(check("../etc/passwd").as_deref(), Some("invalid_filename"));
        assert_eq!(check("a\\b.pdf").as_deref(), Some("invalid_filename"));
        assert_eq!(check("a\0.pdf").as_deref(), Some("invalid_character"));
        assert_eq!(check(" ").as_deref(), Some("required"));
        assert_eq!(check(&"x".repeat(256)).as_deref(), Some("too_long"));
    }

    #[test]
    fn media_types_and_the_allow_list() {
        assert_eq!(essence("Application/PDF; charset=binary").as_deref(), Some("application/pdf"));
        assert_eq!(essence("pdf"), None);
        assert_eq!(essence("image/*"), None);
        let list = vec!["application/pdf".to_string(), "image/*".to_string()];
        assert!(allowed(&list, "application/pdf"));
        assert!(allowed(&list, "image/png"));
        assert!(!allowed(&list, "text/html"));
        assert!(!DEFAULT_CONTENT_TYPES.iter().any(|t| t.contains("html") || t.contains("svg")));
        assert!(DEFAULT_CONTENT_TYPES.iter().all(|t| is_media_range(t)));
    }

    #[test]
    fn the_disposition_carries_both_spellings_of_the_name() {
        assert_eq!(
            content_disposition("Überg \"a\".pdf"),
            "attachment; filename=\"_berg _a_.pdf\"; filename*=UTF-8''%C3%9Cberg%20%22a%22.pdf"
        );
    }
}
