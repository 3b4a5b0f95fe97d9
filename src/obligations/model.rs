//! Obligation rules without I/O: expanding an RFC 5545 schedule into occurrence dates, and
//! planning which tasks to create, update or cancel so the worklist matches the schedule.

use chrono::{NaiveDate, TimeZone};
use rrule::{RRule, Tz, Unvalidated};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

/// What an obligation's tasks are about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One task per occurrence for the contract itself.
    Contract,
    /// One task per occurrence for each installation the contract covers.
    Installations,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Contract => "contract",
            Scope::Installations => "installations",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "contract" => Some(Scope::Contract),
            "installations" => Some(Scope::Installations),
            _ => None,
        }
    }
}

/// Most occurrences one expansion hands out; a guard against schedules like FREQ=SECONDLY.
pub const MAX_OCCURRENCES: u16 = 5000;

/// A recurring schedule: an RRULE counted from an anchor day, minus exception dates.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub rrule: String,
    pub anchor: NaiveDate,
    pub exdates: Vec<NaiveDate>,
}

fn midnight(d: NaiveDate) -> chrono::DateTime<Tz> {
    Tz::UTC.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

impl Schedule {
    /// Parses and validates the rule against the anchor; the error is the parser's reason.
    pub fn check(&self) -> Result<(), String> {
        self.expand(self.anchor, self.anchor).map(|_| ())
    }

    /// The occurrence days from `from` to `to`, both included. Dates only: a rule that sets
    /// hours or minutes yields the days they fall on, once each.
    pub fn expand(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<NaiveDate>, String> {
        let text = self.rrule.trim();
        let text = text.strip_prefix("RRULE:").unwrap_or(text);
        if text.is_empty() || text.contains('\n') || text.to_ascii_uppercase().contains("DTSTART") {
            return Err("give the rule only, e.g. FREQ=MONTHLY;INTERVAL=6; the anchor date is its start".into());
        }
        let anchor = self.anchor;
        let exdates = self.exdates.clone();
        let text = text.to_string();
        // The parser is third-party code fed with user input: a panic in it must stay a 422.
        let expanded = std::panic::catch_unwind(move || -> Result<Vec<NaiveDate>, String> {
            let rule: RRule<Unvalidated> = text.parse().map_err(|e: rrule::RRuleError| e.to_string())?;
            // RFC 5545 wants a positive INTERVAL; the parser takes 0 and then yields nothing.
            if rule.get_interval() == 0 {
                return Err("`INTERVAL` must be a positive integer".into());
            }
            let set = rule
                .build(midnight(anchor))
                .map_err(|e| e.to_string())?
                .set_exdates(exdates.iter().map(|d| midnight(*d)).collect())
                .after(midnight(from))
                .before(midnight(to) + chrono::Duration::days(1) - chrono::Duration::seconds(1));
            let mut days: Vec<NaiveDate> = set.all(MAX_OCCURRENCES).dates.iter().map(|d| d.date_naive()).collect();
            days.dedup();
            Ok(days)
        });
        expanded.unwrap_or_else(|_| Err("the rule cannot be expanded".into()))
    }
}

/// An occurrence the schedule asks for: for the contract (`installation_id` none) or one
/// installation, on its nominal day, due `lead_days` earlier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub installation_id: Option<String>,
    pub nominal: NaiveDate,
    pub due: NaiveDate,
}

/// What the planner needs to know of a task that already exists for the obligation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Existing {
    pub id: String,
    pub installation_id: Option<String>,
    pub nominal: NaiveDate,
    pub due: NaiveDate,
    pub status: String,
    pub assignee: (String, String),
    pub title: String,
    pub description: Option<String>,
    /// Rescheduled or reassigned by hand: the generator never changes it.
    pub touched: bool,
    /// Cancelled by the generator (not by a person): may be reopened when wanted again.
    pub cancelled_by_system: bool,
}

