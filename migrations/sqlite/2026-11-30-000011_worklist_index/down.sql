DROP INDEX tasks_assignee_status;
