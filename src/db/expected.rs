//! The version a write expects of the row it changes (optimistic concurrency). A client reads
//! a version and sends it back with its change; the write goes ahead only when the row is
//! still at a version it names. `http::etag` reads it from `If-Match` and words [`Stale`] as a
//! 412; services only compare versions.

/// One version a write accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accept {
    /// Whatever the current version is.
    Any,
    /// Exactly this version.
    Version(i64),
    /// A tag that names no version of ours: matches none.
    Unknown,
}

/// What a write expects of the version of the row it changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expected(Option<Vec<Accept>>);

/// Why a write's expectation does not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stale {
    /// The expectation names no version at all, so none can match.
    NothingNamed,
    /// The row is at this version, which the expectation does not name.
    Changed { current: i64 },
}

impl Expected {
    /// No expectation: the write goes ahead whatever the version (a push, a background job).
    pub fn none() -> Expected {
        Expected(None)
    }

    /// An expectation that accepts the versions listed (an empty list accepts none).
    pub fn one_of(accepted: Vec<Accept>) -> Expected {
        Expected(Some(accepted))
    }

    /// Whether it pins no version (absent, or only "any"): such a write sent twice happens twice.
    pub fn pins_no_version(&self) -> bool {
        match &self.0 {
            None => true,
            Some(accepted) => !accepted.is_empty() && accepted.iter().all(|a| *a == Accept::Any),
        }
    }

    /// Whether the row at `current` may be written.
    pub fn check(&self, current: i64) -> Result<(), Stale> {
        match &self.0 {
            None => Ok(()),
            Some(accepted) if accepted.is_empty() => Err(Stale::NothingNamed),
            Some(accepted) if accepted.iter().any(|a| *a == Accept::Any || *a == Accept::Version(current)) => Ok(()),
            Some(_) => Err(Stale::Changed { current }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_goes_ahead_only_at_a_version_it_names() {
        assert_eq!(Expected::none().check(7), Ok(()));
        assert_eq!(Expected::one_of(vec![Accept::Version(7)]).check(7), Ok(()));
        assert_eq!(Expected::one_of(vec![Accept::Version(6)]).check(7), Err(Stale::Changed { current: 7 }));
        assert_eq!(Expected::one_of(vec![Accept::Unknown, Accept::Version(7)]).check(7), Ok(()));
        assert_eq!(Expected::one_of(vec![Accept::Unknown]).check(7), Err(Stale::Changed { current: 7 }));
        assert_eq!(Expected::one_of(vec![Accept::Any]).check(7), Ok(()));
        assert_eq!(Expected::one_of(vec![]).check(7), Err(Stale::NothingNamed));
    }

    #[test]
    fn only_a_named_version_pins_the_write() {
        assert!(Expected::none().pins_no_version());
        assert!(Expected::one_of(vec![Accept::Any, Accept::Any]).pins_no_version());
        assert!(!Expected::one_of(vec![Accept::Any, Accept::Version(2)]).pins_no_version());
        assert!(!Expected::one_of(vec![Accept::Version(2)]).pins_no_version());
        // Nothing named is not "no condition": it matches no version.
        assert!(!Expected::one_of(vec![]).pins_no_version());
    }
}
