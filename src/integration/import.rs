//! Applying the lines of an NDJSON import, one write transaction per batch of lines. Each line
//! is applied on its own: a bad line is reported and never loses the others.
//!
//! Most lines of a real import create a contract that is new and touches nothing else. A run of
//! such lines is checked and written at once (`contracts::service::create_many`), which is what
//! makes a large import fast; every other line (an update, a document with children, covered
//! installations or obligations, a reference named twice in the batch) is applied alone in a
//! savepoint, in line order, as a `PUT` by external reference would apply it.

use super::input::{check_ref, ContractDocument, InstallationDocument};
use super::model::{Line, LineOutcome, LineReport};
use super::service;
use crate::contracts::{service as contracts, store as contract_store};
use crate::db::{Db, DbConnection};
use crate::error::{ApiError, Transient};
use crate::events::Ctx;
use chrono::{DateTime, Utc};
use diesel::Connection;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// What an import line is.
#[derive(Clone, Copy)]
pub enum Kind {
    Contracts,
    Installations,
}

/// The end of a batch's inner transaction: a dry run rolls back on purpose.
enum BatchEnd {
    DryRun,
    Db(diesel::result::Error),
    /// A line gave way to a concurrent write (a deadlock, a row changed meanwhile): the whole
    /// batch runs again rather than report the line failed.
    Again(ApiError),
}

impl From<ApiError> for BatchEnd {
    fn from(e: ApiError) -> BatchEnd {
        BatchEnd::Again(e)
    }
}

impl From<diesel::result::Error> for BatchEnd {
    fn from(e: diesel::result::Error) -> BatchEnd {
        BatchEnd::Db(e)
    }
}

fn failed(line: usize, external_ref: Option<String>, e: ApiError) -> LineReport {
    LineReport { line, external_ref, outcome: LineOutcome::Failed, id: None, problem: Some(e.problem()) }
}

/// A line whose JSON was read and whose external reference is usable.
struct Read {
    line: usize,
    external_ref: String,
    value: Value,
}

/// Reads a line's JSON and its external reference, or reports why it cannot be applied.
fn read(line: Line) -> Result<Read, Box<LineReport>> {
    let (line, bytes) = match line {
        Line::TooLong(n) => {
            let e =
                ApiError::new(crate::error::Kind::PayloadTooLarge, "line_too_large", "the line exceeds the body limit");
            return Err(Box::new(failed(n, None, e)));
        }
        Line::Text(n, bytes) => (n, bytes),
    };
    let value = crate::http::json::parse::<Value>(&bytes).map_err(|e| Box::new(failed(line, None, e)))?;
    let Some(external_ref) = value.get("external_ref").and_then(Value::as_str).map(str::to_string) else {
        let e = ApiError::invalid("external_ref", "required", "every line needs its external_ref");
        return Err(Box::new(failed(line, None, e)));
    };
    check_ref(&external_ref).map_err(|e| Box::new(failed(line, Some(external_ref.clone()), e)))?;
    Ok(Read { line, external_ref, value })
}

/// Applies one line in a savepoint of its own, so a bad line undoes only itself. A failure
/// that running the batch again would cure ([`Transient`]) is no fault of the line: it ends the
/// batch instead (`Err`).
fn apply_alone(c: &mut DbConnection, ctx: &Ctx, kind: Kind, r: Read, pattern: &str) -> Result<LineReport, ApiError> {
    let Read { line, external_ref: ext, value } = r;
    let result = c.transaction::<_, ApiError, _>(|c| match kind {
        Kind::Contracts => {
            let doc: ContractDocument = crate::http::json::parse(value.to_string().as_bytes())?;
            service::with_outcome(c, |c| service::put_contract(c, ctx, &ext, doc, pattern)).map(|(r, o)| (r.id, o))
        }
        Kind::Installations => {
            let doc: InstallationDocument = crate::http::json::parse(value.to_string().as_bytes())?;
            service::with_outcome(c, |c| service::put_installation(c, ctx, &ext, doc)).map(|(r, o)| (r.id, o))
        }
    });
    match result {
        Ok((id, outcome)) => {
            Ok(LineReport { line, external_ref: Some(ext), outcome: outcome.into(), id: Some(id), problem: None })
        }
        Err(e) if e.is_transient() => Err(e),
        Err(e) => Ok(failed(line, Some(ext), e)),
    }
}

/// Creates a run of new, header-only contract lines at once, in a savepoint. Should the run
/// fail as a whole, its lines are applied one by one instead, each with its own outcome.
fn create_run(
    c: &mut DbConnection,
    ctx: &Ctx,
    run: Vec<(Read, ContractDocument)>,
    pattern: &str,
) -> Result<Vec<LineReport>, ApiError> {
    if run.is_empty() {
        return Ok(Vec::new());
    }
    let mut reads = Vec::with_capacity(run.len());
    let mut inputs = Vec::with_capacity(run.len());
    for (r, doc) in run {
        inputs.push(super::document::new_contract(doc, &r.external_ref, None));
        reads.push(r);
    }
    match c.transaction(|c| contracts::create_many(c, ctx, inputs, pattern)) {
        Ok(results) => Ok(reads
            .into_iter()
            .zip(results)
            .map(|(r, result)| match result {
                Ok(row) => LineReport {
                    line: r.line,
                    external_ref: Some(r.external_ref),
                    outcome: LineOutcome::Created,
                    id: Some(row.id),
                    problem: None,
                },
                Err(e) => failed(r.line, Some(r.external_ref), e),
            })
            .collect()),
        Err(e) if e.is_transient() => Err(e),
        Err(e) => {
            tracing::warn!(lines = reads.len(), error = %e, "a run of new contracts failed as a whole; applying its lines one by one");
            reads.into_iter().map(|r| apply_alone(c, ctx, Kind::Contracts, r, pattern)).collect()
        }
    }
}

