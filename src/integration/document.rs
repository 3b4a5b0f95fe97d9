//! What a pushed document means for the records it names, without I/O: the input that creates
//! a contract or an installation, the merge patch that makes an existing one say what the
//! document says (a pushed document replaces, so what it leaves out is removed), and the
//! lifecycle step a pushed status asks for. `service.rs` applies these in a transaction.

use super::input::{ContractDocument, InstallationDocument};
use crate::contracts::input::{ContractIn, ContractPatch, RenewalPatch};
use crate::contracts::model::Status as ContractStatus;
use crate::contracts::service::Verb;
use crate::error::{ApiError, FieldError};
use crate::http::Patch;
use crate::installations::input::{InstallationIn, InstallationPatch};
use crate::obligations::input::{ObligationIn, ObligationPatch};
use serde_json::{Map, Value};

/// A merge patch that sets every key of `wanted` and removes the keys `current` has beyond it.
pub fn replace_map(current: &Map<String, Value>, wanted: Map<String, Value>) -> Map<String, Value> {
    let mut patch = wanted;
    for k in current.keys() {
        patch.entry(k.clone()).or_insert(Value::Null);
    }
    patch
}

/// A field the document may leave out: what it leaves out is cleared.
pub fn opt<T>(v: Option<T>) -> Patch<T> {
    match v {
        Some(v) => Patch::Value(v),
        None => Patch::Null,
    }
}

/// The input that creates a document's contract (its lists are applied separately).
pub fn new_contract(doc: ContractDocument, external_ref: &str, parent_id: Option<&str>) -> ContractIn {
    ContractIn {
        number: doc.number,
        title: doc.title,
        contract_type: doc.contract_type,
        customer_ref: doc.customer_ref,
        customer_name: doc.customer_name,
        status: doc.status,
        start_date: doc.start_date,
        term_months: doc.term_months,
        renewal: doc.renewal,
        signed_at: doc.signed_at,
        external_ref: Some(external_ref.to_string()),
        parent_id: parent_id.map(str::to_string),
        attributes: doc.attributes,
        service_level: doc.service_level,
        owner: None,
        reminders: None,
    }
}

/// The patch that makes an existing contract (with attributes `current_attributes`, under
/// `current_parent`) say what the document's header says, placed under `parent_id` when the
/// document is a child. A number the document leaves out is kept (it may have been
/// generated); the owner, reminders and external reference are not the pushing system's to
/// change. The status is not part of the patch: see [`status_step`].
pub fn contract_patch(
    doc: ContractDocument,
    current_attributes: &Map<String, Value>,
    current_parent: Option<&str>,
    parent_id: Option<&str>,
) -> ContractPatch {
    let renewal = doc.renewal.unwrap_or_default();
    ContractPatch {
        number: doc.number.map(Patch::Value).unwrap_or_default(),
        title: Patch::Value(doc.title),
        contract_type: Patch::Value(doc.contract_type),
        customer_ref: Patch::Value(doc.customer_ref),
        customer_name: opt(doc.customer_name),
        start_date: Patch::Value(doc.start_date),
        term_months: opt(doc.term_months),
        renewal: Some(RenewalPatch {
            auto_renew: Some(renewal.auto_renew),
            term_months: opt(renewal.term_months),
            notice_period: opt(renewal.notice_period),
        }),
        signed_at: opt(doc.signed_at),
        external_ref: Patch::Absent,
        parent_id: match parent_id {
            Some(p) if current_parent != Some(p) => Patch::Value(p.to_string()),
            _ => Patch::Absent,
        },
        attributes: Some(replace_map(current_attributes, doc.attributes.unwrap_or_default())),
        service_level: opt(doc.service_level),
        owner: Patch::Absent,
        reminders: Patch::Absent,
    }
}

/// The lifecycle step that takes a contract in status `current` to the pushed status `wanted`:
/// none when it is already there or the document names none. A document may activate or
/// suspend; ending a contract goes through the lifecycle endpoints (409).
pub fn status_step(wanted: Option<ContractStatus>, current: ContractStatus) -> Result<Option<Verb>, ApiError> {
    match wanted.filter(|s| *s != current) {
        None => Ok(None),
        Some(ContractStatus::Active) => Ok(Some(Verb::Activate)),
        Some(ContractStatus::Suspended) => Ok(Some(Verb::Suspend)),
        Some(other) => Err(ApiError::conflict(
            "status_change_not_supported",
            format!(
                "a pushed document can activate or suspend a contract, not make it {}; use the lifecycle endpoints",
                other.as_str()
            ),
        )),
    }
}

