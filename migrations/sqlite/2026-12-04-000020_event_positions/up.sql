-- The change feed's order (see the PostgreSQL migration). SQLite has one writer at a time, so
-- events commit in id order and each takes its id as its position as it is written.
ALTER TABLE events ADD COLUMN position INTEGER;
UPDATE events SET position = id;
CREATE UNIQUE INDEX events_position ON events (position);
CREATE INDEX events_type_position ON events (entity_type, position);
DROP INDEX events_type_feed;
CREATE TRIGGER events_position AFTER INSERT ON events
BEGIN
    UPDATE events SET position = NEW.id WHERE id = NEW.id;
END;
