//! What clients send to `/api/v1/webhooks`.

use crate::http::Patch;
use serde::Deserialize;
use utoipa::ToSchema;

/// A new webhook subscription.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// Where events are POSTed: an absolute `http://` or `https://` URL at a public address.
    /// Loopback, private, shared (CGNAT), link-local and other special-purpose addresses, in
    /// any spelling, `localhost` and the cloud metadata host names are refused
    /// (`url_not_public`) unless the operator allows their range (`WEBHOOK_ALLOW_PRIVATE`);
    /// every address a host name resolves to is checked again at each delivery.
    #[schema(
        example = "https://crm.example.com/pactum-events",
        pattern = "^[hH][tT][tT][pP][sS]?://[^/?#@ ]+",
        max_length = 2000
    )]
    pub url: String,
    /// Event types to deliver: `<entity>.<action>` such as `contract.created`, `contract.renewed`,
    /// `task.overdue`, `service_call.breached`, `contract.notice_approaching`, `workflow.started`;
    /// `<entity>.*` for every type of one entity; `*` for every type except the webhooks' own
    /// changes (`webhook.created`,
    /// `webhook.updated`, `webhook.deleted`, `webhook.paused`, `webhook.delivery_skipped`), which
    /// are delivered only when named or as `webhook.*`.
    #[schema(value_type = Vec<super::model::EventTypePattern>, example = json!(["contract.created", "contract.renewed", "task.overdue"]), min_items = 1, max_items = 100)]
    pub event_types: Vec<String>,
    /// Signing secret, 16 to 200 printable ASCII characters without spaces. Absent: one is generated. Either way
    /// it is shown in this answer only; later answers show a hint.
    #[schema(min_length = 16, max_length = 200, pattern = r"^[\x21-\x7e]{16,200}$")]
    pub secret: Option<String>,
    /// What the subscription is for.
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub description: Option<String>,
    /// Whether events are delivered (default true). An inactive webhook keeps its place in the
    /// event log and catches up when activated again.
    pub active: Option<bool>,
}

/// A merge patch of a webhook. `secret` rotates the signing secret (write-only).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    /// New receiver URL, under the rules of `WebhookIn.url`.
    #[serde(default)]
    #[schema(value_type = String, pattern = "^[hH][tT][tT][pP][sS]?://[^/?#@ ]+", max_length = 2000)]
    pub url: Patch<String>,
    /// New list of event types, replacing the old one; it applies to the events the outbox has not
    /// taken in yet (those after `last_event_id`).
    #[serde(default)]
    #[schema(value_type = Vec<super::model::EventTypePattern>, min_items = 1, max_items = 100)]
    pub event_types: Patch<Vec<String>>,
    /// A new signing secret; deliveries from now on are signed with it.
    #[serde(default)]
    #[schema(value_type = String, min_length = 16, max_length = 200, pattern = r"^[\x21-\x7e]{16,200}$")]
    pub secret: Patch<String>,
    /// `null` clears the description.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 1000, pattern = r"\S")]
    pub description: Patch<String>,
    /// Turn deliveries off (`false`) or on (`true`). `true` also resumes a webhook the
    /// dispatcher paused (`status` `paused`): its failing time starts again from zero.
    #[serde(default)]
    #[schema(value_type = bool)]
    pub active: Patch<bool>,
}