/// The changes that bring the tasks in line with the schedule.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub create: Vec<Wanted>,
    /// Open, untouched tasks whose due date, title, description or assignee changed, or that
    /// the generator had cancelled and are wanted again: (task id, new due date).
    pub update: Vec<(String, NaiveDate)>,
    pub cancel: Vec<String>,
}

/// The day the scheduler has to look at an obligation again after bringing its tasks in line
/// `today` with a horizon of `months`: the day that horizon reaches the schedule's next
/// occurrence beyond it (a weekly obligation a week on, a yearly one a year on), never later
/// than a year on (a rule with nothing in the next year, a one-off, an invalid rule) and never
/// before tomorrow. Month arithmetic clamps to month ends, so the day can come a little early,
/// never late.
pub fn next_visit(schedule: Option<&Schedule>, today: NaiveDate, months: chrono::Months) -> NaiveDate {
    let tomorrow = today.succ_opt().unwrap_or(today);
    let latest = today.checked_add_days(chrono::Days::new(365)).unwrap_or(tomorrow);
    let Some(horizon) = today.checked_add_months(months) else { return tomorrow };
    let next = schedule.and_then(|s| {
        let beyond = horizon.succ_opt()?;
        s.expand(beyond, beyond.checked_add_days(chrono::Days::new(366))?).ok()?.into_iter().next()
    });
    next.and_then(|day| day.checked_sub_months(months)).unwrap_or(latest).clamp(tomorrow, latest)
}

