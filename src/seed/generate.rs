//! Realistic rows for `pactum seed`, each a pure function of the seed and its index, so a run
//! is reproducible and any row can be rebuilt where another table refers to it (the contract
//! covering an installation, the obligation behind a task).

use crate::contracts::model::{renewals_due, Period, Status as ContractStatus, Term};
use crate::contracts::service_level::{Priority, ServiceLevel, Times};
use crate::contracts::store::ContractRow;
use crate::dossiers::store::{DossierRow, TriggerRow};
use crate::installations::store::{CoverageRow, InstallationRow};
use crate::obligations::store::ObligationRow;
use crate::service_calls::model::{Deadlines, Status as CallStatus};
use crate::service_calls::store::ServiceCallRow;
use crate::tasks::model::Status as TaskStatus;
use crate::tasks::store::TaskRow;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Contracts per hierarchy group: one framework agreement and its call-offs.
pub const GROUP: usize = 10;
/// Weekly occurrences per obligation: 50 weeks back and 50 ahead.
pub const TASKS_PER_OBLIGATION: usize = 100;
const REGIONS: [&str; 4] = ["north", "east", "south", "west"];
const TYPES: [&str; 4] = ["lift", "boiler", "press", "chiller"];
const CITIES: [&str; 6] = ["Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Groningen", "Maastricht"];

/// Everything a generator needs: the seed, the sizes and the day the data is current on.
#[derive(Clone, Debug)]
pub struct Plan {
    pub seed: u64,
    pub today: NaiveDate,
    pub contracts: usize,
    pub installations: usize,
    pub obligations: usize,
    pub service_calls: usize,
    pub dossiers: usize,
}

/// Table tags keep the ids and random streams of different tables apart.
#[derive(Clone, Copy)]
pub enum Table {
    Contract = 1,
    Installation = 2,
    Coverage = 3,
    Obligation = 4,
    Task = 5,
    ServiceCall = 6,
    Dossier = 7,
}

