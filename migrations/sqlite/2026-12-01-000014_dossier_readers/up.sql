-- Who reads a dossier besides admins, case workers and auditors: its owner, the teams its type
-- names, and the responsible and the active step's assignee of a workflow running on it. The
-- dossier list and the change feed look the last two up for the caller's sub and roles.
CREATE INDEX workflow_instances_responsible ON workflow_instances (responsible_kind, responsible_name, status);
CREATE INDEX workflow_instance_steps_assignee ON workflow_instance_steps (assignee_kind, assignee_name, status);
