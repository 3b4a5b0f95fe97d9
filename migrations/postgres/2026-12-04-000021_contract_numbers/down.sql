INSERT INTO counters (name, value)
SELECT 'contract_number', CASE WHEN is_called THEN last_value ELSE 0 END FROM contract_numbers;
DROP SEQUENCE contract_numbers;
