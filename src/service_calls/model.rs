//! Service-call rules without I/O: priorities, the lifecycle, service levels and their SLA
//! clocks (deadlines, pauses, breaches and the at-risk zone).

use crate::auth::Role;
use crate::contracts::business_hours::Calendar;
pub use crate::contracts::service_level::{Priority, ServiceLevel};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How the call came in.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Phone,
    Email,
    Web,
    Portal,
    Api,
    Other,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Phone => "phone",
            Channel::Email => "email",
            Channel::Web => "web",
            Channel::Portal => "portal",
            Channel::Api => "api",
            Channel::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Some(match s {
            "phone" => Channel::Phone,
            "email" => Channel::Email,
            "web" => Channel::Web,
            "portal" => Channel::Portal,
            "api" => Channel::Api,
            "other" => Channel::Other,
            _ => return None,
        })
    }
}

crate::db::column::text_enum!(Channel, "service-call channel");

/// Where a call is in its lifecycle.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[schema(as = ServiceCallStatus)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Registered, nobody has responded yet.
    New,
    /// Someone responded; the response clock stopped.
    Acknowledged,
    /// Being worked on.
    InProgress,
    /// Waiting (for the customer, parts); the resolution clock is paused.
    OnHold,
    /// Fixed; the resolution clock stopped.
    Resolved,
    /// Done with, after resolution.
    Closed,
    /// Withdrawn before resolution.
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Acknowledged => "acknowledged",
            Status::InProgress => "in_progress",
            Status::OnHold => "on_hold",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "new" => Status::New,
            "acknowledged" => Status::Acknowledged,
            "in_progress" => Status::InProgress,
            "on_hold" => Status::OnHold,
            "resolved" => Status::Resolved,
            "closed" => Status::Closed,
            "cancelled" => Status::Cancelled,
            _ => return None,
        })
    }

    /// Still to be resolved: can take new actions and be cancelled.
    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::Acknowledged | Status::InProgress | Status::OnHold)
    }
}

crate::db::column::text_enum!(Status, "service-call status");

/// A lifecycle verb on a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Acknowledge,
    Start,
    Hold,
    Resume,
    Resolve,
    Close,
    Cancel,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Acknowledge => "acknowledge",
            Action::Start => "start",
            Action::Hold => "hold",
            Action::Resume => "resume",
            Action::Resolve => "resolve",
            Action::Close => "close",
            Action::Cancel => "cancel",
        }
    }

    pub fn past_tense(self) -> &'static str {
        match self {
            Action::Acknowledge => "acknowledged",
            Action::Start => "started",
            Action::Hold => "held",
            Action::Resume => "resumed",
            Action::Resolve => "resolved",
            Action::Close => "closed",
            Action::Cancel => "cancelled",
        }
    }
}

/// The status after `action`, or `None` when the lifecycle does not allow it:
/// new → acknowledged → in_progress ⇄ on_hold; acknowledged, in_progress or on_hold →
/// resolved → closed; any open status → cancelled.
pub fn transition(from: Status, action: Action) -> Option<Status> {
    use Status::*;
    match (from, action) {
        (New, Action::Acknowledge) => Some(Acknowledged),
        (Acknowledged, Action::Start) => Some(InProgress),
        (InProgress, Action::Hold) => Some(OnHold),
        (OnHold, Action::Resume) => Some(InProgress),
        (Acknowledged | InProgress | OnHold, Action::Resolve) => Some(Resolved),
        (Resolved, Action::Close) => Some(Closed),
        (s, Action::Cancel) if s.is_open() => Some(Cancelled),
        _ => None,
    }
}

/// The SLA deadlines of a call, fixed at registration and moved by pauses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    pub respond_by: Option<DateTime<Utc>>,
    /// From here on less than the at-risk share of the response time is left.
    pub respond_risk_at: Option<DateTime<Utc>>,
    pub resolve_by: Option<DateTime<Utc>>,
    pub resolve_risk_at: Option<DateTime<Utc>>,
}

impl Deadlines {
    pub const NONE: Deadlines =
        Deadlines { respond_by: None, respond_risk_at: None, resolve_by: None, resolve_risk_at: None };

