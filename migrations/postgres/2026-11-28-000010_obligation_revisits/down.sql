DROP INDEX obligations_due;
ALTER TABLE obligations DROP COLUMN regenerate_on;
CREATE INDEX obligations_due ON obligations (generated_on NULLS FIRST, id);
