-- The change feed's order. Event ids are handed out when a write inserts its event, and writes
-- on PostgreSQL commit in any order, so a reader that remembers the last id it saw could skip
-- an event that commits later with a smaller id. Events are therefore appended without a
-- position; `events::store::settle` gives the committed ones positions, one pass at a time,
-- and readers page by position. Events written before this migration keep their id.
ALTER TABLE events ADD COLUMN position BIGINT;
UPDATE events SET position = id;
CREATE UNIQUE INDEX events_position ON events (position);
CREATE INDEX events_type_position ON events (entity_type, position);
CREATE INDEX events_unsettled ON events (id) WHERE position IS NULL;
DROP INDEX events_type_feed;
