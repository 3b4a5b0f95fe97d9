//! Obligation rules without I/O: expanding an RFC 5545 schedule into occurrence dates, and
//! planning which tasks to create, update or cancel so the worklist matches the schedule.

use crate::tasks::model::{Assignee, Status as TaskStatus};
use chrono::{NaiveDate, TimeZone};
use rrule::{RRule, Tz, Unvalidated};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use utoipa::ToSchema;

/// What an obligation's tasks are about.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
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

crate::db::column::text_enum!(Scope, "obligation scope");

/// Most occurrences one expansion hands out; a guard against schedules like FREQ=SECONDLY.
pub const MAX_OCCURRENCES: u16 = 5000;
/// Largest `COUNT` a rule may give: a counted rule is walked from its anchor on every
/// expansion, so its length bounds the work.
pub const MAX_COUNT: u32 = 10_000;

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

/// The rule as the recurrence library reads it, checked in the schedule's own terms: planned
/// work recurs on days, so frequencies finer than a day and the time-of-day parts are refused
/// by name; `UNTIL` is a date (RFC 5545: the same value type as the start, which here is the
/// anchor date; the last day included) or a UTC date-time, and may not lie before the anchor.
fn normalize_rule(raw: &str, anchor: NaiveDate) -> Result<Vec<(String, String)>, String> {
    let text = raw.trim();
    let text = text.strip_prefix("RRULE:").unwrap_or(text);
    if text.is_empty() || text.contains('\n') || text.to_ascii_uppercase().contains("DTSTART") {
        return Err("give the rule only, e.g. FREQ=MONTHLY;INTERVAL=6; the anchor date is its start".into());
    }
    let mut parts = Vec::new();
    for part in text.split(';') {
        let Some((name, value)) = part.split_once('=') else {
            return Err(format!("`{part}` is not a rule part: write NAME=VALUE parts separated by `;`"));
        };
        let name = name.trim().to_ascii_uppercase();
        let value = value.trim();
        match name.as_str() {
            "FREQ" if matches!(value.to_ascii_uppercase().as_str(), "SECONDLY" | "MINUTELY" | "HOURLY") => {
                return Err(format!(
                    "`FREQ={value}` repeats within a day; planned work recurs at most daily: \
                     use DAILY, WEEKLY, MONTHLY or YEARLY"
                ));
            }
            "COUNT" if value.parse::<u32>().map_or(true, |n| n > MAX_COUNT) => {
                return Err(format!(
                    "`COUNT={value}`: a count is a whole number up to {MAX_COUNT}; for a longer schedule \
                     give UNTIL or neither"
                ));
            }
            "BYHOUR" | "BYMINUTE" | "BYSECOND" => {
                return Err(format!("`{name}` sets a time of day; planned work is due on days, so leave it out"));
            }
            "UNTIL" => {
                let last_day = until_day(value).ok_or_else(|| {
                    format!(
                        "`UNTIL={value}` is neither a date (YYYYMMDD, that day included) \
                         nor a UTC date-time (YYYYMMDDTHHMMSSZ)"
                    )
                })?;
                if last_day < anchor {
                    return Err(format!("`UNTIL` ({last_day}) lies before the anchor date ({anchor})"));
                }
                // Occurrences fall at midnight UTC of their day: the end of the last day
                // includes it whichever form was given.
                parts.push((name, format!("{}T235959Z", last_day.format("%Y%m%d"))));
                continue;
            }
            _ => {}
        }
        parts.push((name, value.to_string()));
    }
    Ok(parts)
}

