//! Merge-patch fields (RFC 7396): a field can be absent (unchanged), `null` (cleared) or a value.

use serde::{Deserialize, Deserializer};

/// One field of a merge patch.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Patch<T> {
    /// Not in the body: leave the stored value as it is.
    #[default]
    Absent,
    /// `null`: clear the stored value.
    Null,
    /// A new value.
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Patch<T>, D::Error> {
        Option::<T>::deserialize(d).map(|v| match v {
            None => Patch::Null,
            Some(v) => Patch::Value(v),
        })
    }
}

impl<T> Patch<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// Applies the patch to a field that cannot be empty: `null` is refused with a field error.
    pub fn require(self, field: &str, current: T) -> Result<T, crate::http::FieldError> {
        match self {
            Patch::Absent => Ok(current),
            Patch::Null => Err(crate::http::FieldError::new(field, "required", "cannot be cleared")),
            Patch::Value(v) => Ok(v),
        }
    }

    /// Applies the patch to an optional stored value.
    pub fn apply_to(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Absent => current,
            Patch::Null => None,
            Patch::Value(v) => Some(v),
        }
    }
}
