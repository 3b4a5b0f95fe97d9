//! The one source of "now". Date rules (renewals, notice, expiry) read it, so tests move
//! time by setting a [`Clock::fixed`] clock instead of sleeping.

use chrono::{DateTime, NaiveDate, Utc};
use std::sync::{Arc, RwLock};

/// A clock shared by the whole service: the system clock, or a settable one for tests.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    fixed: Option<Arc<RwLock<DateTime<Utc>>>>,
}

impl Clock {
    /// The real system clock.
    pub fn system() -> Clock {
        Clock { fixed: None }
    }

    /// A clock that stands still at `at` until [`Clock::set`] moves it.
    pub fn fixed(at: DateTime<Utc>) -> Clock {
        Clock { fixed: Some(Arc::new(RwLock::new(at))) }
    }

    /// Moves a fixed clock; has no effect on the system clock.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Some(fixed) = &self.fixed {
            *fixed.write().unwrap_or_else(|e| e.into_inner()) = at;
        }
    }

    /// The current instant, truncated to whole microseconds so it round-trips through both
    /// databases unchanged.
    pub fn now(&self) -> DateTime<Utc> {
        let now = match &self.fixed {
            Some(fixed) => *fixed.read().unwrap_or_else(|e| e.into_inner()),
            None => Utc::now(),
        };
        to_micros(now)
    }

    /// Today's calendar date in UTC.
    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}

/// Reads a stored UTC timestamp (the databases keep them without zone) as UTC.
pub fn as_utc(naive: chrono::NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(naive, Utc)
}

/// `t` cut to whole microseconds, the precision PostgreSQL keeps: a timestamp then reads back
/// as it was written on both backends, and writing it again is no change.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}