/// A start for the expansion of a window beginning `from`: the anchor moved forward by whole
/// periods of the rule to about one period before the window, so that expanding a window
/// decades after the anchor does not walk every occurrence since. The parts the library would
/// take from the start (the day of the month, the month, the weekday) are written out first so
/// the moved start yields the same days. A rule with COUNT counts from the anchor and is left.
/// Returns the start and the rule's parts for it.
fn start_near(
    anchor: NaiveDate,
    from: NaiveDate,
    mut parts: Vec<(String, String)>,
) -> (NaiveDate, Vec<(String, String)>) {
    use chrono::Datelike;
    let has = |parts: &[(String, String)], names: &[&str]| parts.iter().any(|(n, _)| names.contains(&n.as_str()));
    let value = |name: &str| parts.iter().find(|(n, _)| n == name).map(|(_, v)| v.to_ascii_uppercase());
    let interval = value("INTERVAL").and_then(|v| v.parse::<u32>().ok()).unwrap_or(1).max(1);
    if has(&parts, &["COUNT"]) || from <= anchor {
        return (anchor, parts);
    }
    let moved_days = |step: i64| {
        let periods = (from - anchor).num_days() / step - 1;
        (periods > 0).then(|| anchor + chrono::Duration::days(periods * step))
    };
    let months_between = (from.year() - anchor.year()) * 12 + from.month() as i32 - anchor.month() as i32;
    let periods_of = |step: u32| (months_between / step as i32 - 1).max(0) as u32;
    let by_day_rules = ["BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY"];
    let moved = match value("FREQ").as_deref() {
        Some("DAILY") => moved_days(i64::from(interval)),
        Some("WEEKLY") => moved_days(7 * i64::from(interval)),
        Some("MONTHLY") if periods_of(interval) > 0 => {
            if !has(&parts, &by_day_rules) {
                parts.push(("BYMONTHDAY".into(), anchor.day().to_string()));
            }
            anchor
                .with_day(1)
                .and_then(|first| first.checked_add_months(chrono::Months::new(periods_of(interval) * interval)))
        }
        Some("YEARLY") if periods_of(12 * interval) > 0 => {
            if !has(&parts, &by_day_rules) {
                if !has(&parts, &["BYMONTH"]) {
                    parts.push(("BYMONTH".into(), anchor.month().to_string()));
                }
                parts.push(("BYMONTHDAY".into(), anchor.day().to_string()));
            }
            NaiveDate::from_ymd_opt(anchor.year() + (periods_of(12 * interval) * interval) as i32, 1, 1)
        }
        _ => None,
    };
    (moved.unwrap_or(anchor), parts)
}

/// The last day an `UNTIL` value allows: a `YYYYMMDD` date or a `YYYYMMDDTHHMMSSZ` UTC
/// date-time (an occurrence at midnight of its day counts when the time is on that day).
fn until_day(value: &str) -> Option<NaiveDate> {
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y%m%d").ok();
    match value.len() {
        8 if value.bytes().all(|b| b.is_ascii_digit()) => date(value),
        16 if value.ends_with('Z') && value.as_bytes()[8] == b'T' => {
            chrono::NaiveDateTime::parse_from_str(&value[..15], "%Y%m%dT%H%M%S").ok().map(|t| t.date())
        }
        _ => None,
    }
}

/// The recurrence library's messages name `DTSTART`, which users never write: it is the anchor.
fn in_schedule_terms(message: String) -> String {
    message.replace("`DTSTART`", "the anchor date").replace("DTSTART", "the anchor date")
}

impl Schedule {
    /// Parses and validates the rule against the anchor without expanding it (cheap enough for
    /// inside a write); the error says what to change.
    pub fn check_form(&self) -> Result<(), String> {
        let parts = normalize_rule(&self.rrule, self.anchor)?;
        self.rule_set(self.anchor, parts).map(|_| ())
    }

    /// [`Schedule::check_form`], and that the rule yields a day within ten years of its anchor:
    /// a rule that never does (`BYMONTH=2;BYMONTHDAY=30`) would make every generation search
    /// for one in vain. Expands the rule: call it before the write, not inside it.
    pub fn check(&self) -> Result<(), String> {
        self.check_form()?;
        let last = self.anchor.checked_add_months(chrono::Months::new(120)).unwrap_or(self.anchor);
        if self.expand(self.anchor, last)?.is_empty() {
            return Err(format!(
                "the rule yields no day in the ten years from the anchor date ({}); check its BY… parts, \
                 UNTIL and exception dates",
                self.anchor
            ));
        }
        Ok(())
    }

