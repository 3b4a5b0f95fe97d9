//! Installation and coverage rules without I/O: statuses, address, period arithmetic and the
//! question "does this contract cover that day".

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whether an installation is in use.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[schema(as = InstallationStatus)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Inactive,
    Decommissioned,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Inactive => "inactive",
            Status::Decommissioned => "decommissioned",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "active" => Status::Active,
            "inactive" => Status::Inactive,
            "decommissioned" => Status::Decommissioned,
            _ => return None,
        })
    }
}

crate::db::column::text_enum!(Status, "installation status");

/// Where an installation stands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub street: Option<String>,
    pub house_number: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2 country code, e.g. `NL`.
    pub country: Option<String>,
    /// Where on the site, e.g. `roof, north wing`.
    pub site_note: Option<String>,
}

impl Location {
    /// The fields with their values, for length checks.
    pub fn fields(&self) -> [(&'static str, &Option<String>); 7] {
        [
            ("street", &self.street),
            ("house_number", &self.house_number),
            ("postal_code", &self.postal_code),
            ("city", &self.city),
            ("region", &self.region),
            ("country", &self.country),
            ("site_note", &self.site_note),
        ]
    }
}

/// A closed date interval; `None` as the end means open-ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
}

impl Period {
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && self.to.is_none_or(|to| day <= to)
    }

    /// Whether two periods share at least one day.
    pub fn overlaps(&self, other: &Period) -> bool {
        self.to.is_none_or(|to| other.from <= to) && other.to.is_none_or(|to| self.from <= to)
    }

    /// Whether `self` lies entirely inside `outer`.
    pub fn within(&self, outer: &Period) -> bool {
        let ends_inside = match (self.to, outer.to) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => a <= b,
        };
        outer.from <= self.from && ends_inside
    }
}

/// The end of a coverage that ran to `old_end` after its contract was extended to `new_end`:
/// the new end, but never reaching `next_start`, the first day another contract of the same
/// type covers the installation after `old_end`.
pub fn extended_end(old_end: NaiveDate, new_end: NaiveDate, next_start: Option<NaiveDate>) -> NaiveDate {
    match next_start.and_then(|d| d.pred_opt()) {
        Some(day_before) if day_before < new_end => day_before.max(old_end),
        _ => new_end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn p(from: &str, to: Option<&str>) -> Period {
        Period { from: d(from), to: to.map(d) }
    }

    #[test]
    fn containment_includes_first_and_last_day() {
        let period = p("2026-01-01", Some("2026-12-31"));
        assert!(period.contains(d("2026-01-01")));
        assert!(period.contains(d("2026-12-31")));
        assert!(!period.contains(d("2025-12-31")));
        assert!(!period.contains(d("2027-01-01")));
        assert!(p("2026-01-01", None).contains(d("2099-01-01")));
    }

    #[test]
    fn overlap_on_a_single_shared_day_counts() {
        let a = p("2026-01-01", Some("2026-06-30"));
        assert!(a.overlaps(&p("2026-06-30", Some("2026-12-31"))));
        assert!(!a.overlaps(&p("2026-07-01", Some("2026-12-31"))));
        assert!(a.overlaps(&p("2025-01-01", None)));
        assert!(p("2026-01-01", None).overlaps(&p("2030-01-01", None)));
        assert!(!p("2027-01-01", None).overlaps(&a));
    }

    #[test]
    fn within_respects_open_ends() {
        let contract = p("2026-01-01", Some("2026-12-31"));
        assert!(p("2026-01-01", Some("2026-12-31")).within(&contract));
        assert!(p("2026-03-01", Some("2026-04-01")).within(&contract));
        assert!(!p("2025-12-31", Some("2026-04-01")).within(&contract));
        assert!(!p("2026-03-01", None).within(&contract));
        assert!(p("2026-03-01", None).within(&p("2026-01-01", None)));
    }

    #[test]
    fn extension_stops_before_the_next_contract_of_the_type() {
        let (old, new) = (d("2026-12-31"), d("2027-12-31"));
        assert_eq!(extended_end(old, new, None), new);
        assert_eq!(extended_end(old, new, Some(d("2027-03-01"))), d("2027-02-28"));
        assert_eq!(extended_end(old, new, Some(d("2027-01-01"))), old);
        assert_eq!(extended_end(old, new, Some(d("2028-01-01"))), new);
        assert_eq!(extended_end(old, new, Some(d("2027-12-31"))), d("2027-12-30"));
    }
}
