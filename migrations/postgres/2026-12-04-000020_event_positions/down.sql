CREATE INDEX events_type_feed ON events (entity_type, id);
DROP INDEX events_unsettled;
DROP INDEX events_type_position;
DROP INDEX events_position;
ALTER TABLE events DROP COLUMN position;
