//! Task rules without I/O: who a task is for, its statuses, and who may act on it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who is responsible: one person (`{"user": "alice"}`) or everyone holding a role or team
/// name (`{"role": "pension-desk"}`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Assignee {
    /// A user, by the `sub` of their token.
    User(String),
    /// A role or team name from the `roles` claim.
    Role(String),
}

/// The spec says what [`Assignee::check`] and serde enforce: exactly one of `user` or `role`,
/// a name of 1 to 200 characters that is not blank.
impl utoipa::PartialSchema for Assignee {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
        let choice = |key: &str, description: &str| {
            let name = ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(200))
                .pattern(Some(r"\S"))
                .description(Some(description));
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property(key, name)
                .required(key)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                .description(Some(description))
        };
        OneOfBuilder::new()
            .item(choice("user", "A user, by the `sub` of their token."))
            .item(choice("role", "A role or team name from the `roles` claim."))
            .description(Some(
                "Who is responsible: one person (`{\"user\": \"alice\"}`) or everyone holding a role or team\nname (`{\"role\": \"pension-desk\"}`).",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Assignee {
    fn name() -> std::borrow::Cow<'static, str> {
        "Assignee".into()
    }
}

/// Which of the two an [`Assignee`] is, as its kind column stores it (`user` | `role`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum AssigneeKind {
    User,
    Role,
}

impl AssigneeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AssigneeKind::User => "user",
            AssigneeKind::Role => "role",
        }
    }

    pub fn parse(s: &str) -> Option<AssigneeKind> {
        [AssigneeKind::User, AssigneeKind::Role].into_iter().find(|k| k.as_str() == s)
    }
}

crate::db::column::text_enum!(AssigneeKind, "assignee kind");

impl Assignee {
    pub fn from_parts(kind: AssigneeKind, name: &str) -> Assignee {
        match kind {
            AssigneeKind::Role => Assignee::Role(name.to_string()),
            AssigneeKind::User => Assignee::User(name.to_string()),
        }
    }

    /// (kind, name) as stored.
    pub fn parts(&self) -> (AssigneeKind, &str) {
        match self {
            Assignee::User(n) => (AssigneeKind::User, n),
            Assignee::Role(n) => (AssigneeKind::Role, n),
        }
    }

    /// Whether the caller with `sub` and `roles` is this assignee.
    pub fn is(&self, sub: &str, roles: &[String]) -> bool {
        match self {
            Assignee::User(n) => n == sub,
            Assignee::Role(n) => roles.iter().any(|r| r == n),
        }
    }

    /// Checks the name is usable: not blank, at most 200 characters.
    pub fn check(&self) -> Result<(), &'static str> {
        let (_, name) = self.parts();
        if name.trim().is_empty() {
            Err("the assignee's name must not be empty")
        } else if name.chars().count() > 200 {
            Err("the assignee's name is at most 200 characters")
        } else {
            Ok(())
        }
    }
}

/// Where a task is. `overdue` is not a status: it is derived from the due date.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[schema(as = TaskStatus)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    InProgress,
    Done,
    Skipped,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in_progress",
            Status::Done => "done",
            Status::Skipped => "skipped",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "open" => Status::Open,
            "in_progress" => Status::InProgress,
            "done" => Status::Done,
            "skipped" => Status::Skipped,
            "cancelled" => Status::Cancelled,
            _ => return None,
        })
    }

    /// Open work: counts for `overdue` and can still be acted on.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Open | Status::InProgress)
    }
}

crate::db::column::text_enum!(Status, "task status");

/// What a task stands for.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, diesel::AsExpression, diesel::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An occurrence of a planned obligation.
    Planned,
    /// Work on a service call.
    ServiceAction,
    /// The active step of a workflow.
    WorkflowStep,
    /// A contract's notice deadline or end date draws near (for its owner).
    Reminder,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Planned => "planned",
            Kind::ServiceAction => "service_action",
            Kind::WorkflowStep => "workflow_step",
            Kind::Reminder => "reminder",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "planned" => Kind::Planned,
            "service_action" => Kind::ServiceAction,
            "workflow_step" => Kind::WorkflowStep,
            "reminder" => Kind::Reminder,
            _ => return None,
        })
    }
}

crate::db::column::text_enum!(Kind, "task kind");

/// A verb on a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Start,
    Complete,
    Skip,
    Cancel,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Complete => "complete",
            Action::Skip => "skip",
            Action::Cancel => "cancel",
        }
    }

    pub fn past_tense(self) -> &'static str {
        match self {
            Action::Start => "started",
            Action::Complete => "completed",
            Action::Skip => "skipped",
            Action::Cancel => "cancelled",
        }
    }
}

/// The status after `action`, or `None` when not allowed (a closed task cannot change).
pub fn transition(from: Status, action: Action) -> Option<Status> {
    match (from, action) {
        (Status::Open, Action::Start) => Some(Status::InProgress),
        (s, Action::Complete) if s.is_open() => Some(Status::Done),
        (s, Action::Skip) if s.is_open() => Some(Status::Skipped),
        (s, Action::Cancel) if s.is_open() => Some(Status::Cancelled),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_stop_at_closed_states() {
        assert_eq!(transition(Status::Open, Action::Start), Some(Status::InProgress));
        assert_eq!(transition(Status::InProgress, Action::Start), None);
        assert_eq!(transition(Status::InProgress, Action::Complete), Some(Status::Done));
        assert_eq!(transition(Status::Open, Action::Skip), Some(Status::Skipped));
        assert_eq!(transition(Status::Open, Action::Cancel), Some(Status::Cancelled));
        for closed in [Status::Done, Status::Skipped, Status::Cancelled] {
            for a in [Action::Start, Action::Complete, Action::Skip, Action::Cancel] {
                assert_eq!(transition(closed, a), None);
            }
        }
    }

    #[test]
    fn assignees_match_users_and_roles() {
        let roles = vec!["planner".to_string(), "pension-desk".to_string()];
        assert!(Assignee::User("alice".into()).is("alice", &[]));
        assert!(!Assignee::User("alice".into()).is("bob", &roles));
        assert!(Assignee::Role("pension-desk".into()).is("bob", &roles));
        assert!(!Assignee::Role("mortgage-desk".into()).is("bob", &roles));
        let json = serde_json::to_value(Assignee::Role("x".into())).unwrap();
        assert_eq!(json, serde_json::json!({"role": "x"}));
    }
}
