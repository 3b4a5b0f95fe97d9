DROP INDEX tasks_service_call;
ALTER TABLE tasks DROP COLUMN service_call_id;
DROP TABLE service_calls;
ALTER TABLE contracts DROP COLUMN service_level;
