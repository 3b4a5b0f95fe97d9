//! Pushes: writes by the client's own reference that create, update or leave a record as it
//! is (the integration's contract and installation pushes, the documents pushed with them).

use serde::Serialize;
use utoipa::ToSchema;

/// What applying a document did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = PushOutcome)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    Updated,
    /// The stored data already matched the document; nothing was written.
    Unchanged,
}
