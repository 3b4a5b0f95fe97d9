-- Contract numbers come from a sequence, as service-call numbers do (migration 12): the
-- counter row stayed locked until the commit of the create that moved it, so every create
-- waited for the commits of those before it. A create that fails now leaves its number unused.
CREATE SEQUENCE contract_numbers;
SELECT setval('contract_numbers', value) FROM counters WHERE name = 'contract_number' AND value > 0;
DELETE FROM counters WHERE name = 'contract_number';
