-- A personal feed token may carry an end of validity; without one it lasts until revoked.
ALTER TABLE feed_tokens ADD COLUMN expires_at TIMESTAMP;
