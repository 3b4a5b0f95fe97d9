-- A role's or a person's tasks of one status in due order (the worklist: "crew-7's open
-- tasks"). The index over (assignee, due date) alone walks past every closed task that falls
-- due before the open ones, which after a year of work is most of them.
CREATE INDEX tasks_assignee_status ON tasks (assignee_kind, assignee_name, status, due_date, id);