    /// The occurrence days from `from` to `to`, both included.
    pub fn expand(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<NaiveDate>, String> {
        self.expand_starting(from, to, true)
    }

    /// The recurrence library's set for the rule's `parts` started on `anchor`, minus the
    /// exception dates.
    fn rule_set(&self, anchor: NaiveDate, parts: Vec<(String, String)>) -> Result<rrule::RRuleSet, String> {
        let text = parts.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join(";");
        let exdates = self.exdates.clone();
        // The parser is third-party code fed with user input: a panic in it must stay a 422.
        let built = std::panic::catch_unwind(move || -> Result<rrule::RRuleSet, String> {
            let rule: RRule<Unvalidated> =
                text.parse().map_err(|e: rrule::RRuleError| in_schedule_terms(e.to_string()))?;
            // RFC 5545 wants a positive INTERVAL; the parser takes 0 and then yields nothing.
            if rule.get_interval() == 0 {
                return Err("`INTERVAL` must be a positive integer".into());
            }
            Ok(rule
                .build(midnight(anchor))
                .map_err(|e| in_schedule_terms(e.to_string()))?
                .set_exdates(exdates.iter().map(|d| midnight(*d)).collect()))
        });
        built.unwrap_or_else(|_| Err("the rule cannot be read".into()))
    }

    /// [`Schedule::expand`], optionally without moving the start near the window (for tests
    /// that compare the two).
    fn expand_starting(&self, from: NaiveDate, to: NaiveDate, near: bool) -> Result<Vec<NaiveDate>, String> {
        let parts = normalize_rule(&self.rrule, self.anchor)?;
        let until = parts.iter().find(|(n, _)| n == "UNTIL").and_then(|(_, v)| until_day(v));
        let (anchor, parts) = if near { start_near(self.anchor, from, parts) } else { (self.anchor, parts) };
        if until.is_some_and(|last| last < anchor || last < from) || to < from {
            return Ok(Vec::new());
        }
        let set = self
            .rule_set(anchor, parts)?
            .after(midnight(from))
            .before(midnight(to) + chrono::Duration::days(1) - chrono::Duration::seconds(1));
        let expanded = std::panic::catch_unwind(move || {
            let mut days: Vec<NaiveDate> = set.all(MAX_OCCURRENCES).dates.iter().map(|d| d.date_naive()).collect();
            days.dedup();
            days
        });
        expanded.map_err(|_| "the rule cannot be expanded".to_string())
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
    pub status: TaskStatus,
    pub assignee: Assignee,
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
    let next = today.checked_add_months(months).and_then(|horizon| {
        let beyond = horizon.succ_opt()?;
        schedule?.expand(beyond, beyond.checked_add_days(chrono::Days::new(366))?).ok()?.into_iter().next()
    });
    next_visit_for(next, today, months)
}

/// [`next_visit`] from the schedule's first occurrence after the horizon, already expanded.
pub fn next_visit_for(next_beyond_horizon: Option<NaiveDate>, today: NaiveDate, months: chrono::Months) -> NaiveDate {
    let tomorrow = today.succ_opt().unwrap_or(today);
    let latest = today.checked_add_days(chrono::Days::new(365)).unwrap_or(tomorrow);
    next_beyond_horizon.and_then(|day| day.checked_sub_months(months)).unwrap_or(latest).clamp(tomorrow, latest)
}

/// What generating an obligation's tasks on one day needs of its schedule: the days from
/// `from` to `to` (a year past the horizon, so the first day beyond it gives the next visit).
/// Worked out before the write that applies it and compared there, so a schedule is never
/// expanded inside a write transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct Expansion {
    pub schedule: Schedule,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Expansion {
    pub fn expand(&self) -> Result<Vec<NaiveDate>, String> {
        self.schedule.expand(self.from, self.to)
    }
}

/// Compares the wanted occurrences with the existing tasks. Done, skipped, in-progress and
/// hand-edited tasks are left alone; tasks no longer wanted are cancelled when they lie in the
/// future (`from` on) or after the contract's end.
pub fn plan(
    wanted: &[Wanted],
    existing: &[Existing],
    title: &str,
    description: Option<&str>,
    assignee: &Assignee,
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
            Some(e) if e.status == TaskStatus::Cancelled && e.cancelled_by_system => {
                plan.update.push((e.id.clone(), w.due))
            }
            Some(e) if e.status == TaskStatus::Open && !e.touched => {
                let same = e.due == w.due
                    && e.title == title
                    && e.description.as_deref() == description
                    && e.assignee == *assignee;
                if !same {
                    plan.update.push((e.id.clone(), w.due));
                }
            }
            Some(_) => {}
        }
    }
    for e in existing {
        if wanted_keys.contains(&(e.installation_id.as_deref(), e.nominal)) || e.status != TaskStatus::Open {
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
    fn a_rule_is_checked_in_form_inside_a_write_and_for_its_days_before_it() {
        let never =
            Schedule { rrule: "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30".into(), anchor: d("2026-01-01"), exdates: vec![] };
        assert_eq!(never.check_form(), Ok(()), "its form is fine");
        assert!(never.check().unwrap_err().starts_with("the rule yields no day in the ten years"));
        let excluded =
            Schedule { rrule: "FREQ=DAILY;COUNT=1".into(), anchor: d("2026-01-01"), exdates: vec![d("2026-01-01")] };
        assert!(excluded.check().is_err(), "its one day is an exception date");
        let leap =
            Schedule { rrule: "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29".into(), anchor: d("2097-03-01"), exdates: vec![] };
        assert_eq!(leap.check(), Ok(()), "2104 is within ten years of 2097 (2100 is no leap year)");
        let counted =
            |n: &str| Schedule { rrule: format!("FREQ=DAILY;COUNT={n}"), anchor: d("2026-01-01"), exdates: vec![] };
        assert_eq!(counted("10000").check_form(), Ok(()));
        assert!(counted("10001").check_form().unwrap_err().starts_with("`COUNT=10001`: a count is a whole number"));
        assert!(counted("-1").check_form().is_err());
    }

    #[test]
    fn an_expansion_gives_the_days_to_a_year_past_the_horizon_and_the_next_visit_from_them() {
        let weekly = Schedule { rrule: "FREQ=WEEKLY".into(), anchor: d("2026-01-05"), exdates: vec![] };
        let twelve = chrono::Months::new(12);
        let e = Expansion { schedule: weekly.clone(), from: d("2026-11-30"), to: d("2028-11-30") };
        let days = e.expand().unwrap();
        let next = days.iter().find(|day| **day > d("2027-11-30")).copied();
        assert_eq!(next_visit_for(next, d("2026-11-30"), twelve), next_visit(Some(&weekly), d("2026-11-30"), twelve));
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

    /// Rules whose dates were compared with a reference RFC 5545 implementation (python-dateutil
    /// 2.9): (rule, anchor, window from, window to, exception dates, the reference's dates).
    type Case =
        (&'static str, &'static str, &'static str, &'static str, &'static [&'static str], &'static [&'static str]);
    const REFERENCE: &[Case] = &[
        (
            "FREQ=MONTHLY",
            "2026-01-31",
            "2026-01-01",
            "2026-12-31",
            &[],
            &["2026-01-31", "2026-03-31", "2026-05-31", "2026-07-31", "2026-08-31", "2026-10-31", "2026-12-31"],
        ),
        (
            "FREQ=MONTHLY;BYDAY=-1FR",
            "2026-01-01",
            "2026-01-01",
            "2026-06-30",
            &[],
            &["2026-01-30", "2026-02-27", "2026-03-27", "2026-04-24", "2026-05-29", "2026-06-26"],
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "2026-01-01",
            "2026-01-01",
            "2026-06-30",
            &[],
            &["2026-01-30", "2026-02-27", "2026-03-31", "2026-04-30", "2026-05-29", "2026-06-30"],
        ),
        (
            "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
            "2026-01-01",
            "2026-01-01",
            "2029-12-31",
            &[],
            &["2026-05-11", "2027-05-17", "2028-05-15", "2029-05-14"],
        ),
        (
            "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO",
            "2024-01-01",
            "2024-01-01",
            "2028-12-31",
            &[],
            &["2024-01-01", "2024-12-30", "2025-12-29", "2027-01-04", "2028-01-03"],
        ),
        (
            "FREQ=YEARLY;BYYEARDAY=1,100,-1",
            "2026-01-01",
            "2026-01-01",
            "2028-12-31",
            &[],
            &[
                "2026-01-01",
                "2026-04-10",
                "2026-12-31",
                "2027-01-01",
                "2027-04-10",
                "2027-12-31",
                "2028-01-01",
                "2028-04-09",
                "2028-12-31",
            ],
        ),
        ("FREQ=YEARLY", "2024-02-29", "2024-01-01", "2032-12-31", &[], &["2024-02-29", "2028-02-29", "2032-02-29"]),
        (
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1",
            "2026-01-01",
            "2026-01-01",
            "2029-12-31",
            &[],
            &["2026-02-28", "2027-02-28", "2028-02-29", "2029-02-28"],
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=29",
            "2027-01-01",
            "2027-01-01",
            "2028-04-30",
            &[],
            &[
                "2027-01-29",
                "2027-03-29",
                "2027-04-29",
                "2027-05-29",
                "2027-06-29",
                "2027-07-29",
                "2027-08-29",
                "2027-09-29",
                "2027-10-29",
                "2027-11-29",
                "2027-12-29",
                "2028-01-29",
                "2028-02-29",
                "2028-03-29",
                "2028-04-29",
            ],
        ),
        (
            "FREQ=WEEKLY;COUNT=5",
            "2026-03-02",
            "2026-01-01",
            "2026-12-31",
            &[],
            &["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30"],
        ),
        (
            "FREQ=MONTHLY;INTERVAL=2",
            "2026-01-15",
            "2026-01-01",
            "2026-12-31",
            &["2026-05-15", "2026-09-15"],
            &["2026-01-15", "2026-03-15", "2026-07-15", "2026-11-15"],
        ),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU",
            "2026-06-02",
            "2026-06-01",
            "2026-07-15",
            &[],
            &["2026-06-02", "2026-06-04", "2026-06-16", "2026-06-18", "2026-06-30", "2026-07-02", "2026-07-14"],
        ),
        (
            "FREQ=MONTHLY;BYDAY=2WE",
            "2026-01-01",
            "2026-01-01",
            "2026-05-31",
            &[],
            &["2026-01-14", "2026-02-11", "2026-03-11", "2026-04-08", "2026-05-13"],
        ),
        (
            "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
            "2026-01-01",
            "2026-01-01",
            "2028-12-31",
            &[],
            &["2026-02-13", "2026-03-13", "2026-11-13", "2027-08-13", "2028-10-13"],
        ),
        (
            "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=31",
            "2026-01-31",
            "2026-01-01",
            "2027-12-31",
            &[],
            &["2026-01-31", "2026-07-31", "2026-10-31", "2027-01-31", "2027-07-31", "2027-10-31"],
        ),
        (
            "FREQ=DAILY;UNTIL=20240310",
            "2024-03-05",
            "2024-03-01",
            "2024-03-31",
            &[],
            &["2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08", "2024-03-09", "2024-03-10"],
        ),
        (
            "FREQ=DAILY;UNTIL=20240310T000000Z",
            "2024-03-05",
            "2024-03-01",
            "2024-03-31",
            &[],
            &["2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08", "2024-03-09", "2024-03-10"],
        ),
    ];

