//! Dossier rules without I/O: a type's attribute schema and rules, conditions on attribute
//! changes, trigger dates derived from attributes, and rebuilding a dossier from its history.

use crate::attributes::model::{valid_key, DataType, Rule};
use crate::auth::Role;
use crate::contracts::model::Period;
use crate::error::{check_text, FieldError};
use crate::tasks::model::Assignee;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::cmp::Ordering;
use utoipa::ToSchema;

/// Largest `data` of one business event posted on a dossier, in bytes of JSON
/// (`EVENT_DATA_MAX_BYTES`): everyone reading the dossier's events pays for it again. Handlers
/// get it as app data.
#[derive(Clone, Copy, Debug)]
pub struct EventDataMaxBytes(pub usize);

/// One attribute of a dossier type's schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributeDef {
    /// snake_case key, unique in the type.
    #[schema(example = "birth_date", pattern = "^[a-z][a-z0-9_]{0,62}$")]
    pub key: String,
    /// Display label.
    #[schema(example = "Date of birth", min_length = 1, max_length = 200, pattern = r"\S")]
    pub label: String,
    /// The type of its values.
    pub data_type: DataType,
    /// Whether every dossier of this type version must have a value.
    #[serde(default)]
    pub required: bool,
    /// The allowed values of an `enum` attribute (required for `enum`, refused otherwise): at
    /// least one, each 1 to 200 characters.
    #[schema(value_type = Option<Vec<crate::attributes::input::AttributeOption>>, min_items = 1)]
    pub options: Option<Vec<String>>,
    /// What the attribute means.
    pub description: Option<String>,
}

impl AttributeDef {
    pub fn rule(&self) -> Rule {
        Rule {
            key: self.key.clone(),
            data_type: self.data_type,
            required: self.required,
            options: self.options.clone().unwrap_or_default(),
        }
    }
}

/// Which value of a changed attribute a condition looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The value before the change.
    Old,
    /// The value after the change (default).
    #[default]
    New,
}

/// A comparison of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Equal to `value`.
    Eq,
    /// Not equal to `value`.
    Ne,
    /// Greater than `value` (numbers by value, dates and texts in their order).
    Gt,
    /// Greater than or equal to `value`.
    Gte,
    /// Less than `value`.
    Lt,
    /// Less than or equal to `value`.
    Lte,
    /// One of the values in the array `value`.
    In,
    /// Has a value (`value` not used).
    Set,
    /// Has no value (`value` not used).
    Unset,
}

/// A test on the old or new value of a changed attribute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Test the old or the new value (default `new`).
    #[serde(default)]
    pub on: Side,
    /// The comparison.
    pub op: Op,
    /// What to compare with (a string, number or boolean); an array for `in`; not used by `set` and `unset`.
    pub value: Option<Value>,
}

/// When a rule acts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// An attribute's value changes on an existing dossier (setting it at creation is not a change).
    AttributeChanged {
        /// The attribute key.
        attribute: String,
        /// Extra tests on the old or new value, all of which must hold.
        #[serde(default)]
        conditions: Vec<Condition>,
    },
    /// A day derived from a date attribute is reached: the attribute's value plus `offset`.
    DateReached {
        /// A `date` (or `datetime`) attribute key, e.g. `birth_date`.
        attribute: String,
        /// ISO 8601 period added to it, e.g. `P67Y`; month steps clamp to the month's end.
        offset: String,
    },
    /// A named business event is posted on the dossier (`POST /dossiers/{id}/events`).
    EventPosted {
        /// The event's `type`, e.g. `moved`.
        event: String,
    },
}

/// The kinds of trigger.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// An attribute changed.
    AttributeChanged,
    /// A date derived from an attribute was reached.
    DateReached,
    /// A named business event was posted.
    EventPosted,
}

