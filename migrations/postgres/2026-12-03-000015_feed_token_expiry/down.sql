ALTER TABLE feed_tokens DROP COLUMN expires_at;
