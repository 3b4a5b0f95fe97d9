-- Two contracts of one type never cover one installation on the same day. The services check
-- this before they write; the constraint keeps it when two writes race past that check.
-- The contract's type is copied onto each link so that the constraint can see it; the
-- installations service keeps the copy in step when a contract changes type.
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE coverages ADD COLUMN contract_type TEXT;
UPDATE coverages SET contract_type = contracts.contract_type FROM contracts WHERE contracts.id = coverages.contract_id;
ALTER TABLE coverages ALTER COLUMN contract_type SET NOT NULL;
ALTER TABLE coverages ADD CONSTRAINT coverages_no_overlap EXCLUDE USING gist (
    installation_id WITH =,
    contract_type WITH =,
    daterange(valid_from, valid_to, '[]') WITH &&
);