impl TriggerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::AttributeChanged => "attribute_changed",
            TriggerKind::DateReached => "date_reached",
            TriggerKind::EventPosted => "event_posted",
        }
    }

    pub fn parse(s: &str) -> Option<TriggerKind> {
        [TriggerKind::AttributeChanged, TriggerKind::DateReached, TriggerKind::EventPosted]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

crate::db::column::text_enum!(TriggerKind, "trigger kind");

impl Trigger {
    pub fn kind(&self) -> TriggerKind {
        match self {
            Trigger::AttributeChanged { .. } => TriggerKind::AttributeChanged,
            Trigger::DateReached { .. } => TriggerKind::DateReached,
            Trigger::EventPosted { .. } => TriggerKind::EventPosted,
        }
    }
}

/// Dossier status.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum DossierStatus {
    /// Active: changes, events and rules apply.
    Open,
    /// Closed: read only; date rules do not fire.
    Closed,
}

impl DossierStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DossierStatus::Open => "open",
            DossierStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<DossierStatus> {
        [DossierStatus::Open, DossierStatus::Closed].into_iter().find(|k| k.as_str() == s)
    }
}

crate::db::column::text_enum!(DossierStatus, "dossier status");

/// Where a date trigger is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum TriggerStatus {
    /// Waiting for its day; moves with its source attribute.
    Pending,
    /// Its rule fired.
    Fired,
    /// It came due when its rule was gone or the dossier closed; it will not fire.
    Void,
}

impl TriggerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerStatus::Pending => "pending",
            TriggerStatus::Fired => "fired",
            TriggerStatus::Void => "void",
        }
    }

    pub fn parse(s: &str) -> Option<TriggerStatus> {
        [TriggerStatus::Pending, TriggerStatus::Fired, TriggerStatus::Void].into_iter().find(|k| k.as_str() == s)
    }
}

crate::db::column::text_enum!(TriggerStatus, "trigger status");

/// A rule of a dossier type: when something happens, start a workflow and make someone responsible.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// snake_case key, unique in the type; firings are recorded under it.
    #[schema(example = "relocation_on_address_change", pattern = "^[a-z][a-z0-9_]{0,62}$")]
    pub key: String,
    /// What the rule is for.
    pub description: Option<String>,
    /// When it acts.
    pub trigger: Trigger,
    /// The key of the workflow it starts (its current version at that moment).
    #[schema(example = "relocation")]
    pub workflow: String,
    /// Who is responsible for the started workflow; absent: the dossier's owner.
    pub responsible: Option<Assignee>,
}

