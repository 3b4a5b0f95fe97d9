-- A contract's own service level (JSON); a child without one uses its parent's.
ALTER TABLE contracts ADD COLUMN service_level TEXT;

-- Unplanned work: a repair request for an installation, with its entitlement and SLA clocks.
CREATE TABLE service_calls (
    id TEXT PRIMARY KEY NOT NULL,
    number TEXT NOT NULL,
    installation_id TEXT NOT NULL REFERENCES installations (id),
    customer_ref TEXT NOT NULL,
    -- entitlement, decided once at registration from the coverage on the reported day
    entitled BOOLEAN NOT NULL,
    contract_id TEXT REFERENCES contracts (id),
    service_level TEXT,
    service_level_source TEXT,
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    reporter TEXT,
    channel TEXT NOT NULL,
    external_ref TEXT,
    reported_at TIMESTAMP NOT NULL,
    -- deadlines and the moments the remaining time drops below the at-risk share
    respond_by TIMESTAMP,
    respond_risk_at TIMESTAMP,
    resolve_by TIMESTAMP,
    resolve_risk_at TIMESTAMP,
    acknowledged_at TIMESTAMP,
    on_hold_since TIMESTAMP,
    hold_reason TEXT,
    paused_seconds BIGINT NOT NULL DEFAULT 0,
    resolved_at TIMESTAMP,
    resolution TEXT,
    closed_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    cancel_reason TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX service_calls_number ON service_calls (number);
CREATE UNIQUE INDEX service_calls_external_ref ON service_calls (external_ref);
CREATE INDEX service_calls_reported ON service_calls (reported_at, id);
CREATE INDEX service_calls_installation ON service_calls (installation_id, reported_at, id);
CREATE INDEX service_calls_contract ON service_calls (contract_id, reported_at, id);
CREATE INDEX service_calls_customer ON service_calls (customer_ref, reported_at, id);
CREATE INDEX service_calls_status ON service_calls (status, reported_at, id);
CREATE INDEX service_calls_respond_by ON service_calls (respond_by);
CREATE INDEX service_calls_resolve_by ON service_calls (resolve_by);

-- Service actions are tasks of the call.
ALTER TABLE tasks ADD COLUMN service_call_id TEXT REFERENCES service_calls (id);
CREATE INDEX tasks_service_call ON tasks (service_call_id, due_date, id);
