//! Typed text columns. Statuses, kinds and JSON documents are stored as text on both backends;
//! these mappings load them into the types the code works with and write them back as text.
//! A stored value the code does not know fails to load (a deserialization error, logged and
//! answered as 500) instead of quietly becoming a default.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Maps an enumeration to a text column through its `as_str` and `parse`. The type derives
/// `diesel::AsExpression` and `diesel::FromSqlRow` with `#[diesel(sql_type = Text)]`; this adds
/// `FromSql`/`ToSql` for every backend that stores text as `String`/`str`, so the same impls
/// serve the multi-backend connection, PostgreSQL's binary COPY and SQLite.
macro_rules! text_enum {
    ($ty:ty, $what:literal) => {
        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $ty
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                <$ty>::parse(&text)
                    .ok_or_else(|| format!(concat!("unknown ", $what, " {:?} in the database"), text).into())
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $ty
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, DB>) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(self.as_str(), out)
            }
        }
    };
}
pub(crate) use text_enum;

/// A JSON document kept in a text column: the value and the exact text it is stored as (made
/// once, when the value is made, so that writing the row borrows it).
#[derive(Debug, Clone, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct Json<T> {
    value: T,
    text: String,
}

impl<T: Serialize> Json<T> {
    /// Wraps `value`. The column types are maps with string keys, lists and plain values, which
    /// always serialize.
    pub fn new(value: T) -> Json<T> {
        let text = serde_json::to_string(&value).expect("a JSON column value always serializes");
        Json { value, text }
    }
}

impl<T> Json<T> {
    /// The stored text.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: PartialEq> PartialEq for Json<T> {
    fn eq(&self, other: &Json<T>) -> bool {
        self.value == other.value
    }
}

impl<T: Serialize + Default> Default for Json<T> {
    fn default() -> Json<T> {
        Json::new(T::default())
    }
}

impl<T, DB> FromSql<Text, DB> for Json<T>
where
    T: DeserializeOwned,
    DB: Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, DB>>::from_sql(bytes)?;
        let value =
            serde_json::from_str(&text).map_err(|e| format!("a JSON column holds what its type cannot read: {e}"))?;
        Ok(Json { value, text })
    }
}

impl<T, DB> ToSql<Text, DB> for Json<T>
where
    T: std::fmt::Debug,
    DB: Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        <str as ToSql<Text, DB>>::to_sql(self.text.as_str(), out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map, Value};

    #[test]
    fn json_keeps_the_value_and_its_text() {
        let j = Json::new(json!({"a": 1}).as_object().cloned().unwrap());
        assert_eq!(j.text(), r#"{"a":1}"#);
        assert_eq!(j.get("a"), Some(&json!(1)));
        assert_eq!(Json::<Map<String, Value>>::default().text(), "{}");
        assert_eq!(Json::new(vec!["x".to_string()]), Json::new(vec!["x".to_string()]));
    }
}