/// Checks a schema and its rules. Rules may use the schema's attributes and the `global` ones
/// (attribute definitions for all dossiers or this type); `workflow_exists` answers whether a
/// workflow key is defined.
pub fn validate_type(
    attributes: &[AttributeDef],
    global: &[(String, DataType)],
    rules: &[RuleDef],
    workflow_exists: &mut dyn FnMut(&str) -> bool,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut keys = std::collections::HashSet::new();
    for (i, a) in attributes.iter().enumerate() {
        let at = format!("attributes[{i}]");
        if !valid_key(&a.key) {
            errors.push(FieldError::new(format!("{at}.key"), "invalid_key", "use snake_case (at most 63 characters)"));
        } else if !keys.insert(a.key.as_str()) {
            errors.push(FieldError::new(format!("{at}.key"), "duplicate", format!("`{}` is defined twice", a.key)));
        }
        check_text(&mut errors, &format!("{at}.label"), &a.label, 200);
        match (a.data_type, &a.options) {
            (DataType::Enum, None) => {
                errors.push(FieldError::new(format!("{at}.options"), "required", "an enum needs its options"))
            }
            (DataType::Enum, Some(o)) if o.is_empty() || o.iter().any(|x| x.is_empty() || x.chars().count() > 200) => {
                errors.push(FieldError::new(
                    format!("{at}.options"),
                    "invalid_value",
                    "1 or more options of 1 to 200 characters",
                ))
            }
            (DataType::Enum, Some(_)) | (_, None) => {}
            (_, Some(_)) => errors.push(FieldError::new(
                format!("{at}.options"),
                "not_allowed",
                "only enum attributes have options",
            )),
        }
    }
    let type_of = |key: &str| {
        attributes
            .iter()
            .find(|a| a.key == key)
            .map(|a| a.data_type)
            .or_else(|| global.iter().find(|(k, _)| k == key).map(|(_, t)| *t))
    };
    let mut rule_keys = std::collections::HashSet::new();
    for (i, r) in rules.iter().enumerate() {
        let at = format!("rules[{i}]");
        if !valid_key(&r.key) {
            errors.push(FieldError::new(format!("{at}.key"), "invalid_key", "use snake_case (at most 63 characters)"));
        } else if !rule_keys.insert(r.key.as_str()) {
            errors.push(FieldError::new(
                format!("{at}.key"),
                "duplicate",
                format!("rule `{}` is defined twice", r.key),
            ));
        }
        if !workflow_exists(&r.workflow) {
            errors.push(FieldError::new(
                format!("{at}.workflow"),
                "unknown_workflow",
                format!("rule `{}`: no workflow `{}` is defined", r.key, r.workflow),
            ));
        }
        if let Some(Err(m)) = r.responsible.as_ref().map(Assignee::check) {
            errors.push(FieldError::new(format!("{at}.responsible"), "invalid_value", m));
        }
        match &r.trigger {
            Trigger::AttributeChanged { attribute, conditions } => {
                if type_of(attribute).is_none() {
                    errors.push(FieldError::new(
                        format!("{at}.trigger.attribute"),
                        "unknown_attribute",
                        format!("rule `{}`: `{attribute}` is not an attribute of this type", r.key),
                    ));
                }
                for (j, c) in conditions.iter().enumerate() {
                    let problem = match (c.op, &c.value) {
                        (Op::Set | Op::Unset, _) => None,
                        (Op::In, Some(Value::Array(_))) => None,
                        (Op::In, _) => Some("`in` needs an array `value`"),
                        (_, None | Some(Value::Null)) => Some("this comparison needs a `value`"),
                        (_, Some(Value::Array(_) | Value::Object(_))) => Some("compare with a single value"),
                        _ => None,
                    };
                    if let Some(m) = problem {
                        errors.push(FieldError::new(format!("{at}.trigger.conditions[{j}]"), "invalid_value", m));
                    }
                }
            }
            Trigger::DateReached { attribute, offset } => {
                match type_of(attribute) {
                    Some(DataType::Date | DataType::Datetime) => {}
                    Some(t) => errors.push(FieldError::new(
                        format!("{at}.trigger.attribute"),
                        "invalid_type",
                        format!("rule `{}`: `{attribute}` is {}, not a date", r.key, t.as_str()),
                    )),
                    None => errors.push(FieldError::new(
                        format!("{at}.trigger.attribute"),
                        "unknown_attribute",
                        format!("rule `{}`: `{attribute}` is not an attribute of this type", r.key),
                    )),
                }
                if let Err(m) = Period::parse(offset) {
                    errors.push(FieldError::new(format!("{at}.trigger.offset"), "invalid_period", m));
                }
            }
            Trigger::EventPosted { event } => check_text(&mut errors, &format!("{at}.trigger.event"), event, 100),
        }
    }
    errors
}

/// Orders two JSON scalars of the same kind: numbers by value, strings (dates, timestamps in
/// their fixed canonical form) as text, booleans by equality only.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) if x == y => Some(Ordering::Equal),
        _ => None,
    }
}