    /// The deadlines of a call with `priority` reported at `reported_at`; `risk_share` is the
    /// share of the allowed time (0..1) below which the call is at risk.
    pub fn compute(level: &ServiceLevel, priority: Priority, reported_at: DateTime<Utc>, risk_share: f64) -> Deadlines {
        let cal = level.calendar();
        let t = level.times(priority);
        let clock = |hours: f64| {
            let allowed = (hours * 3600.0).round() as i64;
            let risk = (allowed as f64 * (1.0 - risk_share)).round() as i64;
            (cal.add(reported_at, allowed), cal.add(reported_at, risk))
        };
        let (respond_by, respond_risk_at) = clock(t.response_hours);
        let (resolve_by, resolve_risk_at) = clock(t.resolution_hours);
        Deadlines { respond_by, respond_risk_at, resolve_by, resolve_risk_at }
    }
}

/// The clock time paused between `held_since` and `resumed_at`, and the resolution deadline
/// and risk point moved by it.
pub fn resume(
    level: Option<&ServiceLevel>,
    held_since: DateTime<Utc>,
    resumed_at: DateTime<Utc>,
    d: Deadlines,
) -> (i64, Deadlines) {
    let cal = level.map(ServiceLevel::calendar).unwrap_or(Calendar::Always);
    let paused = cal.between(held_since, resumed_at);
    let shift = |t: Option<DateTime<Utc>>| t.and_then(|t| cal.add(t, paused));
    (paused, Deadlines { resolve_by: shift(d.resolve_by), resolve_risk_at: shift(d.resolve_risk_at), ..d })
}

/// The moments that stop or freeze the clocks of a call.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stops {
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub on_hold_since: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// Where a call stands against its deadlines at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlaState {
    pub response_breached: bool,
    pub resolution_breached: bool,
    pub at_risk: bool,
}

/// Breaches and risk at `now`. The response clock stops at the acknowledgement; the resolution
/// clock at resolution and is frozen while on hold; cancellation stops both. A deadline is
/// breached when its clock passed it; a running clock in its last share is at risk. The store's
/// list filters state the same rules in SQL.
pub fn sla_state(d: &Deadlines, s: &Stops, now: DateTime<Utc>) -> SlaState {
    let response_end = s.acknowledged_at.or(s.cancelled_at).unwrap_or(now);
    let resolution_end = s.resolved_at.or(s.cancelled_at).or(s.on_hold_since).unwrap_or(now);
    let response_breached = d.respond_by.is_some_and(|by| response_end > by);
    let resolution_breached = d.resolve_by.is_some_and(|by| resolution_end > by);
    let running = |stop: bool, risk: Option<DateTime<Utc>>, by: Option<DateTime<Utc>>| {
        !stop && matches!((risk, by), (Some(r), Some(b)) if now >= r && now <= b)
    };
    let at_risk = running(s.acknowledged_at.is_some() || s.cancelled_at.is_some(), d.respond_risk_at, d.respond_by)
        || running(
            s.resolved_at.is_some() || s.cancelled_at.is_some() || s.on_hold_since.is_some(),
            d.resolve_risk_at,
            d.resolve_by,
        );
    SlaState { response_breached, resolution_breached, at_risk }
}

/// Roles that read a reporter's phone and e-mail: those who handle calls (agents, and the
/// systems that register them), admins and auditors. A field crew sees the call and the name,
/// not how to reach the person.
pub const READS_REPORTER_CONTACT: &[Role] = &[Role::Admin, Role::Viewer, Role::ServiceAgent, Role::Integration];

/// The reporter's fields that only [`READS_REPORTER_CONTACT`] read.
pub const REPORTER_CONTACT_FIELDS: &[&str] = &["phone", "email"];

pub fn reads_reporter_contact(roles: &[String]) -> bool {
    READS_REPORTER_CONTACT.iter().any(|r| roles.iter().any(|x| x == r.as_str()))
}

