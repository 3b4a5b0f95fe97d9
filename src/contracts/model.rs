//! Contract rules without I/O: statuses and their transitions, term and notice arithmetic,
//! renewal, and generated contract numbers.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a contract is in its life.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[schema(as = ContractStatus)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being prepared; not in force.
    Draft,
    /// In force.
    Active,
    /// Temporarily not in force.
    Suspended,
    /// Ended early (or by notice) on `terminated_on`.
    Terminated,
    /// Ran to its end date without renewal.
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::Terminated => "terminated",
            Status::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "draft" => Status::Draft,
            "active" => Status::Active,
            "suspended" => Status::Suspended,
            "terminated" => Status::Terminated,
            "expired" => Status::Expired,
            _ => return None,
        })
    }
}

crate::db::column::text_enum!(Status, "contract status");

/// A lifecycle verb.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Activate,
    Suspend,
    Terminate,
    Renew,
    Expire,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Activate => "activate",
            Action::Suspend => "suspend",
            Action::Terminate => "terminate",
            Action::Renew => "renew",
            Action::Expire => "expire",
        }
    }

    /// The event action name recorded for it.
    pub fn past_tense(self) -> &'static str {
        match self {
            Action::Activate => "activated",
            Action::Suspend => "suspended",
            Action::Terminate => "terminated",
            Action::Renew => "renewed",
            Action::Expire => "expired",
        }
    }
}

/// The status after `action`, or `None` when the transition is not allowed.
pub fn transition(from: Status, action: Action) -> Option<Status> {
    use Action as A;
    use Status as S;
    match (from, action) {
        (S::Draft | S::Suspended, A::Activate) => Some(S::Active),
        (S::Active, A::Suspend) => Some(S::Suspended),
        (S::Draft | S::Active | S::Suspended, A::Terminate) => Some(S::Terminated),
        (S::Active | S::Expired, A::Renew) => Some(S::Active),
        (S::Active | S::Suspended, A::Expire) => Some(S::Expired),
        _ => None,
    }
}

/// A calendar period in ISO 8601 form, date part only: `P3M`, `P1Y6M`, `P30D`, `P2W`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Period {
    pub years: u32,
    pub months: u32,
    pub days: u32,
}

impl Period {
    /// Parses `P[nY][nM][nW][nD]` (at least one part; weeks count as 7 days).
    pub fn parse(s: &str) -> Result<Period, String> {
        let err = || format!("{s:?} is not an ISO 8601 period such as P3M, P1Y, P30D or P2W");
        let body = s.strip_prefix('P').ok_or_else(err)?;
        if body.is_empty() {
            return Err(err());
        }
        let mut p = Period::default();
        let mut num = String::new();
        let mut last_rank = 0;
        for ch in body.chars() {
            if ch.is_ascii_digit() {
                num.push(ch);
                continue;
            }
            let n: u32 = num.parse().map_err(|_| err())?;
            num.clear();
            let rank = match ch {
                'Y' => 1,
                'M' => 2,
                'W' => 3,
                'D' => 4,
                _ => return Err(err()),
            };
            if rank <= last_rank {
                return Err(err());
            }
            last_rank = rank;
            match ch {
                'Y' => p.years = n,
                'M' => p.months = n,
                'W' => p.days = p.days.checked_add(n.checked_mul(7).ok_or_else(err)?).ok_or_else(err)?,
                _ => p.days = p.days.checked_add(n).ok_or_else(err)?,
            }
        }
        if !num.is_empty() || p.years > 1000 || p.months > 12_000 || p.days > 366_000 {
            return Err(err());
        }
        Ok(p)
    }

    fn total_months(&self) -> u32 {
        self.years * 12 + self.months
    }

    /// `date` moved back by this period; month steps clamp to the month's last day.
    pub fn before(&self, date: NaiveDate) -> Option<NaiveDate> {
        date.checked_sub_months(Months::new(self.total_months()))?.checked_sub_days(chrono::Days::new(self.days as u64))
    }

