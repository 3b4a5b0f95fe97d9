//! User-defined characteristics: data types and the validation of attribute values.

use crate::error::FieldError;
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The kind of resource an attribute belongs to.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Contract,
    Installation,
    Dossier,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Contract => "contract",
            EntityKind::Installation => "installation",
            EntityKind::Dossier => "dossier",
        }
    }

    pub fn parse(s: &str) -> Option<EntityKind> {
        match s {
            "contract" => Some(EntityKind::Contract),
            "installation" => Some(EntityKind::Installation),
            "dossier" => Some(EntityKind::Dossier),
            _ => None,
        }
    }
}

crate::db::column::text_enum!(EntityKind, "attribute entity kind");

/// The type of an attribute's values.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    /// Any string.
    Text,
    /// A whole JSON number.
    Integer,
    /// Any JSON number.
    Decimal,
    /// `true` or `false`.
    Boolean,
    /// A calendar date `YYYY-MM-DD`.
    Date,
    /// An RFC 3339 timestamp; stored in UTC.
    Datetime,
    /// One of the definition's `options`.
    Enum,
}

impl DataType {
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Text => "text",
            DataType::Integer => "integer",
            DataType::Decimal => "decimal",
            DataType::Boolean => "boolean",
            DataType::Date => "date",
            DataType::Datetime => "datetime",
            DataType::Enum => "enum",
        }
    }

    pub fn parse(s: &str) -> Option<DataType> {
        Some(match s {
            "text" => DataType::Text,
            "integer" => DataType::Integer,
            "decimal" => DataType::Decimal,
            "boolean" => DataType::Boolean,
            "date" => DataType::Date,
            "datetime" => DataType::Datetime,
            "enum" => DataType::Enum,
            _ => return None,
        })
    }

    /// Whether values compare as numbers (else as their canonical text).
    pub fn is_numeric(self) -> bool {
        matches!(self, DataType::Integer | DataType::Decimal)
    }

    /// Whether `gte`/`lte` filters make sense.
    pub fn is_ordered(self) -> bool {
        matches!(self, DataType::Integer | DataType::Decimal | DataType::Date | DataType::Datetime)
    }
}

crate::db::column::text_enum!(DataType, "attribute data type");

/// Longest text attribute value, in characters.
pub const MAX_TEXT: usize = 500;

/// The parts of a definition that validation needs.
#[derive(Clone, Debug)]
pub struct Rule {
    pub key: String,
    pub data_type: DataType,
    pub required: bool,
    pub options: Vec<String>,
}

/// One value in its indexed, comparable form.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexedValue {
    pub key: String,
    pub text: Option<String>,
    pub num: Option<f64>,
}

/// Whether `key` is a valid attribute key: snake_case, starting with a letter, at most 63 chars.
pub fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some('a'..='z'))
        && key.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Checks one value against its type; returns the canonical JSON value and its indexed form.
pub fn check_value(rule: &Rule, value: &Value) -> Result<(Value, IndexedValue), (&'static str, String)> {
    let key = rule.key.clone();
    let text = |t: String| IndexedValue { key: key.clone(), text: Some(t), num: None };
    match rule.data_type {
        DataType::Text => match value {
            // Kept short enough for the value index of either backend.
            Value::String(s) if s.chars().count() > MAX_TEXT => {
                Err(("too_long", format!("at most {MAX_TEXT} characters")))
            }
            Value::String(s) => Ok((value.clone(), text(s.clone()))),
            _ => Err(("invalid_type", "must be a string".into())),
        },
        DataType::Enum => match value {
            Value::String(s) if rule.options.contains(s) => Ok((value.clone(), text(s.clone()))),
            Value::String(s) => {
                Err(("invalid_option", format!("{s:?} is not one of the options: {}", rule.options.join(", "))))
            }
            _ => Err(("invalid_type", "must be a string, one of the options".into())),
        },
        DataType::Integer => match value.as_i64() {
            Some(n) if value.is_number() => {
                Ok((value.clone(), IndexedValue { key: key.clone(), text: Some(n.to_string()), num: Some(n as f64) }))
            }
            _ => Err(("invalid_type", "must be a whole number".into())),
        },
        DataType::Decimal => match value.as_f64() {
            Some(n) if n.is_finite() => {
                Ok((value.clone(), IndexedValue { key: key.clone(), text: Some(value.to_string()), num: Some(n) }))
            }
            _ => Err(("invalid_type", "must be a number".into())),
        },
        DataType::Boolean => match value {
            Value::Bool(b) => Ok((value.clone(), text(b.to_string()))),
            _ => Err(("invalid_type", "must be true or false".into())),
        },
        DataType::Date => match value.as_str().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()) {
            // The years every other date of the service keeps to; also what keeps the text
            // order of the value index the date order (no year 0 or five-digit years).
            Some(d) if !(1900..=2999).contains(&d.year()) => {
                Err(("out_of_range", "must be between the years 1900 and 2999".into()))
            }
            Some(d) => {
                let canon = d.format("%Y-%m-%d").to_string();
                Ok((Value::String(canon.clone()), text(canon)))
            }
            None => Err(("invalid_type", "must be a date YYYY-MM-DD".into())),
        },
        DataType::Datetime => match value.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()) {
            Some(t) if !(1900..=2999).contains(&t.with_timezone(&Utc).year()) => {
                Err(("out_of_range", "must be between the years 1900 and 2999".into()))
            }
            Some(t) => {
                // Fixed width, so that text order is time order in the value index.
                let canon = t.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::Micros, true);
                Ok((Value::String(canon.clone()), text(canon)))
            }
            None => Err(("invalid_type", "must be an RFC 3339 timestamp".into())),
        },
    }
}