impl Plan {
    fn rng(&self, table: Table, i: usize) -> StdRng {
        StdRng::seed_from_u64(self.seed ^ ((table as u64) << 56) ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// A UUIDv7-shaped id: the time part counts up with the index, so ids keep creation order.
    pub fn id(&self, table: Table, i: usize) -> String {
        let mut random = [0u8; 10];
        self.rng(table, i).fill(&mut random);
        let millis = 1_767_225_600_000u64 + (table as u64) * 10_000_000_000 + i as u64;
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid().to_string()
    }

    fn now(&self) -> NaiveDateTime {
        self.today.and_hms_opt(6, 0, 0).unwrap_or_default()
    }

    fn customer(&self, contract: usize) -> String {
        format!("CUST-{:06}", (contract / GROUP) % (self.contracts / (2 * GROUP)).max(1))
    }

    /// The call-off a covered installation (or an obligation) belongs to.
    pub fn call_off(&self, i: usize) -> usize {
        let c = i % self.contracts.max(1);
        if c.is_multiple_of(GROUP) && c + 1 < self.contracts {
            c + 1
        } else {
            c
        }
    }

    pub fn contract(&self, i: usize) -> ContractRow {
        let mut rng = self.rng(Table::Contract, i);
        let framework = i.is_multiple_of(GROUP);
        let start = NaiveDate::from_ymd_opt(2022, 1, 1).unwrap_or_default() + Duration::days(rng.random_range(0..1460));
        let term: u32 = [12, 24, 36, 60][rng.random_range(0..4)];
        let auto_renew = framework || rng.random_bool(0.7);
        let renewals = if auto_renew { renewals_due(start, term, 12, self.today) } else { 0 };
        let total = term + renewals * 12;
        let notice = "P3M";
        let t = Term { start, total_months: Some(total), terminated_on: None, notice: Period::parse(notice).ok() };
        let end = t.end_date();
        let mut status = if framework {
            ContractStatus::Active
        } else {
            match rng.random_range(0..100) {
                0..=4 => ContractStatus::Draft,
                5..=9 => ContractStatus::Suspended,
                _ => ContractStatus::Active,
            }
        };
        // As the daily scheduler would have left them: past their end, in force ones expired.
        if end.is_some_and(|e| e < self.today) && matches!(status, ContractStatus::Active | ContractStatus::Suspended) {
            status = ContractStatus::Expired;
        }
        let region = REGIONS[rng.random_range(0..REGIONS.len())];
        let number = format!("S-{:08}", i + 1);
        let title = if framework { format!("Framework {}", self.customer(i)) } else { format!("Maintenance #{i}") };
        let service_level = framework.then(|| crate::db::column::Json::new(gold()));
        ContractRow {
            id: self.id(Table::Contract, i),
            search_text: crate::contracts::service::search_text(&number, &title),
            number,
            title,
            contract_type: if framework { "framework" } else { "maintenance" }.into(),
            customer_ref: self.customer(i),
            customer_name: None,
            status,
            start_date: start,
            term_months: Some(term as i32),
            total_term_months: Some(total as i32),
            end_date: end,
            auto_renew,
            renewal_term_months: Some(12),
            notice_period: Some(notice.into()),
            notice_deadline: t.notice_deadline(),
            signed_at: Some(start.and_hms_opt(12, 0, 0).unwrap_or_default() - Duration::days(14)),
            terminated_on: None,
            termination_reason: None,
            external_ref: Some(format!("SEED-C-{i}")),
            parent_id: (!framework).then(|| self.id(Table::Contract, i - i % GROUP)),
            attributes: crate::db::column::Json::new(
                serde_json::json!({ "region": region }).as_object().cloned().unwrap_or_default(),
            ),
            version: 1,
            created_at: self.now(),
            updated_at: self.now(),
            service_level,
            // Framework agreements are the contract desk's; their call-offs inherit it.
            owner_kind: framework.then_some(crate::tasks::model::AssigneeKind::Role),
            owner_name: framework.then(|| "contract-desk".into()),
            effective_owner_kind: Some(crate::tasks::model::AssigneeKind::Role),
            effective_owner_name: Some("contract-desk".into()),
            reminders: None,
        }
    }

    /// The region attribute of contract `i` (the same draw as in [`Plan::contract`]).
    pub fn region(row: &ContractRow) -> String {
        row.attributes.get("region").and_then(|v| v.as_str()).map(str::to_string).unwrap_or_default()
    }

    pub fn installation(&self, i: usize) -> InstallationRow {
        let mut rng = self.rng(Table::Installation, i);
        let contract = self.call_off(i);
        let serial = format!("SN-{:08}", i + 1);
        let kind = TYPES[rng.random_range(0..TYPES.len())];
        let city = CITIES[rng.random_range(0..CITIES.len())];
        let mut row = InstallationRow {
            id: self.id(Table::Installation, i),
            serial_number: serial.clone(),
            name: format!("{kind} {serial}"),
            search_text: String::new(),
            installation_type: kind.into(),
            customer_ref: self.customer(contract),
            location: crate::db::column::Json::new(crate::installations::model::Location {
                city: Some(city.into()),
                country: Some("NL".into()),
                ..Default::default()
            }),
            installed_at: Some(self.today - Duration::days(rng.random_range(30..3650))),
            status: crate::installations::model::Status::Active,
            parent_id: None,
            external_ref: Some(format!("SEED-I-{i}")),
            attributes: Default::default(),
            version: 1,
            created_at: self.now(),
            updated_at: self.now(),
        };
        row.search_text = crate::installations::service::search_text(&row);
        row
    }

    pub fn coverage(&self, i: usize, contract: &ContractRow) -> CoverageRow {
        CoverageRow {
            id: self.id(Table::Coverage, i),
            contract_id: contract.id.clone(),
            installation_id: self.id(Table::Installation, i),
            valid_from: contract.start_date,
            valid_to: contract.end_date,
            version: 1,
            created_at: self.now(),
            updated_at: self.now(),
            contract_type: contract.contract_type.clone(),
        }
    }

    fn anchor(&self) -> NaiveDate {
        self.today - Duration::weeks((TASKS_PER_OBLIGATION / 2) as i64)
    }

    pub fn obligation(&self, j: usize) -> ObligationRow {
        let contract = self.call_off(j * GROUP + 1 + j % (GROUP - 1));
        let mut row = ObligationRow {
            id: self.id(Table::Obligation, j),
            contract_id: self.id(Table::Contract, contract),
            title: "Weekly inspection".into(),
            description: None,
            kind: "inspection".into(),
            assignee_kind: crate::tasks::model::AssigneeKind::Role,
            assignee_name: format!("crew-{}", j % 50),
            due_date: None,
            rrule: Some("FREQ=WEEKLY".into()),
            exdates: Default::default(),
            anchor_date: Some(self.anchor()),
            lead_days: 0,
            scope: crate::obligations::model::Scope::Contract,
            horizon_months: 12,
            generated_on: Some(self.today),
            version: 1,
            created_at: self.now(),
            updated_at: self.now(),
            regenerate_on: self.today,
        };
        // As the scheduler leaves it after a visit today.
        let schedule = crate::obligations::service::schedule_of(&row, self.anchor());
        let months = chrono::Months::new(row.horizon_months as u32);
        row.regenerate_on = crate::obligations::model::next_visit(schedule.as_ref(), self.today, months);
        row
    }

    /// The `k`-th weekly task of obligation `o`; past ones are mostly done.
    pub fn task(&self, o: &ObligationRow, j: usize, k: usize) -> TaskRow {
        let index = j * TASKS_PER_OBLIGATION + k;
        let mut rng = self.rng(Table::Task, index);
        let due = self.anchor() + Duration::weeks(k as i64);
        let past = due < self.today;
        let status = match (past, rng.random_range(0..100)) {
            (true, 0..=89) => TaskStatus::Done,
            (true, 90..=94) => TaskStatus::Skipped,
            _ => TaskStatus::Open,
        };
        let closed = (status != TaskStatus::Open).then(|| due.and_hms_opt(15, 0, 0).unwrap_or_default());
        let assignee = crate::tasks::model::Assignee::from_parts(o.assignee_kind, &o.assignee_name);
        TaskRow {
            id: self.id(Table::Task, index),
            status,
            contract_id: Some(o.contract_id.clone()),
            obligation_id: Some(o.id.clone()),
            occurrence_key: Some(crate::obligations::service::occurrence_key(&o.id, None, due)),
            nominal_date: Some(due),
            closed_at: closed,
            closed_by: closed.map(|_| o.assignee_name.clone()),
            ..TaskRow::open(crate::tasks::model::Kind::Planned, o.title.clone(), &assignee, due, self.now())
        }
    }

    pub fn service_call(&self, k: usize) -> ServiceCallRow {
        let mut rng = self.rng(Table::ServiceCall, k);
        let installation = rng.random_range(0..self.installations.max(1));
        let contract = self.call_off(installation);
        let entitled = rng.random_bool(0.9);
        let priority = [Priority::Low, Priority::Normal, Priority::Normal, Priority::High, Priority::Critical]
            [rng.random_range(0..5)];
        let reported: DateTime<Utc> = self.now().and_utc() - Duration::minutes(rng.random_range(0..525_600));
        let level = gold();
        let d = if entitled { Deadlines::compute(&level, priority, reported, 0.25) } else { Deadlines::NONE };
        let age = self.now().and_utc() - reported;
        let status = if age > Duration::days(7) {
            CallStatus::Closed
        } else {
            use CallStatus::*;
            [New, Acknowledged, InProgress, OnHold, Resolved][rng.random_range(0..5)]
        };
        let at = |minutes: i64| Some((reported + Duration::minutes(minutes)).naive_utc());
        let acknowledged = (status != CallStatus::New).then_some(()).and(at(rng.random_range(5..240)));
        let resolved = matches!(status, CallStatus::Resolved | CallStatus::Closed)
            .then_some(())
            .and(at(rng.random_range(240..4000)));
        let n = |t: Option<DateTime<Utc>>| t.map(|t| t.naive_utc());
        ServiceCallRow {
            id: self.id(Table::ServiceCall, k),
            number: format!("SC-S-{:07}", k + 1),
            installation_id: self.id(Table::Installation, installation),
            customer_ref: self.customer(contract),
            entitled,
            contract_id: entitled.then(|| self.id(Table::Contract, contract)),
            service_level: entitled.then(|| crate::db::column::Json::new(level.clone())),
            service_level_source: entitled.then(|| self.id(Table::Contract, contract - contract % GROUP)),
            priority,
            status,
            title: "Machine fault".into(),
            description: Some("Reported by the customer".into()),
            reporter: None,
            channel: crate::service_calls::model::Channel::Phone,
            external_ref: None,
            reported_at: reported.naive_utc(),
            respond_by: n(d.respond_by),
            respond_risk_at: n(d.respond_risk_at),
            resolve_by: n(d.resolve_by),
            resolve_risk_at: n(d.resolve_risk_at),
            acknowledged_at: acknowledged,
            on_hold_since: (status == CallStatus::OnHold).then_some(()).and(at(300)),
            hold_reason: None,
            paused_seconds: 0,
            resolved_at: resolved,
            resolution: resolved.map(|_| "Fixed".into()),
            closed_at: (status == CallStatus::Closed).then_some(()).and(at(6000)),
            cancelled_at: None,
            cancel_reason: None,
            version: 1,
            created_at: self.now(),
            updated_at: self.now(),
        }
    }
}

/// The ids of the two seeded dossier types.
#[derive(Clone, Debug)]
pub struct DossierTypes {
    pub mortgage: String,
    pub pension: String,
}

/// A seeded dossier with its attribute index rows and, for a pension, its retirement trigger.
#[derive(Clone, Debug, PartialEq)]
pub struct SeededDossier {
    pub row: DossierRow,
    pub values: Vec<crate::attributes::store::AttributeValueRow>,
    pub trigger: Option<TriggerRow>,
}

/// The offset of the seeded pension type's retirement rule.
pub const RETIREMENT_AGE: &str = "P67Y";

impl Plan {
    /// Dossier `i`: even ones are mortgages (an address whose change starts the relocation
    /// workflow), odd ones pensions whose retirement date lies up to 45 years ahead; one in a
    /// thousand (the first among them) came due in the past week and waits for the next
    /// scheduler pass, about a week's worth of retirements.
    pub fn dossier(&self, i: usize, types: &DossierTypes) -> SeededDossier {
        let mut rng = self.rng(Table::Dossier, i);
        let pension = i % 2 == 1;
        let value = |key: &str, text: String, num: Option<f64>| crate::attributes::store::AttributeValueRow {
            entity_kind: crate::attributes::model::EntityKind::Dossier,
            entity_id: self.id(Table::Dossier, i),
            key: key.into(),
            value_text: Some(text),
            value_num: num,
        };
        let (attributes, values, owner) = if pension {
            let retires = if i % 2000 == 1 {
                self.today - Duration::days(rng.random_range(0..7))
            } else {
                self.today + Duration::days(rng.random_range(1..45 * 365))
            };
            let birth = retires.checked_sub_months(chrono::Months::new(67 * 12)).unwrap_or(retires);
            let birth = birth.format("%Y-%m-%d").to_string();
            let attrs = serde_json::json!({ "birth_date": birth });
            (
                attrs,
                vec![value("birth_date", birth, None)],
                (crate::tasks::model::AssigneeKind::Role, "pension-desk".to_string()),
            )
        } else {
            let address = format!(
                "{} {}, {}",
                ["Kerkstraat", "Dorpsweg", "Stationsplein"][i % 3],
                1 + i % 200,
                CITIES[rng.random_range(0..CITIES.len())]
            );
            let loan: i64 = rng.random_range(100..900) * 1000;
            let attrs = serde_json::json!({ "address": address, "loan_amount": loan });
            let values =
                vec![value("address", address, None), value("loan_amount", loan.to_string(), Some(loan as f64))];
            (attrs, values, (crate::tasks::model::AssigneeKind::User, format!("advisor-{}", i % 200)))
        };
        let row = DossierRow {
            id: self.id(Table::Dossier, i),
            type_id: if pension { &types.pension } else { &types.mortgage }.clone(),
            type_key: if pension { "pension" } else { "mortgage" }.into(),
            type_version: 1,
            customer_ref: format!("PERS-{:07}", i / 2),
            contract_id: None,
            owner_kind: owner.0,
            owner_name: owner.1,
            status: crate::dossiers::model::DossierStatus::Open,
            attributes: crate::db::column::Json::new(attributes.as_object().cloned().unwrap_or_default()),
            version: 1,
            created_at: self.now(),
            updated_at: self.now(),
        };
        let trigger = pension
            .then(|| {
                let attrs = attributes.as_object().cloned().unwrap_or_default();
                crate::dossiers::model::trigger_date(&attrs, "birth_date", RETIREMENT_AGE)
            })
            .flatten()
            .map(|due_on| TriggerRow {
                dossier_id: row.id.clone(),
                rule_key: "retirement_age".into(),
                due_on,
                status: crate::dossiers::model::TriggerStatus::Pending,
                fired_at: None,
            });
        SeededDossier { row, values, trigger }
    }
}

/// The service level of every seeded framework agreement: 24/7.
pub fn gold() -> ServiceLevel {
    let t = |r, s| Times { response_hours: r, resolution_hours: s };
    ServiceLevel {
        name: "Gold".into(),
        low: t(24.0, 120.0),
        normal: t(8.0, 40.0),
        high: t(4.0, 16.0),
        critical: t(1.0, 8.0),
        business_hours: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            seed: 7,
            today: NaiveDate::from_ymd_opt(2026, 6, 15).unwrap(),
            contracts: 100,
            installations: 100,
            obligations: 10,
            service_calls: 10,
            dossiers: 2000,
        }
    }

    #[test]
    fn rows_are_reproducible_and_ids_unique_and_ordered() {
        let p = plan();
        assert_eq!(p.contract(3), p.contract(3));
        let ids: Vec<String> = (0..100).map(|i| p.id(Table::Contract, i)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids, "unique and in index order");
        assert_ne!(p.id(Table::Contract, 0), p.id(Table::Installation, 0));
    }

    #[test]
    fn call_offs_hang_under_their_framework_and_installations_under_call_offs() {
        let p = plan();
        assert_eq!(p.contract(0).parent_id, None);
        assert_eq!(p.contract(13).parent_id, Some(p.id(Table::Contract, 10)));
        assert_eq!(p.call_off(20), 21);
        assert!(!p.call_off(55).is_multiple_of(GROUP));
    }

    #[test]
    fn contracts_in_force_are_current_and_expired_ones_are_marked() {
        let p = plan();
        for i in 0..100 {
            let c = p.contract(i);
            if matches!(c.status, ContractStatus::Active | ContractStatus::Suspended) {
                assert!(c.end_date.is_none_or(|e| e >= p.today), "nothing left for the scheduler: {c:?}");
            }
            if c.status == ContractStatus::Expired {
                assert!(c.end_date.unwrap() < p.today);
            }
        }
    }

    #[test]
    fn tasks_follow_their_obligation_weekly_around_today() {
        let p = plan();
        let o = p.obligation(3);
        let first = p.task(&o, 3, 0);
        let last = p.task(&o, 3, TASKS_PER_OBLIGATION - 1);
        assert_eq!(first.due_date, p.today - Duration::weeks(50));
        assert_eq!(last.due_date, p.today + Duration::weeks(49));
        assert_eq!(last.status, TaskStatus::Open);
        assert_eq!(first.occurrence_key, Some(format!("{}|-|{}", o.id, first.due_date)));
    }

    #[test]
    fn pension_dossiers_carry_their_retirement_trigger_and_a_few_are_due() {
        let p = plan();
        let types = DossierTypes { mortgage: "m".into(), pension: "p".into() };
        assert_eq!(p.dossier(5, &types), p.dossier(5, &types));
        let mortgage = p.dossier(4, &types);
        assert_eq!(mortgage.row.type_key, "mortgage");
        assert!(mortgage.trigger.is_none());
        assert_eq!(mortgage.values.len(), 2);
        let due: Vec<_> = (0..p.dossiers)
            .map(|i| p.dossier(i, &types))
            .filter(|d| d.row.type_key == "pension")
            .map(|d| d.trigger.expect("every pension has its trigger").due_on)
            .collect();
        assert_eq!(due.len(), 1000);
        assert!(due.iter().any(|d| *d <= p.today), "some are due");
        assert!(due.iter().filter(|d| **d <= p.today).count() < 10, "but only a few");
    }
}
