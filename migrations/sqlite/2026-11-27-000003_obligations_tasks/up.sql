-- What a contract commits to: one-off (due_date) or recurring (rrule from anchor_date).
CREATE TABLE obligations (
    id TEXT PRIMARY KEY NOT NULL,
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    title TEXT NOT NULL,
    description TEXT,
    kind TEXT NOT NULL,
    assignee_kind TEXT NOT NULL,
    assignee_name TEXT NOT NULL,
    due_date DATE,
    rrule TEXT,
    exdates TEXT NOT NULL DEFAULT '[]',
    anchor_date DATE,
    lead_days INTEGER NOT NULL DEFAULT 0,
    scope TEXT NOT NULL,
    horizon_months INTEGER NOT NULL DEFAULT 12,
    -- the day the tasks were last brought in line; the scheduler revisits older ones
    generated_on DATE,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX obligations_contract ON obligations (contract_id, id);
CREATE INDEX obligations_generated_on ON obligations (generated_on);

-- The one worklist: planned occurrences, service actions, workflow steps.
CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL,
    assignee_kind TEXT NOT NULL,
    assignee_name TEXT NOT NULL,
    due_date DATE NOT NULL,
    contract_id TEXT REFERENCES contracts (id),
    installation_id TEXT REFERENCES installations (id),
    obligation_id TEXT REFERENCES obligations (id),
    -- the occurrence a planned task stands for: unique, so generating twice never duplicates
    occurrence_key TEXT,
    nominal_date DATE,
    rescheduled BOOLEAN NOT NULL DEFAULT FALSE,
    reassigned BOOLEAN NOT NULL DEFAULT FALSE,
    notes TEXT,
    result_note TEXT,
    started_at TIMESTAMP,
    closed_at TIMESTAMP,
    closed_by TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tasks_occurrence ON tasks (occurrence_key);
CREATE INDEX tasks_assignee ON tasks (assignee_kind, assignee_name, due_date, id);
CREATE INDEX tasks_status_due ON tasks (status, due_date, id);
CREATE INDEX tasks_due ON tasks (due_date, id);
CREATE INDEX tasks_contract ON tasks (contract_id, due_date, id);
CREATE INDEX tasks_installation ON tasks (installation_id, due_date, id);
CREATE INDEX tasks_obligation ON tasks (obligation_id, nominal_date);

-- Personal calendar-feed tokens: calendar apps cannot send a bearer token. Only a hash is kept.
CREATE TABLE feed_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL,
    sub TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX feed_tokens_hash ON feed_tokens (token_hash);
CREATE INDEX feed_tokens_sub ON feed_tokens (sub, id);
