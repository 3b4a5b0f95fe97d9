-- The contract's type on each link, as on PostgreSQL (where an exclusion constraint reads it).
-- SQLite has one writer at a time, so the services' check before each write keeps the rule.
ALTER TABLE coverages ADD COLUMN contract_type TEXT NOT NULL DEFAULT '';
UPDATE coverages SET contract_type = (SELECT contract_type FROM contracts WHERE contracts.id = coverages.contract_id);