/// Compares the wanted occurrences with the existing tasks. Done, skipped, in-progress and
/// hand-edited tasks are left alone; tasks no longer wanted are cancelled when they lie in the
/// future (`from` on) or after the contract's end.
pub fn plan(
    wanted: &[Wanted],
    existing: &[Existing],
    title: &str,
    description: Option<&str>,
    assignee: (&str, &str),
    from: NaiveDate,
    contract_end: Option<NaiveDate>,
) -> Plan {
    let mut plan = Plan::default();
    let by_key: HashMap<(Option<&str>, NaiveDate), &Existing> =
        existing.iter().map(|e| ((e.installation_id.as_deref(), e.nominal), e)).collect();
    let mut wanted_keys = HashSet::new();
    for w in wanted {
        wanted_keys.insert((w.installation_id.as_deref(), w.nominal));
        match by_key.get(&(w.installation_id.as_deref(), w.nominal)) {
            None => plan.create.push(w.clone()),
            Some(e) if e.status == "cancelled" && e.cancelled_by_system => plan.update.push((e.id.clone(), w.due)),
            Some(e) if e.status == "open" && !e.touched => {
                let same = e.due == w.due
                    && e.title == title
                    && e.description.as_deref() == description
                    && (e.assignee.0.as_str(), e.assignee.1.as_str()) == assignee;
                if !same {
                    plan.update.push((e.id.clone(), w.due));
                }
            }
            Some(_) => {}
        }
    }
    for e in existing {
        if wanted_keys.contains(&(e.installation_id.as_deref(), e.nominal)) || e.status != "open" {
            continue;
        }
        let after_end = contract_end.is_some_and(|end| e.nominal > end);
        if after_end || (e.nominal >= from && !e.touched) {
            plan.cancel.push(e.id.clone());
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn days(rule: &str, anchor: &str, from: &str, to: &str, exdates: &[&str]) -> Vec<String> {
        let s = Schedule { rrule: rule.into(), anchor: d(anchor), exdates: exdates.iter().map(|x| d(x)).collect() };
        s.expand(d(from), d(to)).unwrap().iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn an_obligation_is_visited_again_when_its_horizon_reaches_the_next_occurrence() {
        let weekly = Schedule { rrule: "FREQ=WEEKLY".into(), anchor: d("2026-01-05"), exdates: vec![] };
        let twelve = chrono::Months::new(12);
        // Generated through 2027-11-28; the next Monday after it is 2027-11-29, reached a year
        // earlier: tomorrow.
        assert_eq!(next_visit(Some(&weekly), d("2026-11-28"), twelve), d("2026-11-29"));
        // From 2026-11-30 the horizon is 2027-11-30, a Tuesday; the next Monday, 2027-12-06,
        // comes within it six days on.
        assert_eq!(next_visit(Some(&weekly), d("2026-11-30"), twelve), d("2026-12-06"));
        let yearly = Schedule { rrule: "FREQ=YEARLY".into(), anchor: d("2026-03-15"), exdates: vec![] };
        assert_eq!(next_visit(Some(&yearly), d("2026-03-16"), twelve), d("2027-03-15"));
        // Month ends clamp: a visit a little early, never after the horizon passed the day.
        let month_end =
            Schedule { rrule: "FREQ=MONTHLY;BYMONTHDAY=-1".into(), anchor: d("2026-01-31"), exdates: vec![] };
        let visit = next_visit(Some(&month_end), d("2026-02-01"), chrono::Months::new(1));
        assert_eq!(visit, d("2026-02-28"));
        assert!(visit.checked_add_months(chrono::Months::new(1)).unwrap() <= d("2026-03-31"));
        // Nothing within a year after the horizon, a one-off, an ended rule: a year on.
        let ended = Schedule { rrule: "FREQ=WEEKLY;COUNT=2".into(), anchor: d("2026-01-05"), exdates: vec![] };
        assert_eq!(next_visit(Some(&ended), d("2026-11-28"), twelve), d("2027-11-28"));
        assert_eq!(next_visit(None, d("2026-11-28"), twelve), d("2027-11-28"));
    }

    #[test]
    fn every_six_months_from_the_anchor() {
        assert_eq!(
            days("FREQ=MONTHLY;INTERVAL=6", "2026-01-15", "2026-01-01", "2027-12-31", &[]),
            ["2026-01-15", "2026-07-15", "2027-01-15", "2027-07-15"]
        );
    }

    #[test]
    fn monthly_on_the_31st_skips_short_months_as_rfc_5545_says() {
        assert_eq!(
            days("FREQ=MONTHLY", "2026-01-31", "2026-01-01", "2026-06-30", &[]),
            ["2026-01-31", "2026-03-31", "2026-05-31"]
        );
        // The last day of every month is BYMONTHDAY=-1.
        assert_eq!(
            days("FREQ=MONTHLY;BYMONTHDAY=-1", "2026-01-31", "2026-01-01", "2026-04-30", &[]),
            ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
        );
    }

    #[test]
    fn leap_days_come_only_in_leap_years() {
        assert_eq!(
            days("FREQ=YEARLY", "2024-02-29", "2024-01-01", "2032-12-31", &[]),
            ["2024-02-29", "2028-02-29", "2032-02-29"]
        );
    }

    #[test]
    fn yearly_and_exception_dates() {
        assert_eq!(
            days("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1", "2026-01-01", "2026-01-01", "2029-12-31", &["2027-03-01"]),
            ["2026-03-01", "2028-03-01", "2029-03-01"]
        );
    }

    #[test]
    fn weekly_by_weekday() {
        assert_eq!(
            days("FREQ=WEEKLY;BYDAY=MO,TH", "2026-06-01", "2026-06-01", "2026-06-14", &[]),
            ["2026-06-01", "2026-06-04", "2026-06-08", "2026-06-11"]
        );
    }

    #[test]
    fn window_bounds_are_inclusive_and_count_ends_the_rule() {
        assert_eq!(
            days("FREQ=DAILY;COUNT=3", "2026-06-01", "2026-06-02", "2026-06-30", &[]),
            ["2026-06-02", "2026-06-03"]
        );
    }

    #[test]
    fn invalid_rules_give_the_parser_reason() {
        for bad in [
            "FREQ=MONTHLY;BYMONTHDAY=32",
            "FREQ=SOMETIMES",
            "FREQ=DAILY;UNTIL=notadate",
            "FREQ=MONTHLY;INTERVAL=0",
            "hello",
            "",
            "DTSTART:20260101\nRRULE:FREQ=DAILY",
        ] {
            let s = Schedule { rrule: bad.into(), anchor: d("2026-01-01"), exdates: vec![] };
            assert!(s.check().is_err(), "{bad:?} should be refused");
        }
    }

    fn existing(id: &str, nominal: &str, status: &str, touched: bool) -> Existing {
        Existing {
            id: id.into(),
            installation_id: None,
            nominal: d(nominal),
            due: d(nominal),
            status: status.into(),
            assignee: ("role".into(), "crew".into()),
            title: "Service".into(),
            description: None,
            touched,
            cancelled_by_system: false,
        }
    }

    fn want(nominal: &str) -> Wanted {
        Wanted { installation_id: None, nominal: d(nominal), due: d(nominal) }
    }

    #[test]
    fn planning_twice_changes_nothing() {
        let have = vec![existing("a", "2026-07-01", "open", false), existing("b", "2026-08-01", "done", false)];
        let p = plan(
            &[want("2026-07-01"), want("2026-08-01")],
            &have,
            "Service",
            None,
            ("role", "crew"),
            d("2026-06-15"),
            None,
        );
        assert_eq!(p, Plan::default());
    }

    #[test]
    fn a_schedule_change_keeps_closed_and_hand_edited_tasks() {
        let have = vec![
            existing("done", "2026-07-01", "done", false),
            existing("moved", "2026-08-01", "open", true),
            existing("plain", "2026-09-01", "open", false),
            existing("past", "2026-05-01", "open", false),
        ];
        let p = plan(&[want("2026-07-15")], &have, "Service", None, ("role", "crew"), d("2026-06-15"), None);
        assert_eq!(p.create, vec![want("2026-07-15")]);
        assert_eq!(p.cancel, vec!["plain".to_string()]);
        assert!(p.update.is_empty());
    }

    #[test]
    fn termination_cancels_open_tasks_after_the_end_even_hand_edited_ones() {
        let have =
            vec![existing("moved", "2026-08-01", "open", true), existing("wip", "2026-09-01", "in_progress", false)];
        let p = plan(&[], &have, "Service", None, ("role", "crew"), d("2026-06-15"), Some(d("2026-06-30")));
        assert_eq!(p.cancel, vec!["moved".to_string()]);
    }

    #[test]
    fn a_new_assignee_description_or_lead_time_updates_untouched_open_tasks() {
        let have = vec![existing("a", "2026-07-01", "open", false)];
        let p = plan(&[want("2026-07-01")], &have, "Service", None, ("user", "alice"), d("2026-06-15"), None);
        assert_eq!(p.update, vec![("a".to_string(), d("2026-07-01"))]);
        let p = plan(&[want("2026-07-01")], &have, "Service", Some("New"), ("role", "crew"), d("2026-06-15"), None);
        assert_eq!(p.update, vec![("a".to_string(), d("2026-07-01"))]);
        let early = Wanted { due: d("2026-06-20"), ..want("2026-07-01") };
        let p = plan(&[early], &have, "Service", None, ("role", "crew"), d("2026-06-15"), None);
        assert_eq!(p.update, vec![("a".to_string(), d("2026-06-20"))]);
    }

    #[test]
    fn occurrences_cancelled_by_the_system_come_back() {
        let mut gone = existing("a", "2026-07-01", "cancelled", false);
        gone.cancelled_by_system = true;
        let p = plan(&[want("2026-07-01")], &[gone], "Service", None, ("role", "crew"), d("2026-06-15"), None);
        assert_eq!(p.update, vec![("a".to_string(), d("2026-07-01"))]);
        assert!(p.create.is_empty());
    }
}