/// Whether a condition holds for a change from `old` to `new` (`Value::Null` = no value).
pub fn holds(c: &Condition, old: &Value, new: &Value) -> bool {
    let v = match c.on {
        Side::Old => old,
        Side::New => new,
    };
    let want = c.value.as_ref().unwrap_or(&Value::Null);
    let cmp = || if v.is_null() { None } else { compare(v, want) };
    match c.op {
        Op::Set => !v.is_null(),
        Op::Unset => v.is_null(),
        Op::Eq => cmp() == Some(Ordering::Equal),
        Op::Ne => cmp() != Some(Ordering::Equal),
        Op::Gt => cmp() == Some(Ordering::Greater),
        Op::Gte => matches!(cmp(), Some(Ordering::Greater | Ordering::Equal)),
        Op::Lt => cmp() == Some(Ordering::Less),
        Op::Lte => matches!(cmp(), Some(Ordering::Less | Ordering::Equal)),
        Op::In => {
            !v.is_null() && want.as_array().is_some_and(|xs| xs.iter().any(|x| compare(v, x) == Some(Ordering::Equal)))
        }
    }
}

/// The attribute keys whose values differ between two attribute sets, with old and new value.
pub fn changed(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<(String, Value, Value)> {
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (o, n) = (old.get(k).unwrap_or(&Value::Null), new.get(k).unwrap_or(&Value::Null));
            (o != n).then(|| (k.clone(), o.clone(), n.clone()))
        })
        .collect()
}

/// The day a date rule is due for these attributes: the source date plus the offset; `None`
/// when the source has no (readable) value.
pub fn trigger_date(attrs: &Map<String, Value>, attribute: &str, offset: &str) -> Option<NaiveDate> {
    let raw = attrs.get(attribute)?.as_str()?;
    let day = raw.get(..10).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())?;
    // Both databases and the API keep four-digit years.
    Period::parse(offset).ok()?.after(day).filter(|d| (1..=9999).contains(&chrono::Datelike::year(d)))
}

/// Applies one event's changes (`field.sub` → new value) to a snapshot being rebuilt.
pub fn replay(state: &mut Map<String, Value>, changes: &crate::events::model::Changes) {
    for (path, change) in changes {
        let parts: Vec<&str> = path.split('.').collect();
        set_path(state, &parts, change.new.clone());
    }
}

