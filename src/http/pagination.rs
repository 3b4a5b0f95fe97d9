//! Cursor pagination: `?limit=` (default 50, at most 500) and an opaque `?cursor=`.

use super::errors::ApiError;
use super::query::QueryPairs;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use utoipa::ToSchema;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// About how many bytes of items one page of a list with free-form JSON (posted events, rule
/// firings, histories, the change feed) carries at most; the page ends early, with a cursor,
/// rather than grow past it. One item is always sent, however large.
pub const PAGE_BYTES: usize = 1024 * 1024;

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

    /// Like [`PageRequest::page`], and the page also ends before its items would pass `budget`
    /// bytes of JSON (it holds at least one item).
    pub fn page_within<R, T: Serialize>(
        &self,
        rows: Vec<R>,
        budget: usize,
        key: impl Fn(&R) -> String,
        map: impl Fn(R) -> T,
    ) -> Page<T> {
        let fetched = rows.len();
        let (items, last) = within_budget(rows.into_iter().take(self.limit as usize), budget, key, map);
        let next_cursor = if fetched > items.len() { last.map(|k| Cursor::encode(&k)) } else { None };
        Page { items, next_cursor }
    }

    /// Builds the page from up to `limit + 1` fetched rows; the extra row only says there is more.
    pub fn page<R, T>(&self, mut rows: Vec<R>, key: impl Fn(&R) -> String, map: impl Fn(R) -> T) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if more { rows.last().map(|r| Cursor::encode(&key(r))) } else { None };
        Page { items: rows.into_iter().map(map).collect(), next_cursor }
    }
}

/// Maps rows to items while their JSON stays within `budget` bytes (always at least one);
/// returns the items and the key of the last row taken.
pub fn within_budget<R, T: Serialize>(
    rows: impl IntoIterator<Item = R>,
    budget: usize,
    key: impl Fn(&R) -> String,
    map: impl Fn(R) -> T,
) -> (Vec<T>, Option<String>) {
    let (mut items, mut used, mut last) = (Vec::new(), 0usize, None);
    for row in rows {
        let k = key(&row);
        let item = map(row);
        let size = json_len(&item);
        if !items.is_empty() && used + size > budget {
            break;
        }
        used += size;
        items.push(item);
        last = Some(k);
    }
    (items, last)
}

/// The length of `value` as JSON, without keeping the text.
fn json_len<T: Serialize>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_ends_before_its_byte_budget_and_always_holds_one_item() {
        let page = PageRequest { limit: 10, after: None };
        let rows: Vec<usize> = (0..5).collect();
        // Each item is "xxxx…" of 98 characters: 100 bytes as JSON.
        let item = |_: usize| "x".repeat(98);
        let p = page.page_within(rows.clone(), 250, |r| r.to_string(), item);
        assert_eq!((p.items.len(), p.next_cursor.as_deref()), (2, Some(Cursor::encode("1").as_str())));
        let p = page.page_within(rows.clone(), 50, |r| r.to_string(), item);
        assert_eq!(p.items.len(), 1, "one item even over the budget");
        assert!(p.next_cursor.is_some());
        let p = page.page_within(rows.clone(), 10_000, |r| r.to_string(), item);
        assert_eq!((p.items.len(), p.next_cursor), (5, None));
        let short = PageRequest { limit: 3, after: None };
        let p = short.page_within(rows, 10_000, |r| r.to_string(), item);
        assert_eq!((p.items.len(), p.next_cursor.as_deref()), (3, Some(Cursor::encode("2").as_str())));
    }
}
