//! `pactum seed`: fills a database with realistic, reproducible data for benchmarks. At scale
//! 1: 1,000,000 contracts in framework/call-off hierarchies with a region attribute,
//! 1,000,000 installations each covered by a call-off, 100,000 weekly obligations with
//! 10,000,000 tasks around today, 200,000 service calls, and 1,000,000 dossiers: mortgages
//! whose address change starts a relocation workflow, and pensions whose retirement date rule
//! waits in a date trigger. The workflows and dossier types are made through their services;
//! the bulk rows carry no history events. Rows are generated in chunks and written with COPY on PostgreSQL.

pub mod generate;
pub mod store;

use crate::attributes::store::DefinitionRow;
use crate::db::Db;
use crate::error::ApiError;
use generate::{Plan, TASKS_PER_OBLIGATION};
use std::time::Instant;

/// Rows generated and written per transaction.
const CHUNK: usize = 20_000;

/// What a seed run wrote and how long each table took.
#[derive(Debug, Default)]
pub struct SeedReport {
    pub tables: Vec<(&'static str, usize, f64)>,
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (table, rows, secs) in &self.tables {
            writeln!(f, "{table:<18} {rows:>10} rows {secs:>8.1} s {:>10.0} rows/s", *rows as f64 / secs.max(1e-9))?;
        }
        Ok(())
    }
}

/// The sizes at `scale` (1.0 = the full set).
pub fn plan(seed: u64, scale: f64, today: chrono::NaiveDate) -> Plan {
    let n = |full: f64| ((full * scale).round() as usize).max(1);
    Plan {
        seed,
        today,
        contracts: n(1_000_000.0).max(generate::GROUP),
        installations: n(1_000_000.0),
        obligations: n(100_000.0),
        service_calls: n(200_000.0),
        dossiers: n(1_000_000.0),
    }
}

/// Defines the relocation and retirement workflows and the mortgage and pension dossier types
/// through their services, as an administrator would.
fn dossier_model(
    c: &mut crate::db::DbConnection,
    ctx: &crate::events::Ctx,
) -> Result<generate::DossierTypes, ApiError> {
    use serde_json::json;
    fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, ApiError> {
        serde_json::from_value(v).map_err(ApiError::internal)
    }
    crate::workflows::service::create(
        c,
        ctx,
        parse(json!({"key": "relocation", "name": "Relocation", "steps": [
            {"key": "contact", "name": "Contact the customer", "due_in": "P5D"},
            {"key": "check_collateral", "name": "Check the new collateral", "due_in": "P1M"}
        ]}))?,
    )?;
    crate::workflows::service::create(
        c,
        ctx,
        parse(json!({"key": "retirement", "name": "Retirement", "steps": [
            {"key": "inform", "name": "Inform the participant", "due_in": "P14D"},
            {"key": "pay_out", "name": "Start the pension payments", "assignee": {"role": "payments"}}
        ]}))?,
    )?;
    let (mortgage, _) = crate::dossiers::service::create_type(
        c,
        ctx,
        parse(json!({
            "key": "mortgage", "name": "Mortgage", "default_owner": {"role": "mortgage-desk"},
            "attributes": [
                {"key": "address", "label": "Address", "data_type": "text", "required": true},
                {"key": "loan_amount", "label": "Loan", "data_type": "integer"}
            ],
            "rules": [{"key": "relocation_on_move", "trigger": {"kind": "attribute_changed", "attribute": "address"},
                       "workflow": "relocation", "responsible": {"role": "mortgage-desk"}}]
        }))?,
        &crate::flows::dossier_hooks(),
    )?;
    let (pension, _) = crate::dossiers::service::create_type(
        c,
        ctx,
        parse(json!({
            "key": "pension", "name": "Pension", "default_owner": {"role": "pension-desk"},
            "attributes": [{"key": "birth_date", "label": "Date of birth", "data_type": "date", "required": true}],
            "rules": [{"key": "retirement_age",
                       "trigger": {"kind": "date_reached", "attribute": "birth_date", "offset": generate::RETIREMENT_AGE},
                       "workflow": "retirement", "responsible": {"role": "pension-desk"}}]
        }))?,
        &crate::flows::dossier_hooks(),
    )?;
    Ok(generate::DossierTypes { mortgage: mortgage.id, pension: pension.id })
}

/// Writes `total` rows made by `make(range)` in chunks, one transaction each.
fn chunked(
    db: &Db,
    report: &mut SeedReport,
    table: &'static str,
    total: usize,
    write: impl Fn(&mut crate::db::DbConnection, std::ops::Range<usize>) -> diesel::QueryResult<usize>,
) -> Result<(), ApiError> {
    let started = Instant::now();
    let mut rows = 0;
    for from in (0..total).step_by(CHUNK) {
        let range = from..(from + CHUNK).min(total);
        rows += db.write_blocking(|c| write(c, range.clone()).map_err(ApiError::from))?;
        tracing::info!(table, rows, "seeding");
    }
    report.tables.push((table, rows, started.elapsed().as_secs_f64()));
    Ok(())
}