    /// `date` moved forward by this period; month steps clamp to the month's last day.
    pub fn after(&self, date: NaiveDate) -> Option<NaiveDate> {
        date.checked_add_months(Months::new(self.total_months()))?.checked_add_days(chrono::Days::new(self.days as u64))
    }
}

/// The last day of a term of `months` months that starts on `start`.
///
/// A term runs up to the day before the day with the same number `months` later; when that
/// month has no such day (31 January + 1 month, 29 February + 12 months) the term ends on that
/// month's last day. So 12 months from 1 January end on 31 December, and 12 months from
/// 29 February 2024 end on 28 February 2025.
pub fn term_end(start: NaiveDate, months: u32) -> Option<NaiveDate> {
    let target = start.checked_add_months(Months::new(months))?;
    if target.day() == start.day() {
        target.pred_opt()
    } else {
        // The day does not exist in the target month: the term takes the whole month.
        Some(target)
    }
}

/// The last day on which notice can still be given so that the contract ends on `end`:
/// the notice period must fit between the day after notice and `end`, both included.
pub fn notice_deadline(end: NaiveDate, notice: &Period) -> Option<NaiveDate> {
    notice.before(end.succ_opt()?)?.pred_opt()
}

/// The renewal facts of a contract, enough to compute its end and notice dates.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    pub start: NaiveDate,
    /// Months from `start` to the current end, renewals included; `None` = open-ended.
    pub total_months: Option<u32>,
    /// The day the contract was terminated with effect, if it was.
    pub terminated_on: Option<NaiveDate>,
    pub notice: Option<Period>,
}

impl Term {
    /// Current end date: the end of the term, or an earlier termination date.
    pub fn end_date(&self) -> Option<NaiveDate> {
        let natural = self.total_months.and_then(|m| term_end(self.start, m));
        match (natural, self.terminated_on) {
            (Some(n), Some(t)) => Some(n.min(t)),
            (None, t) => t,
            (n, None) => n,
        }
    }

    /// Last day to give notice before the current end (none for open-ended or terminated ones).
    pub fn notice_deadline(&self) -> Option<NaiveDate> {
        if self.terminated_on.is_some() {
            return None;
        }
        let end = self.total_months.and_then(|m| term_end(self.start, m))?;
        notice_deadline(end, self.notice.as_ref()?)
    }
}

/// How many renewals of `renewal_months` an auto-renewing contract needs so that its term
/// covers `today` again (0 when it still runs). Ends are always computed from the original
/// start, so month-end starts do not drift (31 Jan, 28 Feb, 28 Mar, …).
pub fn renewals_due(start: NaiveDate, total_months: u32, renewal_months: u32, today: NaiveDate) -> u32 {
    if renewal_months == 0 {
        return 0;
    }
    let mut n = 0;
    let mut months = total_months;
    while term_end(start, months).is_some_and(|end| end < today) && n < 10_000 {
        months += renewal_months;
        n += 1;
    }
    n
}

/// The date a reminder counts back from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[schema(as = ReminderAnchor)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// The last day to give notice (`notice_deadline`); its reminder fires a
    /// `contract.notice_approaching` event.
    NoticeDeadline,
    /// The end date of a contract that does not renew by itself; its reminder fires a
    /// `contract.expiring` event.
    EndDate,
}

impl Anchor {
    pub fn as_str(self) -> &'static str {
        match self {
            Anchor::NoticeDeadline => "notice_deadline",
            Anchor::EndDate => "end_date",
        }
    }

    /// The action of the contract event a reminder of this anchor appends.
    pub fn event_action(self) -> &'static str {
        match self {
            Anchor::NoticeDeadline => "notice_approaching",
            Anchor::EndDate => "expiring",
        }
    }
}

/// Most days a reminder may lie before its date.
pub const MAX_REMINDER_DAYS: u32 = 366;
/// Most reminders one contract or contract type may have.
pub const MAX_REMINDERS: usize = 10;