/// A document's obligations are matched by title, so each needs a title of its own; `at` is
/// where the document sits in the pushed one (`children[0].`).
pub fn check_unique_titles(list: &[ObligationIn], at: &str) -> Result<(), ApiError> {
    let mut titles = std::collections::HashSet::new();
    for (i, o) in list.iter().enumerate() {
        if !titles.insert(o.title.as_str()) {
            return Err(ApiError::validation(vec![FieldError::new(
                format!("{at}obligations[{i}].title"),
                "duplicate",
                "obligations are matched by title; give each one a title of its own",
            )]));
        }
    }
    Ok(())
}

/// The patch that makes an existing obligation (matched by title) say what the document says.
pub fn obligation_patch(o: ObligationIn) -> ObligationPatch {
    ObligationPatch {
        title: Patch::Value(o.title),
        description: opt(o.description),
        kind: Patch::Value(o.kind),
        assignee: Patch::Value(o.assignee),
        due_date: opt(o.due_date),
        schedule: opt(o.schedule),
        lead_days: Patch::Value(o.lead_days.unwrap_or(0)),
        scope: Patch::Value(o.scope.unwrap_or(crate::obligations::model::Scope::Contract)),
        horizon_months: Patch::Value(o.horizon_months.unwrap_or(12)),
    }
}

/// The input that creates a pushed installation.
pub fn new_installation(doc: InstallationDocument, external_ref: &str) -> InstallationIn {
    InstallationIn {
        serial_number: doc.serial_number,
        name: doc.name,
        installation_type: doc.installation_type,
        customer_ref: doc.customer_ref,
        location: doc.location,
        installed_at: doc.installed_at,
        status: doc.status,
        parent_id: None,
        external_ref: Some(external_ref.to_string()),
        attributes: doc.attributes,
    }
}

