//! The service level a contract grants: response and resolution times per priority, counted
//! around the clock or in business hours. Service calls run their SLA clocks on it.

use super::business_hours::{BusinessCalendar, Calendar};
use crate::error::FieldError;
use chrono::{NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How urgent a call is; each has its own response and resolution times.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Critical,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        Some(match s {
            "low" => Priority::Low,
            "normal" => Priority::Normal,
            "high" => Priority::High,
            "critical" => Priority::Critical,
            _ => return None,
        })
    }
}

crate::db::column::text_enum!(Priority, "priority");

/// Response and resolution time for one priority, in hours (fractions allowed: 0.5 = 30 min).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Times {
    /// Hours until the first response.
    #[schema(example = 4)]
    pub response_hours: f64,
    /// Hours until the call must be resolved.
    #[schema(example = 24)]
    pub resolution_hours: f64,
}

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl From<Day> for Weekday {
    fn from(d: Day) -> Weekday {
        match d {
            Day::Mon => Weekday::Mon,
            Day::Tue => Weekday::Tue,
            Day::Wed => Weekday::Wed,
            Day::Thu => Weekday::Thu,
            Day::Fri => Weekday::Fri,
            Day::Sat => Weekday::Sat,
            Day::Sun => Weekday::Sun,
        }
    }
}

/// Opening hours on some days of the week, in local time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    #[schema(example = json!(["mon", "tue", "wed", "thu", "fri"]))]
    pub days: Vec<Day>,
    /// Opening time, `HH:MM`.
    #[schema(example = "08:00")]
    pub from: String,
    /// Closing time, `HH:MM` (`24:00` = midnight at the end of the day); after `from`.
    #[schema(example = "17:00")]
    pub to: String,
}

/// When the SLA clocks run. Without business hours they run around the clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// IANA time zone the windows and holidays are in.
    #[schema(example = "Europe/Amsterdam")]
    pub time_zone: String,
    /// Weekly opening windows (at least one).
    pub windows: Vec<Window>,
    /// Days on which the clock does not run.
    #[serde(default)]
    #[schema(example = json!(["2026-12-25", "2026-12-26"]))]
    pub holidays: Vec<NaiveDate>,
}

/// Response and resolution times per priority, optionally counted in business hours.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceLevel {
    /// Shown to agents and customers, e.g. `Gold`.
    #[schema(example = "Gold")]
    pub name: String,
    pub low: Times,
    pub normal: Times,
    pub high: Times,
    pub critical: Times,
    /// Absent: the clocks run 24/7.
    pub business_hours: Option<BusinessHours>,
}

/// Longest response or resolution time: a year.
const MAX_HOURS: f64 = 8760.0;

fn parse_time(s: &str) -> Option<u32> {
    if s == "24:00" {
        return Some(24 * 60);
    }
    let t = NaiveTime::parse_from_str(s, "%H:%M").ok()?;
    Some(t.hour_minute())
}

trait HourMinute {
    fn hour_minute(&self) -> u32;
}

impl HourMinute for NaiveTime {
    fn hour_minute(&self) -> u32 {
        use chrono::Timelike;
        self.hour() * 60 + self.minute()
    }
}

impl ServiceLevel {
    pub fn times(&self, p: Priority) -> &Times {
        match p {
            Priority::Low => &self.low,
            Priority::Normal => &self.normal,
            Priority::High => &self.high,
            Priority::Critical => &self.critical,
        }
    }

    /// Every problem with this service level, with field paths under `prefix`.
    pub fn check(&self, prefix: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        crate::http::check_text(&mut errors, &format!("{prefix}.name"), &self.name, 200);
        for p in [Priority::Low, Priority::Normal, Priority::High, Priority::Critical] {
            let t = self.times(p);
            for (name, v) in [("response_hours", t.response_hours), ("resolution_hours", t.resolution_hours)] {
                if !(v > 0.0 && v <= MAX_HOURS) {
                    errors.push(FieldError::new(
                        format!("{prefix}.{}.{name}", p.as_str()),
                        "out_of_range",
                        format!("must be more than 0 and at most {MAX_HOURS} hours"),
                    ));
                }
            }
            if t.response_hours > t.resolution_hours {
                errors.push(FieldError::new(
                    format!("{prefix}.{}.response_hours", p.as_str()),
                    "out_of_range",
                    "the response time cannot be longer than the resolution time",
                ));
            }
        }
        if let Some(bh) = &self.business_hours {
            if let Err((field, message)) = bh.calendar() {
                errors.push(FieldError::new(format!("{prefix}.business_hours{field}"), "invalid_value", message));
            }
        }
        errors
    }

    /// The calendar the clocks run on; a stored level was checked, so errors fall back to 24/7.
    pub fn calendar(&self) -> Calendar {
        match &self.business_hours {
            None => Calendar::Always,
            Some(bh) => bh.calendar().map(Calendar::Business).unwrap_or(Calendar::Always),
        }
    }
}

impl BusinessHours {
    /// The calendar, or the (field suffix, message) that is wrong.
    fn calendar(&self) -> Result<BusinessCalendar, (String, String)> {
        let tz: chrono_tz::Tz = self.time_zone.parse().map_err(|_| {
            (
                ".time_zone".to_string(),
                format!("{:?} is not an IANA time zone such as Europe/Amsterdam", self.time_zone),
            )
        })?;
        if self.holidays.len() > 1000 {
            return Err((".holidays".into(), "at most 1000 holidays".into()));
        }
        if self.windows.len() > 50 {
            return Err((".windows".into(), "at most 50 windows".into()));
        }
        let mut spans = Vec::new();
        for (i, w) in self.windows.iter().enumerate() {
            let (from, to) = match (parse_time(&w.from), parse_time(&w.to)) {
                (Some(f), Some(t)) if f < t => (f, t),
                _ => {
                    return Err((
                        format!(".windows[{i}]"),
                        "from and to are HH:MM times with from before to (to may be 24:00)".into(),
                    ))
                }
            };
            if w.days.is_empty() {
                return Err((format!(".windows[{i}].days"), "name at least one day".into()));
            }
            spans.extend(w.days.iter().map(|d| (Weekday::from(*d), from, to)));
        }
        BusinessCalendar::new(tz, spans, self.holidays.iter().copied()).map_err(|m| (".windows".to_string(), m))
    }
}