    #[test]
    fn rules_give_the_dates_of_the_reference_implementation() {
        for (rule, anchor, from, to, exdates, want) in REFERENCE {
            assert_eq!(days(rule, anchor, from, to, exdates), *want, "{rule} from {anchor}");
        }
    }

    #[test]
    fn a_window_far_from_the_anchor_gives_the_same_days_as_walking_from_the_anchor() {
        let rules = [
            "FREQ=DAILY",
            "FREQ=DAILY;INTERVAL=3",
            "FREQ=WEEKLY",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU",
            "FREQ=MONTHLY",
            "FREQ=MONTHLY;INTERVAL=5",
            "FREQ=MONTHLY;BYDAY=-1FR",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=31",
            "FREQ=YEARLY",
            "FREQ=YEARLY;INTERVAL=4",
            "FREQ=YEARLY;BYMONTH=3",
            "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO",
            "FREQ=YEARLY;BYYEARDAY=1,100,-1",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1",
            "FREQ=DAILY;UNTIL=20300115",
        ];
        for anchor in ["1990-01-31", "2000-02-29", "2011-08-30", "2019-12-30"] {
            for rule in rules {
                for (from, to) in
                    [("2026-01-01", "2027-12-31"), ("2028-02-28", "2028-03-31"), ("2030-01-10", "2030-01-20")]
                {
                    let s = Schedule { rrule: rule.into(), anchor: d(anchor), exdates: vec![d("2026-05-29")] };
                    let near = s.expand_starting(d(from), d(to), true).unwrap();
                    let walked = s.expand_starting(d(from), d(to), false).unwrap();
                    assert_eq!(near, walked, "{rule} from {anchor}, window {from}..{to}");
                }
            }
        }
        // Centuries of a daily rule are not walked day by day: the start moves to just before
        // the window, by whole periods (weeks keep their weekday, months their day).
        let parts = |rule: &str| normalize_rule(rule, d("1900-01-31")).unwrap();
        let (start, _) = start_near(d("1900-01-31"), d("2999-06-15"), parts("FREQ=DAILY"));
        assert_eq!(start, d("2999-06-14"));
        let (start, _) = start_near(d("1900-01-31"), d("2999-06-15"), parts("FREQ=WEEKLY;INTERVAL=2"));
        assert!(start < d("2999-06-15") && (d("2999-06-15") - start).num_days() <= 28, "{start}");
        assert_eq!((start - d("1900-01-31")).num_days() % 14, 0);
        let (start, moved) = start_near(d("1900-01-31"), d("2999-06-15"), parts("FREQ=MONTHLY"));
        assert_eq!((start, moved.last().cloned()), (d("2999-05-01"), Some(("BYMONTHDAY".into(), "31".into()))));
        let (start, _) = start_near(d("1900-01-31"), d("2999-06-15"), parts("FREQ=DAILY;COUNT=3"));
        assert_eq!(start, d("1900-01-31"), "COUNT counts from the anchor");
        let daily = Schedule { rrule: "FREQ=DAILY".into(), anchor: d("1900-01-01"), exdates: vec![] };
        assert_eq!(daily.expand(d("2999-01-01"), d("2999-12-31")).unwrap().len(), 365);
    }

