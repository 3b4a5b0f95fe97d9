//! What an event records: the fields that changed, each with its old and new value.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Old and new value of one changed field (`null` where there was or is no value).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Change {
    /// The value before (any JSON value; `null` when there was none).
    pub old: Value,
    /// The value after (any JSON value; `null` when there is none).
    pub new: Value,
}

/// Field path → change. Attributes appear one by one as `attributes.<key>`.
pub type Changes = BTreeMap<String, Change>;

/// Bookkeeping fields that change on every write and would only add noise to history.
const IGNORED: &[&str] = &["id", "version", "created_at", "updated_at"];

/// The changes between two JSON snapshots of a resource (`Value::Null` for "did not exist").
pub fn diff(old: &Value, new: &Value) -> Changes {
    let empty = Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let new = new.as_object().unwrap_or(&empty);
    let mut changes = Changes::new();
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for key in keys {
        if IGNORED.contains(&key.as_str()) {
            continue;
        }
        let o = old.get(key).unwrap_or(&Value::Null);
        let n = new.get(key).unwrap_or(&Value::Null);
        if o == n {
            continue;
        }
        if o.is_object() || n.is_object() {
            for (sub, change) in diff(o, n) {
                changes.insert(format!("{key}.{sub}"), change);
            }
        } else {
            changes.insert(key.clone(), Change { old: o.clone(), new: n.clone() });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_changed_fields_and_attribute_keys() {
        let old = json!({"title": "A", "version": 1, "attributes": {"region": "north", "size": 3}});
        let new = json!({"title": "B", "version": 2, "attributes": {"region": "north", "colour": "red"}});
        let d = diff(&old, &new);
        assert_eq!(d.len(), 3);
        assert_eq!(d["title"], Change { old: json!("A"), new: json!("B") });
        assert_eq!(d["attributes.size"], Change { old: json!(3), new: Value::Null });
        assert_eq!(d["attributes.colour"], Change { old: Value::Null, new: json!("red") });
    }

    #[test]
    fn creation_diff_has_every_set_field() {
        let d = diff(&Value::Null, &json!({"title": "A", "parent_id": null}));
        assert_eq!(d.len(), 1);
        assert!(d.contains_key("title"));
    }
}
