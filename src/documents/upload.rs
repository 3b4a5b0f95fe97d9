//! Receiving a document's bytes over HTTP: the raw body (its `Content-Type`, the `filename`
//! query parameter) or a `multipart/form-data` form from a browser. The bytes stream into the
//! document store as they arrive; nothing holds a whole body in memory. Every refusal (too
//! large, wrong type, broken form, a client gone mid-upload) leaves nothing behind.

use super::model::{self, check_filename};
use super::storage::{DocumentStore, Staged, Upload, UploadError};
use crate::error::{ApiError, FieldError};
use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::HttpRequest;
use futures_util::{Stream, StreamExt};

/// The upload limits of the service (from the settings).
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_bytes: u64,
    pub content_types: Vec<String>,
}

/// What a form may say besides the file; also taken from the query.
#[derive(Debug, Default, Clone)]
pub struct Described {
    pub kind: Option<String>,
    pub title: Option<String>,
    pub filename: Option<String>,
}

/// A received file, staged in the store.
pub struct Received {
    pub staged: Staged,
    pub filename: String,
    pub content_type: String,
    /// What the form's text fields said (a raw upload has none).
    pub form: Described,
}

/// Room for a form's boundaries and headers on top of the file itself.
const FORM_OVERHEAD: u64 = 64 * 1024;
/// Longest text field of a form, in bytes.
const MAX_FIELD: usize = 4096;

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        crate::error::Kind::PayloadTooLarge,
        "payload_too_large",
        format!("a document may have at most {limit} bytes (DOCUMENT_MAX_BYTES)"),
    )
}

fn unsupported(detail: String) -> ApiError {
    ApiError::new(crate::error::Kind::UnsupportedMediaType, "unsupported_media_type", detail)
}

fn broken_form(e: actix_multipart::MultipartError) -> ApiError {
    ApiError::bad_request("malformed_multipart", format!("the multipart/form-data body cannot be read: {e}"))
}

/// The media type a file is stored with: the one sent, or for `application/octet-stream` the
/// one its name's extension stands for; 415 unless the allow-list has it.
pub fn media_type(limits: &Limits, sent: Option<&str>, filename: &str) -> Result<String, ApiError> {
    let sent = match sent {
        None => None,
        Some(raw) => Some(model::essence(raw).ok_or_else(|| unsupported(format!("{raw:?} is not a media type")))?),
    };
    let essence = match sent.as_deref() {
        Some("application/octet-stream") | None => mime_guess::from_path(filename)
            .first()
            .map(|m| m.essence_str().to_ascii_lowercase())
            .ok_or_else(|| {
                unsupported(format!(
                    "the media type of {filename:?} is unknown: send it as the Content-Type (of the body, or of the form's file part)"
                ))
            })?,
        Some(e) => e.to_string(),
    };
    if model::allowed(&limits.content_types, &essence) {
        Ok(essence)
    } else {
        Err(unsupported(format!(
            "documents of type {essence} are not accepted; accepted: {} (DOCUMENT_CONTENT_TYPES)",
            limits.content_types.join(", ")
        )))
    }
}

/// Checks a file name; 422 naming `field` when it is not one plain name.
pub fn checked_filename(field: &str, name: &str) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    check_filename(&mut errors, field, name);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Refuses a declared body over the limit before any of it is read.
pub fn check_declared_length(req: &HttpRequest, limits: &Limits) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let overhead = if is_form(req) { FORM_OVERHEAD } else { 0 };
    if declared.is_some_and(|n| n > limits.max_bytes + overhead) {
        return Err(too_large(limits.max_bytes));
    }
    Ok(())
}

fn content_type(req: &HttpRequest) -> Option<&str> {
    req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok())
}

/// Whether the body is a `multipart/form-data` form.
pub fn is_form(req: &HttpRequest) -> bool {
    content_type(req).and_then(model::essence).as_deref() == Some("multipart/form-data")
}

