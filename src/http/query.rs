//! Query-string parsing with clear 400s: every parameter is checked, unknown ones are refused.

use super::errors::ApiError;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// The query string of a request as name → value, parsed once and taken field by field.
#[derive(Debug, Default)]
pub struct QueryPairs {
    pairs: BTreeMap<String, String>,
}

impl QueryPairs {
    /// Parses a raw query string; a repeated parameter is a 400.
    pub fn parse(raw: &str) -> Result<QueryPairs, ApiError> {
        let list: Vec<(String, String)> = serde_urlencoded::from_str(raw)
            .map_err(|e| ApiError::bad_request("invalid_query", format!("the query string cannot be parsed: {e}")))?;
        let mut pairs = BTreeMap::new();
        for (k, v) in list {
            // Generated clients send object parameters as deep objects (`attr[region]=north`);
            // they mean the same as the dotted form `attr.region=north`.
            let k = match k.strip_prefix("attr[").and_then(|rest| rest.strip_suffix(']')) {
                Some(inner) if !inner.contains(['[', ']']) => format!("attr.{inner}"),
                _ => k,
            };
            if k.contains('\0') || v.contains('\0') {
                return Err(ApiError::bad_request("invalid_character", "the query must not contain NUL characters"));
            }
            if pairs.insert(k.clone(), v).is_some() {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("query parameter `{k}` is given more than once"),
                ));
            }
        }
        Ok(QueryPairs { pairs })
    }

    pub fn from_request(req: &actix_web::HttpRequest) -> Result<QueryPairs, ApiError> {
        QueryPairs::parse(req.query_string())
    }

    /// Removes and returns a parameter. An empty value is a value: typed parameters refuse it.
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.pairs.remove(name)
    }

    pub fn take_parsed<T: std::str::FromStr>(&mut self, name: &str, what: &str) -> Result<Option<T>, ApiError> {
        match self.take(name) {
            None => Ok(None),
            Some(raw) => raw.parse().map(Some).map_err(|_| {
                ApiError::bad_request("invalid_query", format!("query parameter `{name}` must be {what}, got {raw:?}"))
            }),
        }
    }

    pub fn take_date(&mut self, name: &str) -> Result<Option<NaiveDate>, ApiError> {
        match self.take(name) {
            None => Ok(None),
            Some(raw) => NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
                .ok()
                .filter(|d| (1..=9999).contains(&chrono::Datelike::year(d)))
                .map(Some)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_query",
                        format!("query parameter `{name}` must be a date YYYY-MM-DD, got {raw:?}"),
                    )
                }),
        }
    }

    /// A comma-separated list of names, each checked by `parse` and kept in its canonical
    /// spelling; empty when the parameter is absent. `allowed` lists the names for the error.
    pub fn take_names<T>(
        &mut self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
        canonical: impl Fn(&T) -> &'static str,
        allowed: &str,
    ) -> Result<Vec<String>, ApiError> {
        let Some(raw) = self.take(name) else { return Ok(Vec::new()) };
        raw.split(',')
            .map(|p| {
                parse(p.trim()).map(|v| canonical(&v).to_string()).ok_or_else(|| {
                    ApiError::bad_request("invalid_query", format!("{name} {p:?} is not one of {allowed}"))
                })
            })
            .collect()
    }

    pub fn take_bool(&mut self, name: &str) -> Result<Option<bool>, ApiError> {
        self.take_parsed(name, "true or false")
    }

    /// Removes every parameter whose name starts with `prefix`, returning (rest of name, value).
    pub fn take_prefixed(&mut self, prefix: &str) -> Vec<(String, String)> {
        let keys: Vec<String> = self.pairs.keys().filter(|k| k.starts_with(prefix)).cloned().collect();
        keys.into_iter()
            .filter_map(|k| {
                let v = self.pairs.remove(&k)?;
                Some((k[prefix.len()..].to_string(), v))
            })
            .collect()
    }

    /// Fails on any parameter nobody took, so that a typo is not silently ignored.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.pairs.keys().next() {
            None => Ok(()),
            Some(k) => {
                Err(ApiError::bad_request("unknown_parameter", format!("query parameter `{k}` is not supported here")))
            }
        }
    }
}