fn set_path(state: &mut Map<String, Value>, parts: &[&str], value: Value) {
    match parts {
        [] => {}
        [last] => {
            if value.is_null() {
                state.remove(*last);
            } else {
                state.insert(last.to_string(), value);
            }
        }
        [head, rest @ ..] => {
            let entry = state.entry(head.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                set_path(inner, rest, value);
                if inner.is_empty() {
                    state.remove(*head);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// who reads a dossier

/// Roles that read every dossier: admins, the case workers who keep them and auditors.
pub const READS_EVERY_DOSSIER: &[Role] = &[Role::Admin, Role::CaseWorker, Role::Viewer];

/// Whether a token with these roles reads every dossier; everyone else reads only the dossiers
/// that name them (see [`may_read`]).
pub fn reads_every_dossier(roles: &[String]) -> bool {
    READS_EVERY_DOSSIER.iter().any(|r| roles.iter().any(|x| x == r.as_str()))
}

/// The people and teams a type names (in its current version, so that taking a team out of the
/// type takes its access away): its default owner and every rule's responsible. A rule without
/// a responsible hands its workflow to the dossier's owner, who reads it anyway.
pub fn named_by_type<'a>(default_owner: Option<&'a Assignee>, rules: &'a [RuleDef]) -> Vec<&'a Assignee> {
    default_owner.into_iter().chain(rules.iter().filter_map(|r| r.responsible.as_ref())).collect()
}

/// Whether the caller (`sub`, `roles`) may read a dossier whose `parties` are its owner, those
/// its type names ([`named_by_type`]) and the responsibles and active step assignees of its
/// running workflows. Case files hold birth dates and addresses, so being authenticated is
/// not enough: a field team reads the dossiers it has a part in, nothing else. The store says
/// the same in SQL, so that lists and the change feed filter in the query.
pub fn may_read(sub: &str, roles: &[String], parties: &[&Assignee]) -> bool {
    reads_every_dossier(roles) || parties.iter().any(|a| a.is(sub, roles))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(on: Side, op: Op, value: Value) -> Condition {
        Condition { on, op, value: if value.is_null() { None } else { Some(value) } }
    }

    #[test]
    fn conditions_compare_by_type() {
        assert!(holds(&cond(Side::New, Op::Eq, json!("Utrecht")), &json!("Delft"), &json!("Utrecht")));
        assert!(!holds(&cond(Side::Old, Op::Eq, json!("Utrecht")), &json!("Delft"), &json!("Utrecht")));
        assert!(holds(&cond(Side::New, Op::Gte, json!(100)), &Value::Null, &json!(100.0)));
        assert!(!holds(&cond(Side::New, Op::Gt, json!(100)), &Value::Null, &json!(99)));
        assert!(holds(&cond(Side::New, Op::Lt, json!("2030-01-01")), &Value::Null, &json!("2029-12-31")));
        assert!(holds(&cond(Side::New, Op::In, json!(["a", "b"])), &Value::Null, &json!("b")));
        assert!(!holds(&cond(Side::New, Op::In, json!(["a", "b"])), &Value::Null, &Value::Null));
        assert!(holds(&cond(Side::Old, Op::Set, Value::Null), &json!(1), &Value::Null));
        assert!(holds(&cond(Side::New, Op::Unset, Value::Null), &json!(1), &Value::Null));
        assert!(holds(&cond(Side::New, Op::Ne, json!("x")), &json!("x"), &Value::Null));
        // Different kinds never compare: neither greater nor equal.
        assert!(!holds(&cond(Side::New, Op::Gte, json!(5)), &Value::Null, &json!("7")));
    }

    #[test]
    fn trigger_dates_add_the_offset_with_month_ends_clamped() {
        let attrs = |v: Value| v.as_object().unwrap().clone();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            trigger_date(&attrs(json!({"birth_date": "1960-03-10"})), "birth_date", "P67Y"),
            Some(d("2027-03-10"))
        );
        // 29 February + 67 years lands on 28 February.
        assert_eq!(
            trigger_date(&attrs(json!({"birth_date": "1960-02-29"})), "birth_date", "P67Y"),
            Some(d("2027-02-28"))
        );
        assert_eq!(trigger_date(&attrs(json!({"start": "2026-01-31"})), "start", "P1M"), Some(d("2026-02-28")));
        assert_eq!(
            trigger_date(&attrs(json!({"seen": "2026-01-31T08:00:00.000000Z"})), "seen", "P1D"),
            Some(d("2026-02-01"))
        );
        assert_eq!(trigger_date(&attrs(json!({})), "birth_date", "P67Y"), None);
    }

    #[test]
    fn changes_list_old_and_new_values() {
        let old = json!({"address": "A", "city": "X"}).as_object().unwrap().clone();
        let new = json!({"address": "B", "zip": "1"}).as_object().unwrap().clone();
        let c = changed(&old, &new);
        assert_eq!(
            c,
            vec![
                ("address".into(), json!("A"), json!("B")),
                ("city".into(), json!("X"), Value::Null),
                ("zip".into(), Value::Null, json!("1"))
            ]
        );
    }

    #[test]
    fn replay_rebuilds_nested_fields() {
        let mut state = Map::new();
        replay(
            &mut state,
            &serde_json::from_value(
                json!({"owner.user": {"old": null, "new": "al"}, "attributes.a": {"old": null, "new": 1}}),
            )
            .unwrap(),
        );
        replay(
            &mut state,
            &serde_json::from_value(
                json!({"owner.user": {"old": "al", "new": null}, "owner.role": {"old": null, "new": "desk"}}),
            )
            .unwrap(),
        );
        assert_eq!(Value::Object(state), json!({"owner": {"role": "desk"}, "attributes": {"a": 1}}));
    }

    #[test]
    fn type_validation_names_rule_problems() {
        let attrs = vec![
            AttributeDef {
                key: "birth_date".into(),
                label: "Born".into(),
                data_type: DataType::Date,
                required: false,
                options: None,
                description: None,
            },
            AttributeDef {
                key: "city".into(),
                label: "City".into(),
                data_type: DataType::Text,
                required: false,
                options: None,
                description: None,
            },
        ];
        let rule = |trigger: Trigger| RuleDef {
            key: "r".into(),
            description: None,
            trigger,
            workflow: "wf".into(),
            responsible: None,
        };
        let mut yes = |_: &str| true;
        assert!(validate_type(
            &attrs,
            &[],
            &[rule(Trigger::DateReached { attribute: "birth_date".into(), offset: "P67Y".into() })],
            &mut yes
        )
        .is_empty());
        let e = validate_type(
            &attrs,
            &[],
            &[rule(Trigger::DateReached { attribute: "city".into(), offset: "67 years".into() })],
            &mut yes,
        );
        let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["rules[0].trigger.attribute", "rules[0].trigger.offset"]);
        let mut no = |_: &str| false;
        let e = validate_type(&attrs, &[], &[rule(Trigger::EventPosted { event: "moved".into() })], &mut no);
        assert_eq!(e[0].code, "unknown_workflow");
        let e = validate_type(
            &attrs,
            &[],
            &[rule(Trigger::AttributeChanged {
                attribute: "city".into(),
                conditions: vec![cond(Side::New, Op::In, json!("x"))],
            })],
            &mut yes,
        );
        assert_eq!(e[0].field, "rules[0].trigger.conditions[0]");
        // Attributes defined for all dossiers can drive rules too.
        let global = [("hired_on".to_string(), DataType::Date)];
        let date_rule = [rule(Trigger::DateReached { attribute: "hired_on".into(), offset: "P25Y".into() })];
        assert!(validate_type(&attrs, &global, &date_rule, &mut yes).is_empty());
        assert_eq!(validate_type(&attrs, &[], &date_rule, &mut yes)[0].code, "unknown_attribute");
    }

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn admins_case_workers_and_auditors_read_every_dossier() {
        for r in ["admin", "case_worker", "viewer"] {
            assert!(may_read("x", &roles(&["crew", r]), &[]), "{r}");
        }
        for r in ["contract_manager", "planner", "service_agent", "integration", "maintenance-crew"] {
            assert!(!may_read("x", &roles(&[r]), &[]), "{r}");
        }
        assert!(!may_read("x", &[], &[]));
    }

    #[test]
    fn others_read_a_dossier_that_names_them_by_sub_or_role() {
        let olga = Assignee::User("olga".into());
        let desk = Assignee::Role("mortgage-desk".into());
        assert!(may_read("olga", &[], &[&olga]));
        assert!(!may_read("olgas-colleague", &roles(&["olga"]), &[&olga]), "a user is named by sub, not a role");
        assert!(may_read("dora", &roles(&["mortgage-desk"]), &[&olga, &desk]));
        assert!(!may_read("mortgage-desk", &[], &[&desk]), "a role is named by the roles claim, not the sub");
        assert!(!may_read("piet", &roles(&["maintenance-crew"]), &[&olga, &desk]));
    }

    #[test]
    fn a_type_names_its_default_owner_and_its_rules_responsibles() {
        let rule = |key: &str, responsible: Option<Assignee>| RuleDef {
            key: key.into(),
            description: None,
            trigger: Trigger::EventPosted { event: "moved".into() },
            workflow: "relocation".into(),
            responsible,
        };
        let owner = Assignee::User("olga".into());
        let rules = vec![rule("a", Some(Assignee::Role("mortgage-desk".into()))), rule("b", None)];
        let named = named_by_type(Some(&owner), &rules);
        assert_eq!(named, vec![&owner, &Assignee::Role("mortgage-desk".into())]);
        assert!(named_by_type(None, &[]).is_empty());
        assert!(may_read("dora", &roles(&["mortgage-desk"]), &named));
    }
}