/// Receives the file of a request: a form, or the raw body named by `query.filename`.
pub async fn receive(
    req: &HttpRequest,
    payload: actix_web::web::Payload,
    limits: &Limits,
    store: &DocumentStore,
    query: &Described,
) -> Result<Received, ApiError> {
    check_declared_length(req, limits)?;
    if is_form(req) {
        return receive_form(req, payload, limits, store, query).await;
    }
    let filename = query.filename.clone().ok_or_else(|| {
        ApiError::invalid(
            "filename",
            "required",
            "name the file with the `filename` query parameter, or send a multipart/form-data form",
        )
    })?;
    checked_filename("filename", &filename)?;
    let content_type = media_type(limits, content_type(req), &filename)?;
    let upload = store.begin(limits.max_bytes).await?;
    let broke_off = |e: actix_web::error::PayloadError| {
        ApiError::bad_request("incomplete_body", format!("the upload broke off: {e}"))
    };
    let staged = stream_into(upload, payload, limits, broke_off).await?;
    Ok(Received { staged, filename, content_type, form: Described::default() })
}

/// Streams a body into an upload, then stages it; any failure aborts the upload.
async fn stream_into<S, E>(
    mut upload: Upload,
    mut body: S,
    limits: &Limits,
    broken: fn(E) -> ApiError,
) -> Result<Staged, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    while let Some(chunk) = body.next().await {
        let failed = match chunk {
            Err(e) => Some(broken(e)),
            Ok(bytes) => match upload.write(&bytes).await {
                Ok(()) => None,
                Err(UploadError::TooLarge) => Some(too_large(limits.max_bytes)),
                Err(UploadError::Store(e)) => Some(e),
            },
        };
        if let Some(e) = failed {
            upload.abort().await;
            return Err(e);
        }
    }
    if upload.size() == 0 {
        upload.abort().await;
        return Err(ApiError::invalid("file", "empty", "the file is empty"));
    }
    upload.complete().await
}

async fn receive_form(
    req: &HttpRequest,
    payload: actix_web::web::Payload,
    limits: &Limits,
    store: &DocumentStore,
    query: &Described,
) -> Result<Received, ApiError> {
    let mut form = Multipart::new(req.headers(), payload);
    let mut described = Described::default();
    let mut file: Option<(Staged, String, String)> = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(broken_form)?;
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "file" => {
                if file.is_some() {
                    return Err(ApiError::invalid("file", "duplicate", "send one file per request"));
                }
                let sent_name = field.content_disposition().and_then(|d| d.get_filename()).map(str::to_string);
                let filename = query
                    .filename
                    .clone()
                    .or(sent_name)
                    .ok_or_else(|| ApiError::invalid("file", "required", "the file part carries no filename"))?;
                checked_filename("filename", &filename)?;
                let sent_type = field.content_type().map(|m| m.to_string());
                let content_type = media_type(limits, sent_type.as_deref(), &filename)?;
                let upload = store.begin(limits.max_bytes).await?;
                let staged = stream_into(upload, &mut field, limits, broken_form).await?;
                file = Some((staged, filename, content_type));
            }
            "kind" | "title" | "filename" => {
                let mut text = Vec::new();
                while let Some(chunk) = field.next().await {
                    text.extend_from_slice(&chunk.map_err(broken_form)?);
                    if text.len() > MAX_FIELD {
                        return Err(ApiError::invalid(&name, "too_long", format!("at most {MAX_FIELD} bytes")));
                    }
                }
                let text = String::from_utf8(text)
                    .map_err(|_| ApiError::invalid(&name, "invalid_value", "must be UTF-8 text"))?;
                // Checked as the spec says even where this request does not use the field (a
                // new version keeps its document's kind and title; a query filename wins).
                let max = match name.as_str() {
                    "kind" => model::MAX_KIND,
                    "title" => model::MAX_TITLE,
                    _ => model::MAX_FILENAME,
                };
                if text.chars().count() > max {
                    return Err(ApiError::invalid(&name, "too_long", format!("at most {max} characters")));
                }
                if name == "filename" {
                    checked_filename("filename", &text)?;
                }
                match name.as_str() {
                    "kind" => described.kind = Some(text),
                    "title" => described.title = Some(text),
                    _ => described.filename = Some(text),
                }
            }
            other => {
                return Err(ApiError::validation(vec![FieldError::new(
                    other,
                    "unknown_field",
                    "a document form has the fields file, kind, title and filename",
                )]))
            }
        }
    }
    let Some((staged, mut filename, content_type)) = file else {
        return Err(ApiError::invalid("file", "required", "the form has no `file` part"));
    };
    if let Some(named) = described.filename.clone().filter(|_| query.filename.is_none()) {
        checked_filename("filename", &named)?;
        filename = named;
    }
    Ok(Received { staged, filename, content_type, form: described })
}
