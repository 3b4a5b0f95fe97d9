//! SLA clock arithmetic: adding and measuring time on a 24/7 clock or within weekly business
//! hours in an IANA time zone, with holidays. Pure: no I/O.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use std::collections::BTreeSet;

/// The longest span an SLA clock is followed, so a calendar with almost no open time cannot
/// make a request loop for ever.
const MAX_DAYS: u32 = 366 * 10;

/// When the SLA clock runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Calendar {
    /// Around the clock, every day.
    Always,
    /// Only within these hours.
    Business(BusinessCalendar),
}

/// Weekly opening hours in a time zone, minus holidays.
#[derive(Clone, Debug, PartialEq)]
pub struct BusinessCalendar {
    tz: Tz,
    /// Per weekday (Monday first): sorted, non-overlapping (from, to) minutes of the local day;
    /// `to` may be 1440 (midnight at the end of the day).
    week: [Vec<(u32, u32)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

impl BusinessCalendar {
    /// Builds a calendar from windows of (weekday, from, to) minutes of the day. Overlapping or
    /// touching windows merge. Fails when no window opens at all.
    pub fn new(
        tz: Tz,
        windows: impl IntoIterator<Item = (Weekday, u32, u32)>,
        holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<BusinessCalendar, String> {
        let mut week: [Vec<(u32, u32)>; 7] = Default::default();
        for (day, from, to) in windows {
            if from >= to || to > 24 * 60 {
                return Err(format!("a window must end after it starts, within the day (got {from}..{to} minutes)"));
            }
            week[day.num_days_from_monday() as usize].push((from, to));
        }
        for day in week.iter_mut() {
            day.sort_unstable();
            let mut merged: Vec<(u32, u32)> = Vec::with_capacity(day.len());
            for &(from, to) in day.iter() {
                match merged.last_mut() {
                    Some(last) if from <= last.1 => last.1 = last.1.max(to),
                    _ => merged.push((from, to)),
                }
            }
            *day = merged;
        }
        if week.iter().all(Vec::is_empty) {
            return Err("business hours need at least one opening window".into());
        }
        Ok(BusinessCalendar { tz, week, holidays: holidays.into_iter().collect() })
    }

    /// The UTC instant of `minute` past local midnight of `day`. A local time skipped by a
    /// daylight-saving jump maps to the first instant after the jump; a repeated one to its
    /// first occurrence.
    fn instant(&self, day: NaiveDate, minute: u32) -> DateTime<Utc> {
        let local = day.and_time(NaiveTime::MIN) + Duration::minutes(minute as i64);
        let mut probe = local;
        for _ in 0..4 {
            if let Some(t) = self.tz.from_local_datetime(&probe).earliest() {
                return t.with_timezone(&Utc);
            }
            probe += Duration::minutes(30);
        }
        // No zone skips more than two hours; treat the wall time as UTC as a last resort.
        Utc.from_utc_datetime(&local)
    }

    /// The open periods of one local day, as UTC intervals.
    fn periods(&self, day: NaiveDate) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let windows: &[(u32, u32)] =
            if self.holidays.contains(&day) { &[] } else { &self.week[day.weekday().num_days_from_monday() as usize] };
        windows.iter().map(move |&(from, to)| (self.instant(day, from), self.instant(day, to)))
    }

    fn local_day(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }
}

impl Calendar {
    /// The instant `seconds` of clock time after `start`; `None` when the calendar does not
    /// open enough within ten years.
    pub fn add(&self, start: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        let cal = match self {
            Calendar::Always => return start.checked_add_signed(Duration::seconds(seconds)),
            Calendar::Business(cal) => cal,
        };
        let mut remaining = seconds.max(0);
        // The previous local day too: a window may run past midnight in UTC terms.
        let mut day = cal.local_day(start).pred_opt()?;
        for _ in 0..MAX_DAYS {
            for (open, close) in cal.periods(day) {
                let from = open.max(start);
                if from >= close {
                    continue;
                }
                let available = (close - from).num_seconds();
                if remaining <= available {
                    return Some(from + Duration::seconds(remaining));
                }
                remaining -= available;
            }
            day = day.succ_opt()?;
        }
        None
    }

    /// The clock time in seconds between `from` and `to` (0 when `to` is not later).
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let cal = match self {
            Calendar::Always => return (to - from).num_seconds(),
            Calendar::Business(cal) => cal,
        };
        let (Some(mut day), last) = (cal.local_day(from).pred_opt(), cal.local_day(to)) else { return 0 };
        let mut total = 0;
        for _ in 0..MAX_DAYS {
            if day > last {
                break;
            }
            for (open, close) in cal.periods(day) {
                let (a, b) = (open.max(from), close.min(to));
                if b > a {
                    total += (b - a).num_seconds();
                }
            }
            day = match day.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn office(tz: Tz, holidays: &[&str]) -> Calendar {
        let windows = [Mon, Tue, Wed, Thu, Fri].map(|d| (d, 8 * 60, 17 * 60));
        let holidays = holidays.iter().map(|d| d.parse().unwrap());
        Calendar::Business(BusinessCalendar::new(tz, windows, holidays).unwrap())
    }

    #[test]
    fn always_adds_wall_time() {
        assert_eq!(Calendar::Always.add(utc("2026-06-13T22:00:00Z"), 4 * 3600), Some(utc("2026-06-14T02:00:00Z")));
        assert_eq!(Calendar::Always.between(utc("2026-06-13T22:00:00Z"), utc("2026-06-14T02:00:00Z")), 4 * 3600);
    }

    #[test]
    fn business_hours_skip_the_weekend() {
        let cal = office(chrono_tz::UTC, &[]);
        // Friday 15:00 + 4 business hours: 2 on Friday, 2 on Monday.
        assert_eq!(cal.add(utc("2026-06-12T15:00:00Z"), 4 * 3600), Some(utc("2026-06-15T10:00:00Z")));
        assert_eq!(cal.between(utc("2026-06-12T15:00:00Z"), utc("2026-06-15T10:00:00Z")), 4 * 3600);
    }

    #[test]
    fn a_call_outside_hours_starts_counting_at_opening() {
        let cal = office(chrono_tz::UTC, &[]);
        // Saturday night: the clock starts Monday 08:00.
        assert_eq!(cal.add(utc("2026-06-13T23:00:00Z"), 3600), Some(utc("2026-06-15T09:00:00Z")));
        // Exactly the remaining time of the day ends at closing, not the next morning.
        assert_eq!(cal.add(utc("2026-06-15T16:00:00Z"), 3600), Some(utc("2026-06-15T17:00:00Z")));
    }

    #[test]
    fn holidays_are_closed() {
        // Thursday 24 and Friday 25 December 2026 are holidays.
        let cal = office(chrono_tz::UTC, &["2026-12-24", "2026-12-25"]);
        assert_eq!(cal.add(utc("2026-12-23T16:00:00Z"), 2 * 3600), Some(utc("2026-12-28T09:00:00Z")));
        assert_eq!(cal.between(utc("2026-12-23T16:00:00Z"), utc("2026-12-28T09:00:00Z")), 2 * 3600);
    }

    #[test]
    fn hours_are_local_to_the_time_zone() {
        // 08:00-17:00 in Amsterdam is 06:00-15:00 UTC in summer (CEST, +2).
        let cal = office(chrono_tz::Europe::Amsterdam, &[]);
        assert_eq!(cal.add(utc("2026-06-15T05:00:00Z"), 3600), Some(utc("2026-06-15T07:00:00Z")));
        // and 07:00-16:00 UTC in winter (CET, +1).
        assert_eq!(cal.add(utc("2026-12-14T05:00:00Z"), 3600), Some(utc("2026-12-14T08:00:00Z")));
        // New York: Friday 16:30 local (20:30 UTC) + 1h → Monday 08:30 local (12:30 UTC).
        let ny = office(chrono_tz::America::New_York, &[]);
        assert_eq!(ny.add(utc("2026-06-12T20:30:00Z"), 3600), Some(utc("2026-06-15T12:30:00Z")));
    }

    #[test]
    fn the_daylight_saving_switch_keeps_local_hours() {
        // Amsterdam switches to summer time on Sunday 29 March 2026. Friday 27 closes at 16:00
        // UTC (CET); Monday 30 opens at 06:00 UTC (CEST).
        let cal = office(chrono_tz::Europe::Amsterdam, &[]);
        assert_eq!(cal.add(utc("2026-03-27T15:00:00Z"), 2 * 3600), Some(utc("2026-03-30T07:00:00Z")));
    }

    #[test]
    fn a_pause_is_measured_in_business_time() {
        let cal = office(chrono_tz::UTC, &[]);
        // On hold from Friday 16:00 to Monday 09:00: two business hours paused.
        let paused = cal.between(utc("2026-06-12T16:00:00Z"), utc("2026-06-15T09:00:00Z"));
        assert_eq!(paused, 2 * 3600);
        // Resuming moves a deadline of Monday 12:00 by those two hours.
        assert_eq!(cal.add(utc("2026-06-15T12:00:00Z"), paused), Some(utc("2026-06-15T14:00:00Z")));
    }

    #[test]
    fn windows_merge_and_must_open() {
        let cal = BusinessCalendar::new(chrono_tz::UTC, [(Mon, 600, 720), (Mon, 480, 660)], []).unwrap();
        assert_eq!(cal.week[0], vec![(480, 720)]);
        assert!(BusinessCalendar::new(chrono_tz::UTC, [], []).is_err());
        assert!(BusinessCalendar::new(chrono_tz::UTC, [(Mon, 600, 600)], []).is_err());
    }

    #[test]
    fn a_calendar_that_never_opens_gives_no_deadline() {
        // Open only on Mondays, and every Monday for ten years is a holiday.
        let start: NaiveDate = "2026-06-15".parse().unwrap();
        let mondays = (0..600).map(|w| start + Duration::weeks(w));
        let cal = Calendar::Business(BusinessCalendar::new(chrono_tz::UTC, [(Mon, 480, 1020)], mondays).unwrap());
        assert_eq!(cal.add(utc("2026-06-15T00:00:00Z"), 3600), None);
    }

    #[test]
    fn a_midnight_window_runs_to_the_end_of_the_day() {
        let cal = Calendar::Business(BusinessCalendar::new(chrono_tz::UTC, [(Sat, 22 * 60, 24 * 60)], []).unwrap());
        assert_eq!(cal.add(utc("2026-06-13T23:00:00Z"), 3600), Some(utc("2026-06-14T00:00:00Z")));
    }
}