/// A reminder: `days` days before a contract's notice deadline or end date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reminder {
    /// The date it counts back from.
    pub before: Anchor,
    /// Days before that date, 1–366.
    #[schema(minimum = 1, maximum = 366, example = 60)]
    pub days: u32,
}

impl Reminder {
    /// The reminder's name in its firing key: `notice_deadline-60d`.
    pub fn key(&self) -> String {
        format!("{}-{}d", self.before.as_str(), self.days)
    }

    /// The day it falls on for a deadline.
    pub fn day(&self, deadline: NaiveDate) -> Option<NaiveDate> {
        deadline.checked_sub_days(chrono::Days::new(self.days as u64))
    }
}

/// What is wrong with a list of reminders, as (index or `None` for the list, message).
pub fn check_reminders(list: &[Reminder]) -> Vec<(Option<usize>, String)> {
    let mut problems = Vec::new();
    if list.len() > MAX_REMINDERS {
        problems.push((None, format!("at most {MAX_REMINDERS} reminders")));
    }
    for (i, r) in list.iter().enumerate() {
        if !(1..=MAX_REMINDER_DAYS).contains(&r.days) {
            problems.push((Some(i), format!("days must be from 1 to {MAX_REMINDER_DAYS}")));
        } else if list[..i].contains(r) {
            problems.push((Some(i), "the same reminder is listed twice".to_string()));
        }
    }
    problems
}

/// The dates a contract's reminders count back from: its notice deadline, and its end date
/// when it does not renew by itself. A contract that is not in force (draft, terminated,
/// expired) has none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deadlines {
    pub notice: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

impl Deadlines {
    pub fn of(status: Status, auto_renew: bool, notice: Option<NaiveDate>, end: Option<NaiveDate>) -> Deadlines {
        match status {
            Status::Active | Status::Suspended => Deadlines { notice, end: if auto_renew { None } else { end } },
            _ => Deadlines::default(),
        }
    }

    pub fn get(&self, anchor: Anchor) -> Option<NaiveDate> {
        match anchor {
            Anchor::NoticeDeadline => self.notice,
            Anchor::EndDate => self.end,
        }
    }
}

/// A reminder whose day has come, for one deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due {
    pub reminder: Reminder,
    pub deadline: NaiveDate,
    pub day: NaiveDate,
}

/// The reminders to fire on `today`: per date, of the reminders whose day has come (today or
/// earlier, say during downtime) while the date itself has not passed, the latest one. An
/// earlier one it supersedes (its day and a later reminder's day both passed unfired) is not
/// fired any more: it would tell less, later. Each (reminder, deadline) fires once: callers
/// key firings on it, so asking again on a later day gives the same answer, never a second one.
pub fn due_reminders(deadlines: &Deadlines, reminders: &[Reminder], today: NaiveDate) -> Vec<Due> {
    let mut out: Vec<Due> = Vec::new();
    for anchor in [Anchor::NoticeDeadline, Anchor::EndDate] {
        let Some(deadline) = deadlines.get(anchor).filter(|d| *d >= today) else { continue };
        let latest = reminders
            .iter()
            .filter(|r| r.before == anchor)
            .filter_map(|r| r.day(deadline).filter(|day| *day <= today).map(|day| Due { reminder: *r, deadline, day }))
            .max_by_key(|d| d.day);
        out.extend(latest);
    }
    out
}

/// The days of every reminder still to come (after `today`), earliest first.
pub fn upcoming_reminders(deadlines: &Deadlines, reminders: &[Reminder], today: NaiveDate) -> Vec<Due> {
    let mut out: Vec<Due> = reminders
        .iter()
        .filter_map(|r| {
            let deadline = deadlines.get(r.before)?;
            r.day(deadline).filter(|day| *day > today).map(|day| Due { reminder: *r, deadline, day })
        })
        .collect();
    out.sort_by_key(|d| (d.day, d.reminder));
    out
}