/// Checks the at-risk share from the configuration: more than 0, less than 1.
pub fn check_risk_share(share: f64) -> Result<f64, String> {
    if share > 0.0 && share < 1.0 {
        Ok(share)
    } else {
        Err(format!("SLA_AT_RISK_SHARE must be between 0 and 1 (exclusive), got {share}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::service_level::{BusinessHours, Day, Times, Window};

    #[test]
    fn reporter_contact_is_for_service_roles_admins_and_auditors() {
        let roles = |r: &[&str]| r.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        for r in ["admin", "viewer", "service_agent", "integration"] {
            assert!(reads_reporter_contact(&roles(&["maintenance-crew", r])), "{r}");
        }
        for r in ["contract_manager", "planner", "case_worker", "maintenance-crew"] {
            assert!(!reads_reporter_contact(&roles(&[r])), "{r}");
        }
        assert!(!reads_reporter_contact(&[]));
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn level(business_hours: Option<BusinessHours>) -> ServiceLevel {
        let t = |r, s| Times { response_hours: r, resolution_hours: s };
        ServiceLevel {
            name: "Gold".into(),
            low: t(24.0, 120.0),
            normal: t(8.0, 40.0),
            high: t(4.0, 16.0),
            critical: t(1.0, 4.0),
            business_hours,
        }
    }

    fn office() -> BusinessHours {
        BusinessHours {
            time_zone: "Europe/Amsterdam".into(),
            windows: vec![Window {
                days: vec![Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri],
                from: "08:00".into(),
                to: "17:00".into(),
            }],
            holidays: vec!["2026-12-25".parse().unwrap()],
        }
    }

    #[test]
    fn the_lifecycle_allows_only_its_transitions() {
        use Action::*;
        assert_eq!(transition(Status::New, Acknowledge), Some(Status::Acknowledged));
        assert_eq!(transition(Status::Acknowledged, Start), Some(Status::InProgress));
        assert_eq!(transition(Status::InProgress, Hold), Some(Status::OnHold));
        assert_eq!(transition(Status::OnHold, Resume), Some(Status::InProgress));
        assert_eq!(transition(Status::InProgress, Resolve), Some(Status::Resolved));
        assert_eq!(transition(Status::Acknowledged, Resolve), Some(Status::Resolved));
        assert_eq!(transition(Status::Resolved, Close), Some(Status::Closed));
        assert_eq!(transition(Status::New, Start), None);
        assert_eq!(transition(Status::New, Resolve), None);
        assert_eq!(transition(Status::OnHold, Resolve), Some(Status::Resolved));
        assert_eq!(transition(Status::InProgress, Close), None);
        assert_eq!(transition(Status::Acknowledged, Acknowledge), None);
        for open in [Status::New, Status::Acknowledged, Status::InProgress, Status::OnHold] {
            assert_eq!(transition(open, Cancel), Some(Status::Cancelled));
        }
        for done in [Status::Resolved, Status::Closed, Status::Cancelled] {
            assert_eq!(transition(done, Cancel), None);
        }
        for a in [Acknowledge, Start, Hold, Resume, Resolve, Close, Cancel] {
            assert_eq!(transition(Status::Closed, a), None);
            assert_eq!(transition(Status::Cancelled, a), None);
        }
    }

    #[test]
    fn deadlines_on_a_24_7_clock() {
        let d = Deadlines::compute(&level(None), Priority::High, utc("2026-06-13T22:00:00Z"), 0.25);
        assert_eq!(d.respond_by, Some(utc("2026-06-14T02:00:00Z")));
        assert_eq!(d.respond_risk_at, Some(utc("2026-06-14T01:00:00Z")));
        assert_eq!(d.resolve_by, Some(utc("2026-06-14T14:00:00Z")));
        assert_eq!(d.resolve_risk_at, Some(utc("2026-06-14T10:00:00Z")));
    }

    #[test]
    fn deadlines_in_business_hours_of_the_zone() {
        // Friday 16:00 Amsterdam (14:00 UTC), high: respond in 4 business hours → Monday 11:00
        // local (09:00 UTC); resolve in 16 (1 on Friday, 9 on Monday, 6 on Tuesday) → Tuesday
        // 14:00 local (12:00 UTC).
        let d = Deadlines::compute(&level(Some(office())), Priority::High, utc("2026-06-12T14:00:00Z"), 0.25);
        assert_eq!(d.respond_by, Some(utc("2026-06-15T09:00:00Z")));
        assert_eq!(d.resolve_by, Some(utc("2026-06-16T12:00:00Z")));
        // 3 of the 4 hours gone: Monday 10:00 local.
        assert_eq!(d.respond_risk_at, Some(utc("2026-06-15T08:00:00Z")));
        // Thursday 24 December 16:30 local (15:30 UTC), critical: half an hour is left that day,
        // Friday 25th is a holiday and then the weekend, so the response is due Monday 28th
        // 08:30 local (07:30 UTC) and the resolution (4 hours) at 11:30 local.
        let d = Deadlines::compute(&level(Some(office())), Priority::Critical, utc("2026-12-24T15:30:00Z"), 0.25);
        assert_eq!(d.respond_by, Some(utc("2026-12-28T07:30:00Z")));
        assert_eq!(d.resolve_by, Some(utc("2026-12-28T10:30:00Z")));
    }

    #[test]
    fn a_pause_moves_the_resolution_deadline_by_the_paused_business_time() {
        let lvl = level(Some(office()));
        let d = Deadlines::compute(&lvl, Priority::High, utc("2026-06-15T07:00:00Z"), 0.25);
        assert_eq!(d.resolve_by, Some(utc("2026-06-16T14:00:00Z")));
        // On hold Monday 15:00-17:00 local and over night until Tuesday 09:00: 3 business hours.
        let (paused, moved) = resume(Some(&lvl), utc("2026-06-15T13:00:00Z"), utc("2026-06-16T07:00:00Z"), d);
        assert_eq!(paused, 3 * 3600);
        assert_eq!(moved.resolve_by, Some(utc("2026-06-17T08:00:00Z")));
        assert_eq!(moved.respond_by, d.respond_by);
        // Without a service level the pause counts wall time and moves nothing that is absent.
        let (paused, moved) = resume(None, utc("2026-06-15T13:00:00Z"), utc("2026-06-15T14:00:00Z"), Deadlines::NONE);
        assert_eq!((paused, moved), (3600, Deadlines::NONE));
    }

    #[test]
    fn breaches_and_risk_follow_the_clocks() {
        let d = Deadlines::compute(&level(None), Priority::Critical, utc("2026-06-15T10:00:00Z"), 0.25);
        // respond_by 11:00 (risk from 10:45), resolve_by 14:00 (risk from 13:00).
        let open = Stops::default();
        let at = |s: &str| sla_state(&d, &open, utc(s));
        assert_eq!(
            at("2026-06-15T10:30:00Z"),
            SlaState { response_breached: false, resolution_breached: false, at_risk: false }
        );
        assert!(at("2026-06-15T10:50:00Z").at_risk);
        assert!(!at("2026-06-15T11:00:00Z").response_breached, "the deadline itself is still in time");
        let late = at("2026-06-15T11:00:01Z");
        assert!(late.response_breached && !late.resolution_breached);
        // Acknowledged in time: never a response breach, whatever the time.
        let acked = Stops { acknowledged_at: Some(utc("2026-06-15T10:40:00Z")), ..open };
        assert!(!sla_state(&d, &acked, utc("2026-06-16T00:00:00Z")).response_breached);
        assert!(sla_state(&d, &acked, utc("2026-06-15T14:00:01Z")).resolution_breached);
        assert!(sla_state(&d, &acked, utc("2026-06-15T13:30:00Z")).at_risk);
        // On hold before the deadline: frozen, not breached, not at risk.
        let held = Stops { on_hold_since: Some(utc("2026-06-15T12:00:00Z")), ..acked };
        let s = sla_state(&d, &held, utc("2026-06-15T20:00:00Z"));
        assert!(!s.resolution_breached && !s.at_risk);
        // Resolved late stays breached.
        let resolved = Stops { resolved_at: Some(utc("2026-06-15T15:00:00Z")), ..acked };
        assert!(sla_state(&d, &resolved, utc("2026-06-20T00:00:00Z")).resolution_breached);
        // No deadlines: never breached or at risk.
        assert_eq!(
            sla_state(&Deadlines::NONE, &open, utc("2030-01-01T00:00:00Z")),
            SlaState { response_breached: false, resolution_breached: false, at_risk: false }
        );
    }

    #[test]
    fn service_levels_are_checked_field_by_field() {
        assert!(level(Some(office())).check("service_level").is_empty());
        let mut bad = level(Some(office()));
        bad.high.response_hours = 0.0;
        bad.low.response_hours = 200.0;
        bad.business_hours.as_mut().unwrap().time_zone = "Mars/Olympus".into();
        let fields: Vec<String> = bad.check("service_level").into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "service_level.low.response_hours",
                "service_level.high.response_hours",
                "service_level.business_hours.time_zone"
            ]
        );
        let mut bad = level(Some(office()));
        bad.business_hours.as_mut().unwrap().windows[0].to = "07:00".into();
        let fields: Vec<String> = bad.check("sl").into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["sl.business_hours.windows[0]"]);
        let mut bad = level(None);
        bad.normal.resolution_hours = f64::NAN;
        assert_eq!(bad.check("sl").len(), 1);
    }

    #[test]
    fn the_risk_share_is_a_fraction() {
        assert!(check_risk_share(0.25).is_ok());
        assert!(check_risk_share(0.0).is_err());
        assert!(check_risk_share(1.0).is_err());
        assert!(check_risk_share(f64::NAN).is_err());
    }
}
