-- How far each derived-event sweep has got: every row whose sweep key (a task's due date, a
-- call's deadline) lies before `mark` has been looked at, so a pass starts there instead of
-- re-reading every open overdue task and every late call. A write that puts a row behind the
-- mark moves the mark back and bumps `version`, which makes a pass running at that moment
-- keep the old mark (see src/scheduler/marks.rs).
CREATE TABLE sweep_marks (
    name TEXT PRIMARY KEY NOT NULL,
    mark TIMESTAMP NOT NULL,
    version BIGINT NOT NULL
);
INSERT INTO sweep_marks (name, mark, version) VALUES
    ('task.overdue', '1970-01-01 00:00:00', 0),
    ('service_call.response_breached', '1970-01-01 00:00:00', 0),
    ('service_call.resolution_breached', '1970-01-01 00:00:00', 0);

-- The breach sweeps walk calls in deadline order from the mark.
DROP INDEX service_calls_respond_by;
DROP INDEX service_calls_resolve_by;
CREATE INDEX service_calls_respond_by ON service_calls (respond_by, id) WHERE respond_by IS NOT NULL;
CREATE INDEX service_calls_resolve_by ON service_calls (resolve_by, id) WHERE resolve_by IS NOT NULL;
