DROP INDEX webhook_deliveries_pending;
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, event_id) WHERE delivered_at IS NULL;
ALTER TABLE webhook_deliveries DROP COLUMN skipped_by;
ALTER TABLE webhook_deliveries DROP COLUMN skipped_at;
ALTER TABLE webhooks DROP COLUMN paused_at;
ALTER TABLE webhooks DROP COLUMN failing_since;
