ALTER TABLE coverages DROP CONSTRAINT coverages_no_overlap;
ALTER TABLE coverages DROP COLUMN contract_type;