/// Fills an empty database according to `plan`.
pub fn run(db: &Db, plan: &Plan) -> Result<SeedReport, ApiError> {
    if db.read_blocking(|c| store::has_contracts(c).map_err(ApiError::from))? {
        return Err(ApiError::conflict("not_empty", "the database already holds contracts; seed an empty database"));
    }
    let mut report = SeedReport::default();
    let now = plan.today.and_hms_opt(6, 0, 0).unwrap_or_default();
    db.write_blocking(|c| {
        let region = DefinitionRow {
            id: uuid::Uuid::now_v7().to_string(),
            entity_kind: crate::attributes::model::EntityKind::Contract,
            scope: String::new(),
            key: "region".into(),
            label: "Sales region".into(),
            data_type: crate::attributes::model::DataType::Enum,
            required: false,
            options: Some(crate::db::column::Json::new(["north", "east", "south", "west"].map(String::from).to_vec())),
            description: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        store::definition(c, &region)?;
        crate::contracts::store::NUMBERS.set_taken(c, plan.contracts as i64)?;
        crate::service_calls::store::NUMBERS.set_taken(c, plan.service_calls as i64).map_err(ApiError::from)
    })?;
    chunked(db, &mut report, "contracts", plan.contracts, |c, range| {
        let rows: Vec<_> = range.map(|i| plan.contract(i)).collect();
        let values: Vec<_> = rows
            .iter()
            .map(|r| crate::attributes::store::AttributeValueRow {
                entity_kind: crate::attributes::model::EntityKind::Contract,
                entity_id: r.id.clone(),
                key: "region".into(),
                value_text: Some(Plan::region(r)),
                value_num: None,
            })
            .collect();
        crate::attributes::store::insert_values(c, &values)?;
        crate::contracts::store::insert_many(c, &rows)
    })?;
    chunked(db, &mut report, "installations", plan.installations, |c, range| {
        let rows: Vec<_> = range.map(|i| plan.installation(i)).collect();
        store::installations(c, &rows)
    })?;
    chunked(db, &mut report, "coverages", plan.installations, |c, range| {
        let rows: Vec<_> = range.map(|i| plan.coverage(i, &plan.contract(plan.call_off(i)))).collect();
        store::coverages(c, &rows)
    })?;
    chunked(db, &mut report, "obligations", plan.obligations, |c, range| {
        let rows: Vec<_> = range.map(|j| plan.obligation(j)).collect();
        store::obligations(c, &rows)
    })?;
    chunked(db, &mut report, "tasks", plan.obligations * TASKS_PER_OBLIGATION, |c, range| {
        // Consecutive tasks share their obligation: build it once per obligation, not per task.
        let mut current: Option<(usize, crate::obligations::store::ObligationRow)> = None;
        let rows: Vec<_> = range
            .map(|index| {
                let j = index / TASKS_PER_OBLIGATION;
                if current.as_ref().is_none_or(|(k, _)| *k != j) {
                    current = Some((j, plan.obligation(j)));
                }
                let (_, o) = current.as_ref().expect("set above");
                plan.task(o, j, index % TASKS_PER_OBLIGATION)
            })
            .collect();
        store::tasks(c, &rows)
    })?;
    chunked(db, &mut report, "service_calls", plan.service_calls, |c, range| {
        let rows: Vec<_> = range.map(|k| plan.service_call(k)).collect();
        store::service_calls(c, &rows)
    })?;
    let types = db.write_blocking(|c| dossier_model(c, &crate::events::Ctx { actor: "seed", now: now.and_utc() }))?;
    chunked(db, &mut report, "dossiers", plan.dossiers, |c, range| {
        let seeded: Vec<_> = range.map(|i| plan.dossier(i, &types)).collect();
        let rows: Vec<_> = seeded.iter().map(|d| d.row.clone()).collect();
        let values: Vec<_> = seeded.iter().flat_map(|d| d.values.iter().cloned()).collect();
        let triggers: Vec<_> = seeded.iter().filter_map(|d| d.trigger.clone()).collect();
        let n = store::dossiers(c, &rows)?;
        crate::attributes::store::insert_values(c, &values)?;
        store::date_triggers(c, &triggers)?;
        Ok(n)
    })?;
    let started = Instant::now();
    db.write_blocking(|c| store::analyze(c).map_err(ApiError::from))?;
    report.tables.push(("analyze", 0, started.elapsed().as_secs_f64()));
    Ok(report)
}
