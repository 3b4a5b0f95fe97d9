DROP TABLE feed_tokens;
DROP TABLE tasks;
DROP TABLE obligations;
