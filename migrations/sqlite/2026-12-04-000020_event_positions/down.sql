DROP TRIGGER events_position;
CREATE INDEX events_type_feed ON events (entity_type, id);
DROP INDEX events_type_position;
DROP INDEX events_position;
ALTER TABLE events DROP COLUMN position;
