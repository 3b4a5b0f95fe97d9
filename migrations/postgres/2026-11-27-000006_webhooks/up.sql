-- Webhook subscriptions. `last_event_id` is the outbox cursor: every event up to it has been
-- considered (a delivery row made when its type is subscribed). Event ids are handed out in
-- commit order (every write transaction takes one lock first), so nothing is skipped.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    description TEXT,
    -- JSON array of subscribed event types (`contract.created`, `contract.*`, `*`)
    event_types TEXT NOT NULL,
    secret TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    last_event_id BIGINT NOT NULL,
    -- which dispatcher delivers for this webhook right now, and until when (several instances)
    lease_owner TEXT,
    lease_until TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- One row per (webhook, event) to deliver: the outbox, with the state of its attempts.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id BIGINT NOT NULL REFERENCES events (id),
    event_type TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER,
    last_error TEXT,
    last_attempt_at TIMESTAMP,
    -- when the next attempt is due; NULL once delivered
    next_attempt_at TIMESTAMP,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, event_id) WHERE delivered_at IS NULL;

-- Events derived from the passing of time (a task overdue, an SLA deadline breached) are
-- appended once: the marker's key makes a second firing a no-op, in the event's transaction.
CREATE TABLE event_markers (
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    event_id BIGINT NOT NULL REFERENCES events (id),
    PRIMARY KEY (entity_type, entity_id, kind)
);
