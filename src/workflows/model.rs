//! Workflow rules without I/O: the shape of a definition, its validation, and which step comes
//! after a step is completed with an outcome.

use crate::contracts::model::Period;
use crate::error::FieldError;
use crate::tasks::model::Assignee;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The reserved `next` value that ends the workflow.
pub const END: &str = "end";

/// Who a step's task is for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StepAssignee {
    /// A user, by the `sub` of their token: `{"user": "alice"}`.
    User(String),
    /// A role or team name: `{"role": "pension-desk"}`.
    Role(String),
    /// `"owner"`: the dossier's owner when the step starts.
    Owner,
    /// `"responsible"` (default): whoever the rule (or the person starting the workflow) made
    /// responsible for the instance; the dossier's owner when nobody was named.
    #[default]
    Responsible,
}

impl StepAssignee {
    /// The concrete assignee, given the dossier's owner and the instance's responsible.
    pub fn resolve(&self, owner: &Assignee, responsible: &Assignee) -> Assignee {
        match self {
            StepAssignee::User(n) => Assignee::User(n.clone()),
            StepAssignee::Role(n) => Assignee::Role(n.clone()),
            StepAssignee::Owner => owner.clone(),
            StepAssignee::Responsible => responsible.clone(),
        }
    }
}

/// One possible result of a step and where it leads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = StepOutcome)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// snake_case name of the outcome, given when completing the step's task.
    #[schema(example = "approved", pattern = "^[a-z][a-z0-9_]{0,62}$")]
    pub key: String,
    /// The key of the next step, or `end`. Absent: the step's default next step.
    #[schema(example = "end")]
    pub next: Option<String>,
}

/// One step of a workflow definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// snake_case key, unique in the workflow (`end` is reserved).
    #[schema(example = "contact_customer", pattern = "^[a-z][a-z0-9_]{0,62}$")]
    pub key: String,
    /// What the step's task is called in the worklist.
    #[schema(example = "Contact the customer", min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// Who the step's task is for (default `"responsible"`).
    #[serde(default)]
    pub assignee: StepAssignee,
    /// ISO 8601 period from the step's start to its task's due date, e.g. `P5D` (default `P0D`: due the day it starts).
    #[schema(example = "P5D")]
    pub due_in: Option<String>,
    /// Possible results; when listed, completing the step needs one of them.
    #[serde(default)]
    pub outcomes: Vec<Outcome>,
    /// The default next step (a step key or `end`); absent: the following step, or `end` after the last.
    pub next: Option<String>,
}

/// Where a workflow instance is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    /// A step is active.
    Running,
    /// A step led to the end.
    Completed,
    /// Cancelled by hand.
    Cancelled,
}

