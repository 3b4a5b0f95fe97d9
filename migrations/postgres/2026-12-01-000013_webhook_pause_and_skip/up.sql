-- A webhook whose receiver fails without a success in between records since when
-- (`failing_since`); after WEBHOOK_PAUSE_AFTER_HOURS of that the dispatcher pauses it
-- (`active` false, `paused_at` set) until an admin resumes it.
ALTER TABLE webhooks ADD COLUMN failing_since TIMESTAMP;
ALTER TABLE webhooks ADD COLUMN paused_at TIMESTAMP;

-- An admin may skip a pending delivery on purpose (one the receiver will never accept), so the
-- later ones flow: who did it and when.
ALTER TABLE webhook_deliveries ADD COLUMN skipped_at TIMESTAMP;
ALTER TABLE webhook_deliveries ADD COLUMN skipped_by TEXT;

-- The queue is what is neither delivered nor skipped.
DROP INDEX webhook_deliveries_pending;
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, event_id)
    WHERE delivered_at IS NULL AND skipped_at IS NULL;