/// A validated attribute set: the canonical values and their index rows.
pub type Validated = (Map<String, Value>, Vec<IndexedValue>);

/// Validates a complete attribute set against the rules in force for the entity. Returns the
/// canonical attributes and their indexed values, or every problem found (field paths
/// `attributes.<key>`). `null` values are treated as absent.
pub fn validate(attrs: &Map<String, Value>, rules: &[Rule]) -> Result<Validated, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut canonical = Map::new();
    let mut indexed = Vec::new();
    for (key, value) in attrs {
        if value.is_null() {
            continue;
        }
        let field = format!("attributes.{key}");
        match rules.iter().find(|r| &r.key == key) {
            None => errors.push(FieldError::new(
                field,
                "unknown_attribute",
                format!("no attribute `{key}` is defined here"),
            )),
            Some(rule) => match check_value(rule, value) {
                Ok((canon, ix)) => {
                    canonical.insert(key.clone(), canon);
                    indexed.push(ix);
                }
                Err((code, message)) => errors.push(FieldError::new(field, code, message)),
            },
        }
    }
    for rule in rules.iter().filter(|r| r.required) {
        // An invalid value is reported as invalid above, not also as missing.
        if attrs.get(&rule.key).is_none_or(Value::is_null) {
            errors.push(FieldError::new(format!("attributes.{}", rule.key), "required", "a value is required"));
        }
    }
    if errors.is_empty() {
        Ok((canonical, indexed))
    } else {
        errors.sort_by(|a, b| a.field.cmp(&b.field));
        Err(errors)
    }
}

