INSERT INTO counters (name, value)
SELECT 'service_call_number', CASE WHEN is_called THEN last_value ELSE 0 END FROM service_call_numbers;
DROP SEQUENCE service_call_numbers;