/// The patch that makes an existing installation (with attributes `current_attributes`) say
/// what the document says; it takes the document's external reference (adopting one a
/// contract document created by serial number). A status the document leaves out is kept.
pub fn installation_patch(
    doc: InstallationDocument,
    external_ref: &str,
    current_attributes: &Map<String, Value>,
) -> InstallationPatch {
    let location = serde_json::to_value(doc.location.unwrap_or_default()).unwrap_or_default();
    InstallationPatch {
        serial_number: Patch::Value(doc.serial_number),
        name: Patch::Value(doc.name),
        installation_type: Patch::Value(doc.installation_type),
        customer_ref: Patch::Value(doc.customer_ref),
        location: Patch::Value(location.as_object().cloned().unwrap_or_default()),
        installed_at: opt(doc.installed_at),
        status: match doc.status {
            Some(s) => Patch::Value(s),
            None => Patch::Absent,
        },
        parent_id: Patch::Absent,
        external_ref: Patch::Value(external_ref.to_string()),
        attributes: Some(replace_map(current_attributes, doc.attributes.unwrap_or_default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contract(doc: Value) -> ContractDocument {
        serde_json::from_value(doc).unwrap()
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn header() -> Value {
        json!({
            "title": "Lift maintenance", "contract_type": "maintenance", "customer_ref": "CUST-1",
            "start_date": "2026-01-01", "term_months": 12,
            "renewal": {"auto_renew": true, "term_months": 12, "notice_period": "P3M"},
            "attributes": {"floors": 7}
        })
    }

    #[test]
    fn a_contract_patch_sets_what_the_document_says_and_clears_what_it_leaves_out() {
        let p = contract_patch(contract(header()), &map(json!({"floors": 5, "region": "north"})), None, None);
        assert_eq!(p.title, Patch::Value("Lift maintenance".into()));
        assert_eq!(p.contract_type, Patch::Value("maintenance".into()));
        assert_eq!(p.customer_ref, Patch::Value("CUST-1".into()));
        assert_eq!(p.term_months, Patch::Value(12));
        // Left out: cleared.
        assert_eq!(p.customer_name, Patch::Null);
        assert_eq!(p.signed_at, Patch::Null);
        assert_eq!(p.service_level, Patch::Null);
        // Attributes are replaced: a key the document no longer has is removed.
        assert_eq!(p.attributes, Some(map(json!({"floors": 7, "region": null}))));
        let r = p.renewal.unwrap();
        assert_eq!(r.auto_renew, Some(true));
        assert_eq!(r.notice_period, Patch::Value("P3M".into()));
        // Not the pushing system's to change, and a number it leaves out is kept.
        assert_eq!(p.number, Patch::Absent);
        assert_eq!(p.external_ref, Patch::Absent);
        assert_eq!(p.owner, Patch::Absent);
        assert_eq!(p.reminders, Patch::Absent);
        assert_eq!(p.parent_id, Patch::Absent);
    }

    #[test]
    fn a_child_document_moves_its_contract_under_the_parent_only_when_it_is_elsewhere() {
        let at = |current: Option<&str>| contract_patch(contract(header()), &Map::new(), current, Some("P")).parent_id;
        assert_eq!(at(None), Patch::Value("P".into()));
        assert_eq!(at(Some("Q")), Patch::Value("P".into()));
        assert_eq!(at(Some("P")), Patch::Absent);
        let mut doc = header();
        doc["number"] = json!("C-7");
        doc["term_months"] = Value::Null;
        let p = contract_patch(contract(doc), &Map::new(), None, None);
        assert_eq!(p.number, Patch::Value("C-7".into()));
        assert_eq!(p.term_months, Patch::Null);
    }

    #[test]
    fn a_pushed_status_may_activate_or_suspend_and_nothing_else() {
        assert!(status_step(None, ContractStatus::Active).unwrap().is_none());
        assert!(status_step(Some(ContractStatus::Active), ContractStatus::Active).unwrap().is_none());
        assert!(matches!(status_step(Some(ContractStatus::Active), ContractStatus::Draft), Ok(Some(Verb::Activate))));
        assert!(matches!(
            status_step(Some(ContractStatus::Suspended), ContractStatus::Active),
            Ok(Some(Verb::Suspend))
        ));
        for s in [ContractStatus::Terminated, ContractStatus::Expired, ContractStatus::Draft] {
            let e = status_step(Some(s), ContractStatus::Active).err().unwrap();
            assert_eq!(e.code, "status_change_not_supported");
            assert!(e.detail.contains(s.as_str()), "{}", e.detail);
        }
    }

    #[test]
    fn obligations_of_a_document_need_titles_of_their_own() {
        let o = |t: &str| -> ObligationIn {
            serde_json::from_value(
                json!({"title": t, "kind": "inspection", "assignee": {"role": "planner"}, "due_date": "2026-06-01"}),
            )
            .unwrap()
        };
        assert!(check_unique_titles(&[o("A"), o("B")], "").is_ok());
        let e = check_unique_titles(&[o("A"), o("B"), o("A")], "children[1].").unwrap_err();
        assert_eq!(e.errors[0].field, "children[1].obligations[2].title");
        assert_eq!(e.errors[0].code, "duplicate");
        let p = obligation_patch(o("A"));
        assert_eq!(p.lead_days, Patch::Value(0));
        assert_eq!(p.horizon_months, Patch::Value(12));
        assert_eq!(p.scope, Patch::Value(crate::obligations::model::Scope::Contract));
        assert!(matches!(p.schedule, Patch::Null));
        assert_eq!(p.description, Patch::Null);
    }

    #[test]
    fn an_installation_patch_replaces_and_takes_the_reference() {
        let doc: InstallationDocument = serde_json::from_value(json!({
            "serial_number": "SN-1", "name": "Lift A", "installation_type": "lift", "customer_ref": "CUST-1",
            "attributes": {"capacity_kg": 630}
        }))
        .unwrap();
        let p = installation_patch(doc, "ERP-9", &map(json!({"capacity_kg": 400, "colour": "red"})));
        assert_eq!(p.serial_number, Patch::Value("SN-1".into()));
        assert_eq!(p.external_ref, Patch::Value("ERP-9".into()));
        assert_eq!(p.status, Patch::Absent);
        assert_eq!(p.installed_at, Patch::Null);
        assert_eq!(p.parent_id, Patch::Absent);
        assert_eq!(p.attributes, Some(map(json!({"capacity_kg": 630, "colour": null}))));
    }
}
