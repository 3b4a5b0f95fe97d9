-- Delivered goods (machines, lifts, boilers) and the contracts that cover them.
CREATE TABLE installations (
    id TEXT PRIMARY KEY NOT NULL,
    serial_number TEXT NOT NULL,
    name TEXT NOT NULL,
    -- serial number and name lowercased by the service, for `q`.
    search_text TEXT NOT NULL,
    installation_type TEXT NOT NULL,
    customer_ref TEXT NOT NULL,
    -- the address as a JSON object (street, house_number, postal_code, city, region, country)
    location TEXT NOT NULL DEFAULT '{}',
    installed_at DATE,
    status TEXT NOT NULL,
    parent_id TEXT REFERENCES installations (id),
    external_ref TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX installations_serial_number ON installations (serial_number);
CREATE INDEX installations_search ON installations USING gin (search_text gin_trgm_ops);
CREATE UNIQUE INDEX installations_external_ref ON installations (external_ref);
CREATE INDEX installations_parent ON installations (parent_id, id);
CREATE INDEX installations_customer ON installations (customer_ref, id);
CREATE INDEX installations_type ON installations (installation_type, id);
CREATE INDEX installations_status ON installations (status, id);

-- A contract covers an installation for a period (valid_to NULL: open-ended).
CREATE TABLE coverages (
    id TEXT PRIMARY KEY NOT NULL,
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    installation_id TEXT NOT NULL REFERENCES installations (id),
    valid_from DATE NOT NULL,
    valid_to DATE,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX coverages_contract_installation ON coverages (contract_id, installation_id);
CREATE INDEX coverages_installation ON coverages (installation_id, contract_id);
