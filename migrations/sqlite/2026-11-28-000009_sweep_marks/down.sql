DROP INDEX service_calls_respond_by;
DROP INDEX service_calls_resolve_by;
CREATE INDEX service_calls_respond_by ON service_calls (respond_by);
CREATE INDEX service_calls_resolve_by ON service_calls (resolve_by);
DROP TABLE sweep_marks;