/// The owners in force below a contract whose owner in force is `top.1`: each contract's own
/// owner, or else its parent's in force. `below` gives (id, parent id, own owner) of every
/// contract below it, each parent before its children (by depth). Gives each id with its owner
/// in force.
pub fn owners_in_force<'a, O: Clone>(
    top: (&'a str, Option<O>),
    below: impl IntoIterator<Item = (&'a str, &'a str, Option<O>)>,
) -> Vec<(&'a str, Option<O>)> {
    let mut in_force: std::collections::HashMap<&str, Option<O>> = [top].into_iter().collect();
    let mut out = Vec::new();
    for (id, parent, own) in below {
        let owner = own.or_else(|| in_force.get(parent).cloned().flatten());
        in_force.insert(id, owner.clone());
        out.push((id, owner));
    }
    out
}

/// The reminders of contracts that have none of their own, per contract type (`CONTRACT_REMINDERS`):
/// a type's own list, else the list under `*`, else none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReminderDefaults(std::collections::BTreeMap<String, Vec<Reminder>>);

impl Default for ReminderDefaults {
    /// 60 and 14 days before the notice deadline and 30 days before the end date, for every type.
    fn default() -> ReminderDefaults {
        let standard = vec![
            Reminder { before: Anchor::NoticeDeadline, days: 60 },
            Reminder { before: Anchor::NoticeDeadline, days: 14 },
            Reminder { before: Anchor::EndDate, days: 30 },
        ];
        ReminderDefaults([("*".to_string(), standard)].into_iter().collect())
    }
}

impl ReminderDefaults {
    /// No reminders for any type.
    pub fn none() -> ReminderDefaults {
        ReminderDefaults(Default::default())
    }

    /// Reads `{"*": [{"before": "notice_deadline", "days": 60}], "lease": [...]}` and checks each list.
    pub fn parse(raw: &str) -> Result<ReminderDefaults, String> {
        let map: std::collections::BTreeMap<String, Vec<Reminder>> = serde_json::from_str(raw).map_err(|e| {
            format!("not a JSON object of contract type (or \"*\") to a list of {{\"before\", \"days\"}}: {e}")
        })?;
        for (contract_type, list) in &map {
            if let Some((_, problem)) = check_reminders(list).into_iter().next() {
                return Err(format!("the reminders of {contract_type:?}: {problem}"));
            }
        }
        Ok(ReminderDefaults(map))
    }

    /// The reminders of a contract of `contract_type` that has none of its own.
    pub fn of(&self, contract_type: &str) -> &[Reminder] {
        self.0.get(contract_type).or_else(|| self.0.get("*")).map(Vec::as_slice).unwrap_or_default()
    }

    /// The most days any default reminder lies before its date (0 without any).
    pub fn max_days(&self) -> u32 {
        self.0.values().flatten().map(|r| r.days).max().unwrap_or(0)
    }
}

/// Fills a contract-number pattern: `{YYYY}` is the year, `{SEQ}` the counter, `{SEQ:n}` the
/// counter zero-padded to n digits.
pub fn format_number(pattern: &str, year: i32, seq: i64) -> String {
    let mut out = pattern.replace("{YYYY}", &format!("{year:04}"));
    while let Some(start) = out.find("{SEQ") {
        let Some(len) = out[start..].find('}') else { break };
        let spec = &out[start + 4..start + len];
        let width = spec.strip_prefix(':').and_then(|w| w.parse::<usize>().ok()).unwrap_or(0);
        out.replace_range(start..start + len + 1, &format!("{seq:0width$}"));
    }
    out
}

/// The pattern of generated contract numbers (`CONTRACT_NUMBER_PATTERN`): `{YYYY}` is the year,
/// `{SEQ}` or `{SEQ:n}` a counter zero-padded to n digits. Handlers get it as app data.
#[derive(Clone, Debug)]
pub struct NumberPattern(pub String);