    #[test]
    fn until_as_a_date_includes_that_day_and_other_forms_are_refused_in_schedule_terms() {
        // Lower-case names and a prefix are read as the RFC allows.
        assert_eq!(
            days("RRULE:freq=WEEKLY;until=20260615", "2026-06-01", "2026-06-01", "2026-12-31", &[]),
            ["2026-06-01", "2026-06-08", "2026-06-15"]
        );
        let refused = |rule: &str, anchor: &str| {
            Schedule { rrule: rule.into(), anchor: d(anchor), exdates: vec![] }.check().unwrap_err()
        };
        for local in ["FREQ=DAILY;UNTIL=20240310T000000", "FREQ=DAILY;UNTIL=2024-03-10", "FREQ=DAILY;UNTIL=20240231"] {
            let e = refused(local, "2024-03-01");
            assert!(e.contains("neither a date (YYYYMMDD") && !e.contains("DTSTART"), "{local}: {e}");
        }
        let e = refused("FREQ=DAILY;UNTIL=20240229", "2024-03-01");
        assert_eq!(e, "`UNTIL` (2024-02-29) lies before the anchor date (2024-03-01)");
    }

    #[test]
    fn planned_work_recurs_at_most_daily() {
        let refused =
            |rule: &str| Schedule { rrule: rule.into(), anchor: d("2026-01-01"), exdates: vec![] }.check().unwrap_err();
        for freq in ["SECONDLY", "MINUTELY", "HOURLY", "hourly"] {
            let e = refused(&format!("FREQ={freq}"));
            assert!(e.contains(&format!("FREQ={freq}")) && e.contains("at most daily"), "{e}");
        }
        for part in ["BYHOUR=9", "BYMINUTE=30", "BYSECOND=0", "byhour=9"] {
            let e = refused(&format!("FREQ=DAILY;{part}"));
            assert!(e.contains(&part.split('=').next().unwrap().to_ascii_uppercase()), "{e}");
        }
        assert!(refused("FREQ=DAILY;INTERVAL").contains("`INTERVAL` is not a rule part"));
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
            status: TaskStatus::parse(status).unwrap(),
            assignee: Assignee::Role("crew".into()),
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
            &Assignee::Role("crew".into()),
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
        let p =
            plan(&[want("2026-07-15")], &have, "Service", None, &Assignee::Role("crew".into()), d("2026-06-15"), None);
        assert_eq!(p.create, vec![want("2026-07-15")]);
        assert_eq!(p.cancel, vec!["plain".to_string()]);
        assert!(p.update.is_empty());
    }

