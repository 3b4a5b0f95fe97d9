\set k random(1, :contracts)
BEGIN;
SELECT id FROM bench_contracts WHERE n = :k \gset
SELECT 1 FROM contracts WHERE id = :id FOR NO KEY UPDATE;
UPDATE contracts SET title = 'Patched raw', search_text = 'patched raw', version = version + 1, updated_at = now()
WHERE id = :id;
INSERT INTO events (entity_type, entity_id, action, actor, occurred_at, changes)
VALUES ('contract', :id, 'updated', 'bench', now(), '{"title": {"old": "Framework CUST-000000","new": "Patched raw"}}');
COMMIT;
