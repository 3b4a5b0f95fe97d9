-- The day the scheduler has to look at an obligation again: when its horizon reaches the next
-- occurrence not yet generated. Before, every obligation was revisited every day to move its
-- horizon on by one day, which for 100,000 weekly obligations meant 100,000 generations a day
-- for 14,000 new tasks. Existing obligations are visited once more to set it.
ALTER TABLE obligations ADD COLUMN regenerate_on DATE NOT NULL DEFAULT '1970-01-01';
DROP INDEX obligations_due;
CREATE INDEX obligations_due ON obligations (regenerate_on, id);
