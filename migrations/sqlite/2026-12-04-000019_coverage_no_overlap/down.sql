ALTER TABLE coverages DROP COLUMN contract_type;