/// Applies a batch of contract lines: runs of new header-only contracts at once, every other
/// line alone, in line order.
fn apply_contract_lines(
    c: &mut DbConnection,
    ctx: &Ctx,
    batch: Vec<Line>,
    pattern: &str,
) -> Result<Vec<LineReport>, BatchEnd> {
    let mut reports = Vec::with_capacity(batch.len());
    let mut lines = Vec::with_capacity(batch.len());
    for line in batch {
        match read(line) {
            Err(report) => reports.push(*report),
            Ok(r) => {
                let doc = crate::http::json::parse::<ContractDocument>(r.value.to_string().as_bytes()).ok();
                lines.push((r, doc));
            }
        }
    }
    // A reference named more than once in the batch (twice at the top, or also as a child) is
    // applied in line order, alone: the later line sees what the earlier one did.
    let mut named: HashMap<&str, usize> = HashMap::new();
    for (r, doc) in &lines {
        let mut refs = vec![r.external_ref.as_str()];
        if let Some(doc) = doc {
            doc.children.iter().flatten().for_each(|child| service::external_refs(child, &mut refs));
        }
        for r in refs {
            *named.entry(r).or_default() += 1;
        }
    }
    let candidate = |r: &Read, doc: &Option<ContractDocument>| {
        doc.as_ref().is_some_and(service::is_header_only) && named.get(r.external_ref.as_str()) == Some(&1)
    };
    let refs: Vec<String> =
        lines.iter().filter(|(r, doc)| candidate(r, doc)).map(|(r, _)| r.external_ref.clone()).collect();
    let stored: HashSet<String> = contract_store::ids_by(c, contract_store::UniqueKey::ExternalRef, &refs)?
        .into_iter()
        .map(|(external_ref, _)| external_ref)
        .collect();
    let fast: Vec<bool> = lines.iter().map(|(r, doc)| candidate(r, doc) && !stored.contains(&r.external_ref)).collect();
    let mut run = Vec::new();
    for ((r, doc), fast) in lines.into_iter().zip(fast) {
        match doc {
            Some(doc) if fast => run.push((r, doc)),
            _ => {
                reports.extend(create_run(c, ctx, std::mem::take(&mut run), pattern)?);
                reports.push(apply_alone(c, ctx, Kind::Contracts, r, pattern)?);
            }
        }
    }
    reports.extend(create_run(c, ctx, run, pattern)?);
    reports.sort_by_key(|r| r.line);
    Ok(reports)
}

/// Applies a batch of lines in one write transaction (rolled back in a dry run) and reports
/// each line's outcome in line order.
pub async fn apply_batch(
    db: &Db,
    actor: &str,
    now: DateTime<Utc>,
    kind: Kind,
    batch: Vec<Line>,
    dry_run: bool,
    pattern: &str,
) -> Result<Vec<LineReport>, ApiError> {
    let (actor, pattern) = (actor.to_string(), pattern.to_string());
    let writer = actor.clone();
    let reports = db
        .write(move |c| {
            let ctx = Ctx { actor: &writer, now };
            let mut reports = Vec::new();
            let end = c.transaction::<(), BatchEnd, _>(|c| {
                reports = match kind {
                    Kind::Contracts => apply_contract_lines(c, &ctx, batch, &pattern)?,
                    Kind::Installations => batch
                        .into_iter()
                        .map(|line| match read(line) {
                            Ok(r) => apply_alone(c, &ctx, kind, r, &pattern),
                            Err(report) => Ok(*report),
                        })
                        .collect::<Result<_, _>>()?,
                };
                if dry_run {
                    Err(BatchEnd::DryRun)
                } else {
                    Ok(())
                }
            });
            match end {
                Ok(()) | Err(BatchEnd::DryRun) => Ok(reports),
                Err(BatchEnd::Db(e)) => Err(ApiError::from(e)),
                Err(BatchEnd::Again(e)) => Err(e),
            }
        })
        .await?;
    if matches!(kind, Kind::Contracts) && !dry_run {
        let changed: Vec<String> = reports
            .iter()
            .filter(|r| matches!(r.outcome, LineOutcome::Created | LineOutcome::Updated))
            .filter_map(|r| r.id.clone())
            .collect();
        if !changed.is_empty() {
            crate::obligations::generation::follow_up_trees(db, &actor, now, changed).await;
        }
    }
    Ok(reports)
}
