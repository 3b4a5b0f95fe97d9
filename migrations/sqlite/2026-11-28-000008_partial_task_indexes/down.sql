DROP INDEX tasks_installation;
DROP INDEX tasks_service_call;
DROP INDEX tasks_workflow_instance;
DROP INDEX tasks_dossier;
CREATE INDEX tasks_installation ON tasks (installation_id, due_date, id);
CREATE INDEX tasks_service_call ON tasks (service_call_id, due_date, id);
CREATE INDEX tasks_workflow_instance ON tasks (workflow_instance_id);
CREATE INDEX tasks_dossier ON tasks (dossier_id, due_date, id);
