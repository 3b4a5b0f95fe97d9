-- Dossier types: the stable identity (key) and its current version; each change is a new
-- version row, and dossiers keep the version they were made (or last moved) with.
CREATE TABLE dossier_types (
    id TEXT PRIMARY KEY NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX dossier_types_key ON dossier_types (key);

CREATE TABLE dossier_type_versions (
    type_id TEXT NOT NULL REFERENCES dossier_types (id),
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    -- JSON: [{key, label, data_type, required, options, description}]
    attributes TEXT NOT NULL,
    default_owner_kind TEXT,
    default_owner_name TEXT,
    -- JSON: [{key, name, trigger, workflow, responsible}]
    rules TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (type_id, version)
);

-- Workflow definitions: identity and current version; steps live in the version rows.
CREATE TABLE workflows (
    id TEXT PRIMARY KEY NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX workflows_key ON workflows (key);

CREATE TABLE workflow_versions (
    workflow_id TEXT NOT NULL REFERENCES workflows (id),
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    -- JSON: [{key, name, assignee, due, outcomes, next}]
    steps TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (workflow_id, version)
);

CREATE TABLE dossiers (
    id TEXT PRIMARY KEY NOT NULL,
    type_id TEXT NOT NULL REFERENCES dossier_types (id),
    type_key TEXT NOT NULL,
    type_version BIGINT NOT NULL,
    customer_ref TEXT NOT NULL,
    contract_id TEXT REFERENCES contracts (id),
    owner_kind TEXT NOT NULL,
    owner_name TEXT NOT NULL,
    status TEXT NOT NULL,
    attributes TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX dossiers_type ON dossiers (type_key, id);
CREATE INDEX dossiers_customer ON dossiers (customer_ref, id);
CREATE INDEX dossiers_contract ON dossiers (contract_id, id);
CREATE INDEX dossiers_owner ON dossiers (owner_kind, owner_name, id);
CREATE INDEX dossiers_status ON dossiers (status, id);

-- One row per (dossier, date rule): when it is due, and whether it fired. The scheduler claims
-- pending rows that are due; a source-attribute change moves a pending row.
CREATE TABLE dossier_date_triggers (
    dossier_id TEXT NOT NULL REFERENCES dossiers (id),
    rule_key TEXT NOT NULL,
    due_on DATE NOT NULL,
    status TEXT NOT NULL,
    fired_at TIMESTAMP,
    PRIMARY KEY (dossier_id, rule_key)
);
CREATE INDEX dossier_date_triggers_due ON dossier_date_triggers (status, due_on);

-- Named business events posted on a dossier.
CREATE TABLE dossier_business_events (
    id TEXT PRIMARY KEY NOT NULL,
    dossier_id TEXT NOT NULL REFERENCES dossiers (id),
    event_type TEXT NOT NULL,
    data TEXT NOT NULL,
    idempotency_key TEXT,
    posted_by TEXT NOT NULL,
    posted_at TIMESTAMP NOT NULL
);
CREATE INDEX dossier_business_events_dossier ON dossier_business_events (dossier_id, id);
CREATE UNIQUE INDEX dossier_business_events_key ON dossier_business_events (dossier_id, idempotency_key);

CREATE TABLE workflow_instances (
    id TEXT PRIMARY KEY NOT NULL,
    dossier_id TEXT NOT NULL REFERENCES dossiers (id),
    workflow_id TEXT NOT NULL REFERENCES workflows (id),
    workflow_key TEXT NOT NULL,
    workflow_version BIGINT NOT NULL,
    status TEXT NOT NULL,
    current_step TEXT,
    responsible_kind TEXT NOT NULL,
    responsible_name TEXT NOT NULL,
    rule_key TEXT,
    started_by TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX workflow_instances_dossier ON workflow_instances (dossier_id, id);
CREATE INDEX workflow_instances_workflow ON workflow_instances (workflow_key, id);
CREATE INDEX workflow_instances_status ON workflow_instances (status, id);

-- The steps an instance went through, in order; the active one has an open task.
CREATE TABLE workflow_instance_steps (
    instance_id TEXT NOT NULL REFERENCES workflow_instances (id),
    seq INTEGER NOT NULL,
    step_key TEXT NOT NULL,
    name TEXT NOT NULL,
    task_id TEXT,
    status TEXT NOT NULL,
    outcome TEXT,
    assignee_kind TEXT NOT NULL,
    assignee_name TEXT NOT NULL,
    due_date DATE NOT NULL,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    ended_by TEXT,
    PRIMARY KEY (instance_id, seq)
);

-- Exactly once: one firing per (rule, dossier, occurrence), inserted in the transaction that
-- starts its workflow.
CREATE TABLE rule_firings (
    id TEXT PRIMARY KEY NOT NULL,
    dossier_id TEXT NOT NULL REFERENCES dossiers (id),
    rule_key TEXT NOT NULL,
    occurrence_key TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    type_version BIGINT NOT NULL,
    details TEXT NOT NULL,
    workflow_instance_id TEXT REFERENCES workflow_instances (id),
    fired_by TEXT NOT NULL,
    fired_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX rule_firings_once ON rule_firings (rule_key, dossier_id, occurrence_key);
CREATE INDEX rule_firings_dossier ON rule_firings (dossier_id, id);

ALTER TABLE tasks ADD COLUMN workflow_instance_id TEXT REFERENCES workflow_instances (id);
ALTER TABLE tasks ADD COLUMN dossier_id TEXT REFERENCES dossiers (id);
CREATE INDEX tasks_workflow_instance ON tasks (workflow_instance_id);
CREATE INDEX tasks_dossier ON tasks (dossier_id, due_date, id);