/// Applies a merge patch to an attribute set: keys with `null` are removed, others replaced.
pub fn merge(current: &Map<String, Value>, patch: &Map<String, Value>) -> Map<String, Value> {
    let mut out = current.clone();
    for (k, v) in patch {
        if v.is_null() {
            out.remove(k);
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// A comparison in an `attr.<key>[.gte|.lte]=value` filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterOp {
    Eq,
    Gte,
    Lte,
}

/// A filter value in the form the index compares.
#[derive(Clone, Debug, PartialEq)]
pub enum FilterValue {
    Text(String),
    Num(f64),
}

/// A parsed attribute filter.
#[derive(Clone, Debug, PartialEq)]
pub struct AttrFilter {
    pub key: String,
    pub op: FilterOp,
    pub value: FilterValue,
}

/// Splits `region` / `size.gte` into key and comparison.
pub fn split_filter_name(name: &str) -> Result<(&str, FilterOp), String> {
    match name.rsplit_once('.') {
        None => Ok((name, FilterOp::Eq)),
        Some((key, "gte")) => Ok((key, FilterOp::Gte)),
        Some((key, "lte")) => Ok((key, FilterOp::Lte)),
        Some((_, other)) => Err(format!("unknown comparison `{other}`; use gte or lte")),
    }
}

/// Parses a filter's raw text by the attribute's type, into the form the index compares.
pub fn parse_filter(rule: &Rule, op: FilterOp, raw: &str) -> Result<AttrFilter, String> {
    if op != FilterOp::Eq && !rule.data_type.is_ordered() {
        return Err(format!("`{}` is {}: only equality filters apply", rule.key, rule.data_type.as_str()));
    }
    let json = match rule.data_type {
        DataType::Integer | DataType::Decimal => serde_json::from_str::<Value>(raw).unwrap_or(Value::Null),
        DataType::Boolean => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::Null,
        },
        _ => Value::String(raw.to_string()),
    };
    let mut lenient = rule.clone();
    if op != FilterOp::Eq || rule.data_type == DataType::Enum {
        lenient.options.push(raw.to_string());
    }
    let (_, ix) = check_value(&lenient, &json).map_err(|(_, m)| format!("filter value for `{}` {m}", rule.key))?;
    let value = match ix.num {
        Some(n) => FilterValue::Num(n),
        None => FilterValue::Text(ix.text.unwrap_or_default()),
    };
    Ok(AttrFilter { key: rule.key.clone(), op, value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(key: &str, t: DataType, required: bool) -> Rule {
        Rule { key: key.into(), data_type: t, required, options: vec!["north".into(), "south".into()] }
    }

    fn rules() -> Vec<Rule> {
        vec![
            rule("region", DataType::Enum, true),
            rule("size", DataType::Integer, false),
            rule("price", DataType::Decimal, false),
            rule("since", DataType::Date, false),
            rule("seen", DataType::Datetime, false),
            rule("vip", DataType::Boolean, false),
            rule("note", DataType::Text, false),
        ]
    }

    fn attrs(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn valid_values_are_canonicalised_and_indexed() {
        let (canon, ix) = validate(
            &attrs(json!({"region": "north", "size": 3, "price": 9.5, "since": "2026-01-31",
                          "seen": "2026-01-31T10:00:00+02:00", "vip": true, "note": "x"})),
            &rules(),
        )
        .unwrap();
        assert_eq!(canon["seen"], json!("2026-01-31T08:00:00.000000Z"));
        let size = ix.iter().find(|i| i.key == "size").unwrap();
        assert_eq!(size.num, Some(3.0));
        let vip = ix.iter().find(|i| i.key == "vip").unwrap();
        assert_eq!(vip.text.as_deref(), Some("true"));
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let errs =
            validate(&attrs(json!({"size": 1.5, "colour": "red", "since": "31-01-2026", "vip": "yes"})), &rules())
                .unwrap_err();
        let got: Vec<(&str, &str)> = errs.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("attributes.colour", "unknown_attribute"),
                ("attributes.region", "required"),
                ("attributes.since", "invalid_type"),
                ("attributes.size", "invalid_type"),
                ("attributes.vip", "invalid_type"),
            ]
        );
    }

    #[test]
    fn enum_value_outside_options_is_rejected() {
        let errs = validate(&attrs(json!({"region": "east"})), &rules()).unwrap_err();
        assert_eq!(errs[0].code, "invalid_option");
        assert_eq!(errs.len(), 1, "an invalid value of a required attribute is not also reported as missing");
    }

    #[test]
    fn null_counts_as_absent_and_merge_removes_it() {
        let merged = merge(&attrs(json!({"region": "north", "size": 2})), &attrs(json!({"size": null, "vip": false})));
        assert_eq!(Value::Object(merged), json!({"region": "north", "vip": false}));
        let errs = validate(&attrs(json!({"region": null})), &rules()).unwrap_err();
        assert_eq!(errs[0].code, "required");
    }

    #[test]
    fn keys_must_be_snake_case() {
        assert!(valid_key("region_2"));
        assert!(!valid_key("Region"));
        assert!(!valid_key("2region"));
        assert!(!valid_key("re-gion"));
        assert!(!valid_key(""));
    }

    #[test]
    fn dates_keep_to_the_years_1900_to_2999() {
        let d = rule("since", DataType::Date, false);
        for bad in ["0000-01-01", "9999-12-31", "+12026-01-01", "1899-12-31", "3000-01-01"] {
            let got = check_value(&d, &Value::String(bad.into()));
            assert!(matches!(got, Err(("out_of_range", _)) | Err(("invalid_type", _))), "{bad}: {got:?}");
        }
        assert_eq!(check_value(&d, &Value::String("0000-01-01".into())).unwrap_err().0, "out_of_range");
        assert!(check_value(&d, &Value::String("1900-01-01".into())).is_ok());
        assert!(check_value(&d, &Value::String("2999-12-31".into())).is_ok());
        let t = rule("seen", DataType::Datetime, false);
        assert_eq!(check_value(&t, &Value::String("0001-01-01T00:00:00Z".into())).unwrap_err().0, "out_of_range");
        assert!(check_value(&t, &Value::String("2026-06-15T10:00:00+02:00".into())).is_ok());
    }

    #[test]
    fn filters_parse_by_type() {
        let r = rule("size", DataType::Integer, false);
        assert_eq!(parse_filter(&r, FilterOp::Gte, "10").unwrap().value, FilterValue::Num(10.0));
        assert!(parse_filter(&r, FilterOp::Eq, "ten").is_err());
        let d = rule("since", DataType::Date, false);
        assert_eq!(
            parse_filter(&d, FilterOp::Lte, "2026-02-01").unwrap().value,
            FilterValue::Text("2026-02-01".into())
        );
        let t = rule("note", DataType::Text, false);
        assert!(parse_filter(&t, FilterOp::Gte, "a").is_err());
        assert_eq!(split_filter_name("size.gte").unwrap(), ("size", FilterOp::Gte));
        assert!(split_filter_name("size.between").is_err());
    }
}