/// Checks a number pattern at startup: it must contain `{SEQ}` or `{SEQ:n}`.
pub fn check_number_pattern(pattern: &str) -> Result<(), String> {
    let a = format_number(pattern, 2026, 1);
    let b = format_number(pattern, 2026, 2);
    if a == b || a.contains('{') {
        return Err(format!(
            "CONTRACT_NUMBER_PATTERN {pattern:?} must contain {{SEQ}} or {{SEQ:n}} and no other placeholders"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn twelve_months_from_first_of_january_end_on_31_december() {
        assert_eq!(term_end(d("2026-01-01"), 12), Some(d("2026-12-31")));
        assert_eq!(term_end(d("2026-03-15"), 1), Some(d("2026-04-14")));
    }

    #[test]
    fn month_end_starts_take_the_whole_last_month() {
        assert_eq!(term_end(d("2026-01-31"), 1), Some(d("2026-02-28")));
        assert_eq!(term_end(d("2028-01-31"), 1), Some(d("2028-02-29")));
        assert_eq!(term_end(d("2026-01-30"), 1), Some(d("2026-02-28")));
        assert_eq!(term_end(d("2026-01-28"), 1), Some(d("2026-02-27")));
        assert_eq!(term_end(d("2026-08-31"), 1), Some(d("2026-09-30")));
    }

    #[test]
    fn leap_day_starts() {
        assert_eq!(term_end(d("2024-02-29"), 12), Some(d("2025-02-28")));
        assert_eq!(term_end(d("2024-02-29"), 48), Some(d("2028-02-28")));
    }

    #[test]
    fn notice_deadline_counts_back_from_the_end() {
        let three_months = Period::parse("P3M").unwrap();
        assert_eq!(notice_deadline(d("2026-12-31"), &three_months), Some(d("2026-09-30")));
        assert_eq!(notice_deadline(d("2026-05-31"), &three_months), Some(d("2026-02-28")));
        let thirty_days = Period::parse("P30D").unwrap();
        assert_eq!(notice_deadline(d("2026-12-31"), &thirty_days), Some(d("2026-12-01")));
        let one_year = Period::parse("P1Y").unwrap();
        // Ending the day before a leap day: a year counted from 1 March 2027 would run to 29 February
        // 2028, one day too long, so the last notice day is 27 February 2027.
        assert_eq!(notice_deadline(d("2028-02-28"), &one_year), Some(d("2027-02-27")));
        assert_eq!(notice_deadline(d("2027-02-28"), &one_year), Some(d("2026-02-28")));
    }

    #[test]
    fn periods_parse_strictly() {
        assert_eq!(Period::parse("P1Y6M").unwrap(), Period { years: 1, months: 6, days: 0 });
        assert_eq!(Period::parse("P2W").unwrap().days, 14);
        for bad in ["", "P", "3M", "P3", "PM", "P3X", "P6M1Y", "P1.5M", "PT3H", "P99999999999D"] {
            assert!(Period::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn term_end_and_notice_follow_termination() {
        let mut t = Term {
            start: d("2026-01-01"),
            total_months: Some(24),
            terminated_on: None,
            notice: Some(Period::parse("P3M").unwrap()),
        };
        assert_eq!(t.end_date(), Some(d("2027-12-31")));
        assert_eq!(t.notice_deadline(), Some(d("2027-09-30")));
        t.terminated_on = Some(d("2026-06-30"));
        assert_eq!(t.end_date(), Some(d("2026-06-30")));
        assert_eq!(t.notice_deadline(), None);
        t.total_months = None;
        assert_eq!(t.end_date(), Some(d("2026-06-30")));
    }

    #[test]
    fn renewals_catch_up_without_drift() {
        assert_eq!(renewals_due(d("2026-01-31"), 1, 1, d("2026-02-28")), 0);
        assert_eq!(renewals_due(d("2026-01-31"), 1, 1, d("2026-03-01")), 1);
        assert_eq!(term_end(d("2026-01-31"), 2), Some(d("2026-03-30")));
        assert_eq!(renewals_due(d("2026-01-01"), 12, 12, d("2029-06-01")), 3);
        assert_eq!(renewals_due(d("2026-01-01"), 12, 0, d("2029-06-01")), 0);
    }

    #[test]
    fn transitions() {
        use Action::*;
        use Status::*;
        assert_eq!(transition(Draft, Activate), Some(Active));
        assert_eq!(transition(Suspended, Activate), Some(Active));
        assert_eq!(transition(Active, Activate), None);
        assert_eq!(transition(Active, Suspend), Some(Suspended));
        assert_eq!(transition(Draft, Suspend), None);
        assert_eq!(transition(Active, Terminate), Some(Terminated));
        assert_eq!(transition(Terminated, Terminate), None);
        assert_eq!(transition(Expired, Renew), Some(Active));
        assert_eq!(transition(Terminated, Renew), None);
        assert_eq!(transition(Draft, Renew), None);
        assert_eq!(transition(Active, Expire), Some(Expired));
        assert_eq!(transition(Suspended, Expire), Some(Expired));
        assert_eq!(transition(Draft, Expire), None);
    }

    #[test]
    fn numbers_follow_the_pattern() {
        assert_eq!(format_number("C-{YYYY}-{SEQ:6}", 2026, 42), "C-2026-000042");
        assert_eq!(format_number("K{SEQ}", 2026, 7), "K7");
        assert!(check_number_pattern("C-{YYYY}").is_err());
        assert!(check_number_pattern("C-{SEQ:4}").is_ok());
    }

    fn rem(before: Anchor, days: u32) -> Reminder {
        Reminder { before, days }
    }

    fn standard() -> Vec<Reminder> {
        vec![rem(Anchor::NoticeDeadline, 60), rem(Anchor::NoticeDeadline, 14), rem(Anchor::EndDate, 30)]
    }

    #[test]
    fn reminder_days_count_back_from_their_date() {
        assert_eq!(rem(Anchor::NoticeDeadline, 60).day(d("2026-09-30")), Some(d("2026-08-01")));
        assert_eq!(rem(Anchor::NoticeDeadline, 14).day(d("2026-03-01")), Some(d("2026-02-15")));
        // Across a leap day.
        assert_eq!(rem(Anchor::EndDate, 30).day(d("2028-03-15")), Some(d("2028-02-14")));
        assert_eq!(rem(Anchor::NoticeDeadline, 60).key(), "notice_deadline-60d");
    }

    #[test]
    fn a_reminder_is_due_from_its_day_until_its_deadline() {
        let dl = Deadlines { notice: Some(d("2026-09-30")), end: None };
        assert!(due_reminders(&dl, &standard(), d("2026-07-31")).is_empty());
        let due = due_reminders(&dl, &standard(), d("2026-08-01"));
        assert_eq!(
            due,
            vec![Due { reminder: rem(Anchor::NoticeDeadline, 60), deadline: d("2026-09-30"), day: d("2026-08-01") }]
        );
        // Its day passed during downtime: still due while the deadline has not passed.
        assert_eq!(due_reminders(&dl, &standard(), d("2026-08-20"))[0].reminder.days, 60);
        assert_eq!(due_reminders(&dl, &standard(), d("2026-09-16"))[0].reminder.days, 14);
        assert_eq!(due_reminders(&dl, &standard(), d("2026-09-30"))[0].reminder.days, 14);
        assert!(due_reminders(&dl, &standard(), d("2026-10-01")).is_empty());
    }

    #[test]
    fn only_the_latest_passed_reminder_of_a_date_is_due() {
        let dl = Deadlines { notice: Some(d("2026-09-30")), end: Some(d("2026-12-31")) };
        let due = due_reminders(&dl, &standard(), d("2026-12-05"));
        // The notice deadline passed; the end date's reminder (1 December) is due.
        assert_eq!(
            due,
            vec![Due { reminder: rem(Anchor::EndDate, 30), deadline: d("2026-12-31"), day: d("2026-12-01") }]
        );
        let due = due_reminders(&dl, &standard(), d("2026-09-20"));
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].reminder.days, due[0].day), (14, d("2026-09-16")));
    }

    #[test]
    fn only_contracts_in_force_have_deadlines() {
        let (notice, end) = (Some(d("2026-09-30")), Some(d("2026-12-31")));
        assert_eq!(Deadlines::of(Status::Active, false, notice, end), Deadlines { notice, end });
        // A contract that renews by itself does not expire: no end-date reminder.
        assert_eq!(Deadlines::of(Status::Suspended, true, notice, end), Deadlines { notice, end: None });
        for status in [Status::Draft, Status::Terminated, Status::Expired] {
            assert_eq!(Deadlines::of(status, false, notice, end), Deadlines::default());
        }
    }

    #[test]
    fn a_renewal_moves_the_reminders_with_the_deadline() {
        let term = |months| Term {
            start: d("2026-01-01"),
            total_months: Some(months),
            terminated_on: None,
            notice: Some(Period::parse("P3M").unwrap()),
        };
        let before = Deadlines { notice: term(12).notice_deadline(), end: None };
        let after = Deadlines { notice: term(24).notice_deadline(), end: None };
        let next = |dl: &Deadlines| upcoming_reminders(dl, &standard(), d("2026-06-15"))[0];
        assert_eq!((next(&before).day, next(&before).deadline), (d("2026-08-01"), d("2026-09-30")));
        assert_eq!((next(&after).day, next(&after).deadline), (d("2027-08-01"), d("2027-09-30")));
    }

    #[test]
    fn reminder_lists_are_checked() {
        assert!(check_reminders(&standard()).is_empty());
        assert_eq!(check_reminders(&[rem(Anchor::EndDate, 0)])[0].0, Some(0));
        assert_eq!(check_reminders(&[rem(Anchor::EndDate, 367)]).len(), 1);
        assert_eq!(check_reminders(&[rem(Anchor::EndDate, 3), rem(Anchor::EndDate, 3)])[0].0, Some(1));
        let many: Vec<Reminder> = (1..=11).map(|n| rem(Anchor::EndDate, n)).collect();
        assert_eq!(check_reminders(&many)[0].0, None);
    }

    #[test]
    fn reminder_defaults_go_by_contract_type() {
        let defaults = ReminderDefaults::parse(
            r#"{"*": [{"before": "end_date", "days": 30}], "lease": [{"before": "notice_deadline", "days": 90}]}"#,
        )
        .unwrap();
        assert_eq!(defaults.of("lease"), &[rem(Anchor::NoticeDeadline, 90)]);
        assert_eq!(defaults.of("maintenance"), &[rem(Anchor::EndDate, 30)]);
        assert_eq!(defaults.max_days(), 90);
        assert!(ReminderDefaults::none().of("lease").is_empty());
        assert_eq!(ReminderDefaults::default().of("x"), standard().as_slice());
        assert!(ReminderDefaults::parse(r#"{"*": [{"before": "end_date", "days": 0}]}"#).is_err());
        assert!(ReminderDefaults::parse(r#"{"*": [{"before": "start_date", "days": 3}]}"#).is_err());
        assert!(ReminderDefaults::parse("[]").is_err());
    }

    #[test]
    fn owners_are_inherited_from_the_nearest_ancestor_with_one() {
        // top (a) ─ b ─ c (own: x) ─ d
        //          └ e
        let below = [("b", "a", None), ("e", "a", None), ("c", "b", Some("x")), ("d", "c", None)];
        let got = owners_in_force(("a", Some("top")), below);
        assert_eq!(got, [("b", Some("top")), ("e", Some("top")), ("c", Some("x")), ("d", Some("x"))]);
        let got = owners_in_force(("a", None), below);
        assert_eq!(got, [("b", None), ("e", None), ("c", Some("x")), ("d", Some("x"))]);
    }
}
