-- A contract's owner, a user or a role as tasks name their assignee: its own (owner_kind and
-- owner_name, both set or both null) and the one in force (effective_owner_*: its own, or else
-- the nearest ancestor's), kept by the service on every write so that lists filter on it by index.
ALTER TABLE contracts ADD COLUMN owner_kind TEXT;
ALTER TABLE contracts ADD COLUMN owner_name TEXT;
ALTER TABLE contracts ADD COLUMN effective_owner_kind TEXT;
ALTER TABLE contracts ADD COLUMN effective_owner_name TEXT;
-- The contract's own reminders as a JSON list; null: the defaults of its type (CONTRACT_REMINDERS).
ALTER TABLE contracts ADD COLUMN reminders TEXT ;
CREATE INDEX contracts_effective_owner ON contracts (effective_owner_kind, effective_owner_name, id);
-- The reminder pass looks again, within a day, at the contracts written since its last pass.
CREATE INDEX contracts_updated_at ON contracts (updated_at);
-- Contracts with reminders of their own look further ahead than the defaults.
CREATE INDEX contracts_own_reminders ON contracts (notice_deadline, end_date) WHERE reminders IS NOT NULL;

-- Each reminder fired: once per contract, reminder and deadline, whatever the number of passes
-- or instances (the key refuses a second firing in the transaction that adds its task and event).
CREATE TABLE contract_reminders (
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    reminder TEXT NOT NULL,
    deadline DATE NOT NULL,
    task_id TEXT NOT NULL,
    fired_at TIMESTAMP NOT NULL,
    PRIMARY KEY (contract_id, reminder, deadline)
);

INSERT INTO sweep_marks (name, mark, version) VALUES ('contract.reminders', '1970-01-01 00:00:00', 0);
