-- Counters behind generated human keys (contract numbers).
CREATE TABLE counters (
    name TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);

-- The event log: history of every resource and the integrations' change feed.
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    changes TEXT NOT NULL
);
CREATE INDEX events_entity ON events (entity_type, entity_id, id);
CREATE INDEX events_type_feed ON events (entity_type, id);

CREATE TABLE attribute_definitions (
    id TEXT PRIMARY KEY NOT NULL,
    entity_kind TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    data_type TEXT NOT NULL,
    required BOOLEAN NOT NULL DEFAULT FALSE,
    options TEXT,
    description TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX attribute_definitions_key ON attribute_definitions (entity_kind, scope, key);
CREATE INDEX attribute_definitions_kind_key ON attribute_definitions (entity_kind, key);

-- One row per attribute value of any entity, typed for comparison: the index behind
-- `attr.<key>` filters on both backends. The entity's `attributes` JSON stays the record.
CREATE TABLE attribute_values (
    entity_kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value_text TEXT,
    value_num DOUBLE PRECISION,
    PRIMARY KEY (entity_kind, entity_id, key)
);
CREATE INDEX attribute_values_text ON attribute_values (entity_kind, key, value_text, entity_id);
CREATE INDEX attribute_values_num ON attribute_values (entity_kind, key, value_num, entity_id);

CREATE TABLE contracts (
    id TEXT PRIMARY KEY NOT NULL,
    number TEXT NOT NULL,
    title TEXT NOT NULL,
    -- number and title lowercased by the service (Unicode-aware on both backends) for `q`.
    search_text TEXT NOT NULL,
    contract_type TEXT NOT NULL,
    customer_ref TEXT NOT NULL,
    customer_name TEXT,
    status TEXT NOT NULL,
    start_date DATE NOT NULL,
    term_months INTEGER,
    total_term_months INTEGER,
    end_date DATE,
    auto_renew BOOLEAN NOT NULL DEFAULT FALSE,
    renewal_term_months INTEGER,
    notice_period TEXT,
    notice_deadline DATE,
    signed_at TIMESTAMP,
    terminated_on DATE,
    termination_reason TEXT,
    external_ref TEXT,
    parent_id TEXT REFERENCES contracts (id),
    attributes TEXT NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX contracts_number ON contracts (number);
-- `q` is a substring search: a trigram index serves it (pg_trgm is a trusted extension).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX contracts_search ON contracts USING gin (search_text gin_trgm_ops);
CREATE UNIQUE INDEX contracts_external_ref ON contracts (external_ref);
CREATE INDEX contracts_parent ON contracts (parent_id, id);
CREATE INDEX contracts_status ON contracts (status, id);
CREATE INDEX contracts_type ON contracts (contract_type, id);
CREATE INDEX contracts_customer ON contracts (customer_ref, id);
CREATE INDEX contracts_end_date ON contracts (end_date);
CREATE INDEX contracts_notice_deadline ON contracts (notice_deadline);
CREATE INDEX contracts_renewal_due ON contracts (status, auto_renew, end_date);
