-- PostgreSQL moves contract numbers to a sequence here. SQLite, with one writer at a time,
-- keeps counting them in the counters table; this version exists so both trees stay in step.
SELECT 1;
