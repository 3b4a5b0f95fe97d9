-- Most tasks belong to no installation, service call, workflow or dossier: indexing their NULLs
-- only slowed every task insert (task generation writes millions). The lookups all ask for one
-- value, which a partial index answers.
DROP INDEX tasks_installation;
DROP INDEX tasks_service_call;
DROP INDEX tasks_workflow_instance;
DROP INDEX tasks_dossier;
CREATE INDEX tasks_installation ON tasks (installation_id, due_date, id) WHERE installation_id IS NOT NULL;
CREATE INDEX tasks_service_call ON tasks (service_call_id, due_date, id) WHERE service_call_id IS NOT NULL;
CREATE INDEX tasks_workflow_instance ON tasks (workflow_instance_id) WHERE workflow_instance_id IS NOT NULL;
CREATE INDEX tasks_dossier ON tasks (dossier_id, due_date, id) WHERE dossier_id IS NOT NULL;

-- The scheduler claims obligations in `generated_on, id` order (NULLs first); an index in exactly
-- that order lets it take the next batch without sorting every due obligation each time.
DROP INDEX obligations_generated_on;
CREATE INDEX obligations_due ON obligations (generated_on, id);

-- The scheduler looks for contracts in force past their end every pass; among a million
-- contracts, mostly ended or current, only this small index holds the ones it can act on.
CREATE INDEX contracts_in_force_end ON contracts (end_date, id) WHERE status IN ('active', 'suspended');