impl InstanceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Running => "running",
            InstanceStatus::Completed => "completed",
            InstanceStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<InstanceStatus> {
        [InstanceStatus::Running, InstanceStatus::Completed, InstanceStatus::Cancelled]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

crate::db::column::text_enum!(InstanceStatus, "workflow instance status");

/// Where a step of an instance is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// The instance's current step: its task is in the worklist.
    Active,
    /// Its task was completed.
    Done,
    /// Its task was skipped.
    Skipped,
    /// The instance was cancelled during the step.
    Cancelled,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Active => "active",
            StepStatus::Done => "done",
            StepStatus::Skipped => "skipped",
            StepStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<StepStatus> {
        [StepStatus::Active, StepStatus::Done, StepStatus::Skipped, StepStatus::Cancelled]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

crate::db::column::text_enum!(StepStatus, "workflow step status");

/// Where a finished step leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// The step at this index.
    Step(usize),
    /// The workflow ends.
    End,
}

fn target(steps: &[Step], name: &str) -> Option<Next> {
    if name == END {
        return Some(Next::End);
    }
    steps.iter().position(|s| s.key == name).map(Next::Step)
}

/// The step's default successor: its `next`, else the following step, else the end.
fn default_next(steps: &[Step], i: usize) -> Option<Next> {
    match &steps[i].next {
        Some(n) => target(steps, n),
        None if i + 1 < steps.len() => Some(Next::Step(i + 1)),
        None => Some(Next::End),
    }
}

/// Every place step `i` can lead to (unknown names left out; validation reports them).
fn successors(steps: &[Step], i: usize) -> Vec<Next> {
    if steps[i].outcomes.is_empty() {
        return default_next(steps, i).into_iter().collect();
    }
    steps[i]
        .outcomes
        .iter()
        .filter_map(|o| match &o.next {
            Some(n) => target(steps, n),
            None => default_next(steps, i),
        })
        .collect()
}

/// The due date of a step that starts on `start`.
pub fn due_date(step: &Step, start: chrono::NaiveDate) -> chrono::NaiveDate {
    step.due_in.as_deref().and_then(|p| Period::parse(p).ok()).and_then(|p| p.after(start)).unwrap_or(start)
}

/// Checks a definition; every problem names its step (`steps[i]…`, and the key in the message):
/// unknown step names, steps no path reaches, steps from which the workflow can never end.
pub fn validate(steps: &[Step]) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if steps.is_empty() {
        errors.push(FieldError::new("steps", "required", "a workflow needs at least one step"));
        return Err(errors);
    }
    if steps.len() > 100 {
        errors.push(FieldError::new("steps", "too_many", "a workflow has at most 100 steps"));
        return Err(errors);
    }
    let mut seen = std::collections::HashSet::new();
    for (i, s) in steps.iter().enumerate() {
        let at = format!("steps[{i}]");
        if !crate::attributes::model::valid_key(&s.key) || s.key == END {
            errors.push(FieldError::new(
                format!("{at}.key"),
                "invalid_key",
                format!(
                    "step key {:?}: use snake_case (a lowercase letter, then letters, digits or _), not `end`",
                    s.key
                ),
            ));
        } else if !seen.insert(s.key.as_str()) {
            errors.push(FieldError::new(
                format!("{at}.key"),
                "duplicate",
                format!("step `{}` is defined twice", s.key),
            ));
        }
        crate::http::check_text(&mut errors, &format!("{at}.name"), &s.name, 200);
        if let StepAssignee::User(n) | StepAssignee::Role(n) = &s.assignee {
            if let Err(m) = Assignee::User(n.clone()).check() {
                errors.push(FieldError::new(
                    format!("{at}.assignee"),
                    "invalid_value",
                    format!("step `{}`: {m}", s.key),
                ));
            }
        }
        if let Some(p) = &s.due_in {
            if let Err(m) = Period::parse(p) {
                errors.push(FieldError::new(
                    format!("{at}.due_in"),
                    "invalid_period",
                    format!("step `{}`: {m}", s.key),
                ));
            }
        }
        let mut outcome_keys = std::collections::HashSet::new();
        for (j, o) in s.outcomes.iter().enumerate() {
            let oat = format!("{at}.outcomes[{j}]");
            if !crate::attributes::model::valid_key(&o.key) {
                errors.push(FieldError::new(
                    format!("{oat}.key"),
                    "invalid_key",
                    format!("step `{}`: outcome {:?} must be snake_case", s.key, o.key),
                ));
            } else if !outcome_keys.insert(o.key.as_str()) {
                errors.push(FieldError::new(
                    format!("{oat}.key"),
                    "duplicate",
                    format!("step `{}`: outcome `{}` is listed twice", s.key, o.key),
                ));
            }
            if let Some(n) = &o.next {
                if target(steps, n).is_none() {
                    errors.push(FieldError::new(
                        format!("{oat}.next"),
                        "unknown_step",
                        format!(
                            "step `{}`, outcome `{}`: `{n}` is not a step of this workflow (nor `end`)",
                            s.key, o.key
                        ),
                    ));
                }
            }
        }
        if let Some(n) = &s.next {
            if target(steps, n).is_none() {
                errors.push(FieldError::new(
                    format!("{at}.next"),
                    "unknown_step",
                    format!("step `{}`: `{n}` is not a step of this workflow (nor `end`)", s.key),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Reachable from the first step.
    let mut reached = vec![false; steps.len()];
    let mut stack = vec![0];
    reached[0] = true;
    while let Some(i) = stack.pop() {
        for n in successors(steps, i) {
            if let Next::Step(j) = n {
                if !reached[j] {
                    reached[j] = true;
                    stack.push(j);
                }
            }
        }
    }
    // Steps from which the end can be reached (fixpoint over the successor relation).
    let mut ends = vec![false; steps.len()];
    loop {
        let mut changed = false;
        for i in 0..steps.len() {
            if !ends[i]
                && successors(steps, i).iter().any(|n| match n {
                    Next::End => true,
                    Next::Step(j) => ends[*j],
                })
            {
                ends[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for (i, s) in steps.iter().enumerate() {
        if !reached[i] {
            errors.push(FieldError::new(
                format!("steps[{i}]"),
                "unreachable",
                format!("step `{}` can never be reached from the first step", s.key),
            ));
        } else if !ends[i] {
            errors.push(FieldError::new(
                format!("steps[{i}]"),
                "no_end",
                format!("from step `{}` the workflow can never end", s.key),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The step after step `i` finishes with `outcome` (`skipped`: finished without one).
/// The error says why the outcome does not fit the step.
pub fn next_step(steps: &[Step], i: usize, outcome: Option<&str>, skipped: bool) -> Result<Next, String> {
    let step = &steps[i];
    let keys = || step.outcomes.iter().map(|o| o.key.as_str()).collect::<Vec<_>>().join(", ");
    let found = match outcome {
        None if step.outcomes.is_empty() => default_next(steps, i),
        None if skipped => {
            return Err(format!("step `{}` needs an outcome ({}); it cannot be skipped", step.key, keys()))
        }
        None => return Err(format!("step `{}` needs an outcome: one of {}", step.key, keys())),
        Some(o) if step.outcomes.is_empty() => {
            return Err(format!("step `{}` has no outcomes; complete it without one (got {o:?})", step.key))
        }
        Some(o) => match step.outcomes.iter().find(|x| x.key == o) {
            None => return Err(format!("{o:?} is not an outcome of step `{}`: one of {}", step.key, keys())),
            Some(x) => match &x.next {
                Some(n) => target(steps, n),
                None => default_next(steps, i),
            },
        },
    };
    found.ok_or_else(|| format!("step `{}` leads to a step that does not exist", step.key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(key: &str, next: Option<&str>, outcomes: &[(&str, Option<&str>)]) -> Step {
        Step {
            key: key.into(),
            name: key.into(),
            assignee: StepAssignee::Responsible,
            due_in: Some("P5D".into()),
            outcomes: outcomes.iter().map(|(k, n)| Outcome { key: (*k).into(), next: n.map(Into::into) }).collect(),
            next: next.map(Into::into),
        }
    }

    fn codes(e: Vec<FieldError>) -> Vec<(String, String)> {
        e.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn a_linear_workflow_is_valid_and_runs_in_order() {
        let steps = vec![step("a", None, &[]), step("b", None, &[]), step("c", None, &[])];
        assert!(validate(&steps).is_ok());
        assert_eq!(next_step(&steps, 0, None, false), Ok(Next::Step(1)));
        assert_eq!(next_step(&steps, 2, None, false), Ok(Next::End));
    }

    #[test]
    fn outcomes_choose_the_next_step() {
        let steps = vec![
            step("check", None, &[("ok", Some("pay")), ("rejected", Some("end")), ("unclear", Some("check"))]),
            step("ask", Some("check"), &[]),
            step("pay", None, &[]),
        ];
        // `ask` is unreachable: no outcome leads there.
        assert_eq!(codes(validate(&steps).unwrap_err()), vec![("steps[1]".to_string(), "unreachable".to_string())]);
        let steps = vec![
            step("check", None, &[("ok", Some("pay")), ("rejected", Some("end")), ("unclear", None)]),
            step("ask", Some("check"), &[]),
            step("pay", None, &[]),
        ];
        assert!(validate(&steps).is_ok());
        assert_eq!(next_step(&steps, 0, Some("ok"), false), Ok(Next::Step(2)));
        assert_eq!(next_step(&steps, 0, Some("rejected"), false), Ok(Next::End));
        assert_eq!(next_step(&steps, 0, Some("unclear"), false), Ok(Next::Step(1)));
        assert_eq!(next_step(&steps, 1, None, false), Ok(Next::Step(0)));
        assert!(next_step(&steps, 0, None, false).unwrap_err().contains("needs an outcome"));
        assert!(next_step(&steps, 0, None, true).unwrap_err().contains("cannot be skipped"));
        assert!(next_step(&steps, 0, Some("maybe"), false).unwrap_err().contains("not an outcome"));
        assert!(next_step(&steps, 2, Some("ok"), false).unwrap_err().contains("no outcomes"));
    }

    #[test]
    fn unknown_steps_are_named() {
        let steps = vec![step("a", None, &[("x", Some("nowhere"))]), step("b", Some("gone"), &[])];
        let e = validate(&steps).unwrap_err();
        assert_eq!(e[0].field, "steps[0].outcomes[0].next");
        assert_eq!(e[0].code, "unknown_step");
        assert!(e[0].message.contains("step `a`") && e[0].message.contains("nowhere"));
        assert_eq!(e[1].field, "steps[1].next");
    }

    #[test]
    fn a_loop_without_exit_has_no_end() {
        let steps = vec![step("a", None, &[]), step("b", Some("a"), &[])];
        let got = codes(validate(&steps).unwrap_err());
        assert_eq!(
            got,
            vec![("steps[0]".to_string(), "no_end".to_string()), ("steps[1]".to_string(), "no_end".to_string())]
        );
    }

    #[test]
    fn keys_and_periods_are_checked() {
        let mut s = step("end", None, &[]);
        s.due_in = Some("5 days".into());
        let got = codes(validate(&[s.clone(), s]).unwrap_err());
        assert!(got.contains(&("steps[0].key".to_string(), "invalid_key".to_string())));
        assert!(got.contains(&("steps[0].due_in".to_string(), "invalid_period".to_string())));
        assert_eq!(codes(validate(&[]).unwrap_err()), vec![("steps".to_string(), "required".to_string())]);
    }

    #[test]
    fn due_dates_follow_the_period_with_month_ends_clamped() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let mut s = step("a", None, &[]);
        assert_eq!(due_date(&s, d("2026-06-15")), d("2026-06-20"));
        s.due_in = Some("P1M".into());
        assert_eq!(due_date(&s, d("2026-01-31")), d("2026-02-28"));
        s.due_in = None;
        assert_eq!(due_date(&s, d("2026-01-31")), d("2026-01-31"));
    }

    #[test]
    fn assignees_resolve_to_owner_or_responsible() {
        let owner = Assignee::User("olga".into());
        let resp = Assignee::Role("mortgage-desk".into());
        assert_eq!(StepAssignee::Owner.resolve(&owner, &resp), owner);
        assert_eq!(StepAssignee::Responsible.resolve(&owner, &resp), resp);
        assert_eq!(StepAssignee::Role("x".into()).resolve(&owner, &resp), Assignee::Role("x".into()));
        let parsed: StepAssignee = serde_json::from_str("\"owner\"").unwrap();
        assert_eq!(parsed, StepAssignee::Owner);
        let parsed: StepAssignee = serde_json::from_str("{\"user\": \"al\"}").unwrap();
        assert_eq!(parsed, StepAssignee::User("al".into()));
    }
}
