//! Cursor pagination: `?limit=` (default 50, at most 500) and an opaque `?cursor=`.

use super::errors::ApiError;
use super::query::QueryPairs;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use utoipa::ToSchema;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page, in the list's order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// An opaque position in a list: the sort key of the last item handed out.
pub struct Cursor;

impl Cursor {
    pub fn encode(position: &str) -> String {
        URL_SAFE_NO_PAD.encode(position.as_bytes())
    }

    pub fn decode(raw: &str) -> Result<String, ApiError> {
        URL_SAFE_NO_PAD
            .decode(raw.as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            // Positions are ids, numbers, dates and times joined by `|`: anything else (empty,
            // JSON, control characters such as NUL, which PostgreSQL cannot compare with text)
            // was not handed out by this service.
            .filter(|p| is_position(p))
            .ok_or_else(|| ApiError::bad_request("invalid_cursor", "the cursor is not one this service handed out"))
    }
}

/// Whether `p` has the shape of a position this service hands out: 1 to 200 characters of
/// ASCII letters, digits and `-_.:|`.
fn is_position(p: &str) -> bool {
    (1..=200).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:|".contains(&b))
}

/// `limit` and the decoded `cursor` of a list request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<String>,
}

impl PageRequest {
    pub fn take(q: &mut QueryPairs) -> Result<PageRequest, ApiError> {
        let limit = q.take_parsed::<i64>("limit", "an integer from 1 to 500")?.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("query parameter `limit` must be from 1 to {MAX_LIMIT}, got {limit}"),
            ));
        }
        let after = q.take("cursor").map(|c| Cursor::decode(&c)).transpose()?;
        Ok(PageRequest { limit, after })
    }

    /// Builds the page from up to `limit + 1` fetched rows; the extra row only says there is more.
    pub fn page<R, T>(&self, mut rows: Vec<R>, key: impl Fn(&R) -> String, map: impl Fn(R) -> T) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if more { rows.last().map(|r| Cursor::encode(&key(r))) } else { None };
        Page { items: rows.into_iter().map(map).collect(), next_cursor }
    }
}
