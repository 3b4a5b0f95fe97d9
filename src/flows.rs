//! Changes that cross features: where a change in one feature moves others built on it. A
//! lower feature exposes a small set of hooks and knows nothing above it; the functions here
//! fill them in, and `startup` registers them (the scheduler, the integration and the seed
//! take them from here). One place, then, to read what a change sets going beyond its own
//! feature, and in which order.

use crate::attributes::service::AttributeHooks;
use crate::contracts::service::ContractHooks;
use crate::contracts::store::ContractRow;
use crate::db::{Db, DbConnection};
use crate::dossiers::service::DossierHooks;
use crate::error::ApiError;
use crate::events::Ctx;
use crate::tasks::service::TaskHooks;
use chrono::{DateTime, Utc};
use futures_util::future::{FutureExt, LocalBoxFuture};

/// A contract change moves the coverage of the installations it covers (type, term) and marks
/// its obligations due when what task generation reads of it changed (term, status); after
/// the commit the handler generates their tasks. A coverage change marks the covering
/// contract's obligations due the same way. Deleting a contract waits until its obligations
/// and coverage are gone.
pub fn contract_hooks() -> ContractHooks {
    ContractHooks { changed: contracts_changed, coverage_changed, held_by: contract_held_by, settle: settle_contracts }
}

fn contracts_changed(
    conn: &mut DbConnection,
    ctx: &Ctx,
    changes: &[(&ContractRow, &ContractRow)],
) -> Result<(), ApiError> {
    crate::installations::service::follow_contracts(conn, ctx, changes)?;
    let generation_reads = |c: &ContractRow| (c.start_date, c.end_date, c.terminated_on, c.status);
    let moved: Vec<&ContractRow> = changes
        .iter()
        .filter(|(old, new)| generation_reads(old) != generation_reads(new))
        .map(|(_, new)| *new)
        .collect();
    coverage_changed(conn, ctx, &moved)
}

fn coverage_changed(conn: &mut DbConnection, ctx: &Ctx, contracts: &[&ContractRow]) -> Result<(), ApiError> {
    if contracts.is_empty() {
        return Ok(());
    }
    crate::obligations::service::follow_contracts(conn, ctx, contracts)
}

fn contract_held_by(conn: &mut DbConnection, id: &str) -> Result<Option<ApiError>, ApiError> {
    if crate::obligations::store::contract_has_obligations(conn, id)? {
        return Ok(Some(ApiError::conflict("has_obligations", "the contract has obligations; delete them first")));
    }
    if crate::installations::store::contract_has_coverage(conn, id)? {
        return Ok(Some(ApiError::conflict(
            "has_coverage",
            "the contract covers installations; remove the coverage first",
        )));
    }
    Ok(None)
}

fn settle_contracts(db: Db, actor: String, now: DateTime<Utc>, ids: Vec<String>) -> LocalBoxFuture<'static, ()> {
    async move { crate::obligations::generation::follow_up(&db, &actor, now, ids).await }.boxed_local()
}

/// A new dossier attribute definition must agree with the dossier types' schemas.
pub fn attribute_hooks() -> AttributeHooks {
    AttributeHooks { dossier_schema_keys: crate::dossiers::service::schema_key_types }
}

/// Completing or skipping a workflow step's task advances its workflow.
pub fn task_hooks() -> TaskHooks {
    TaskHooks { step_done: crate::workflows::service::step_done }
}

/// Dossiers ask workflows whether one is defined and whether any runs on a dossier, and a
/// firing rule starts one in the transaction that records the firing.
pub fn dossier_hooks() -> DossierHooks {
    DossierHooks {
        workflow_exists: |conn, key| Ok(crate::workflows::store::by_key(conn, key)?.is_some()),
        workflows_running: crate::workflows::store::running_on_dossier,
        start_workflow: |conn, ctx, dossier, key, responsible, rule_key| {
            Ok(crate::workflows::service::start(conn, ctx, dossier, key, responsible, rule_key)?.id)
        },
    }
}
