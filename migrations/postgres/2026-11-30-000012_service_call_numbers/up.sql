-- Service call numbers come from a sequence: registrations run beside each other, and the
-- counter row they took numbers from stayed locked until each registration's commit, so every
-- registration waited for the commits of those before it.
CREATE SEQUENCE service_call_numbers;
SELECT setval('service_call_numbers', value) FROM counters WHERE name = 'service_call_number' AND value > 0;
DELETE FROM counters WHERE name = 'service_call_number';
