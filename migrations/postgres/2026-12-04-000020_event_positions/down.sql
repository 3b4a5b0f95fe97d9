-- Webhook cursors (webhooks.last_event_id) stay as they are: positions read as ids again, so
-- a webhook may deliver or skip events around its cursor once.
CREATE INDEX events_type_feed ON events (entity_type, id);
DROP INDEX events_unsettled;
DROP INDEX events_type_position;
DROP INDEX events_position;
ALTER TABLE events DROP COLUMN position;