    #[test]
    fn termination_cancels_open_tasks_after_the_end_even_hand_edited_ones() {
        let have =
            vec![existing("moved", "2026-08-01", "open", true), existing("wip", "2026-09-01", "in_progress", false)];
        let p =
            plan(&[], &have, "Service", None, &Assignee::Role("crew".into()), d("2026-06-15"), Some(d("2026-06-30")));
        assert_eq!(p.cancel, vec!["moved".to_string()]);
    }

    #[test]
    fn a_new_assignee_description_or_lead_time_updates_untouched_open_tasks() {
        let have = vec![existing("a", "2026-07-01", "open", false)];
        let p =
            plan(&[want("2026-07-01")], &have, "Service", None, &Assignee::User("alice".into()), d("2026-06-15"), None);
        assert_eq!(p.update, vec![("a".to_string(), d("2026-07-01"))]);
        let p = plan(
            &[want("2026-07-01")],
            &have,
            "Service",
            Some("New"),
            &Assignee::Role("crew".into()),
            d("2026-06-15"),
            None,
        );
        assert_eq!(p.update, vec![("a".to_string(), d("2026-07-01"))]);
        let early = Wanted { due: d("2026-06-20"), ..want("2026-07-01") };
        let p = plan(&[early], &have, "Service", None, &Assignee::Role("crew".into()), d("2026-06-15"), None);
        assert_eq!(p.update, vec![("a".to_string(), d("2026-06-20"))]);
    }

    #[test]
    fn occurrences_cancelled_by_the_system_come_back() {
        let mut gone = existing("a", "2026-07-01", "cancelled", false);
        gone.cancelled_by_system = true;
        let p = plan(
            &[want("2026-07-01")],
            &[gone],
            "Service",
            None,
            &Assignee::Role("crew".into()),
            d("2026-06-15"),
            None,
        );
        assert_eq!(p.update, vec![("a".to_string(), d("2026-07-01"))]);
        assert!(p.create.is_empty());
    }
}
