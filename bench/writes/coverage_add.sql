BEGIN;
SELECT nextval('bench_installation_turn') AS turn \gset
SELECT id AS installation FROM bench_installations WHERE n = :turn \gset
SELECT 1 FROM contracts WHERE id = :covering FOR SHARE;
INSERT INTO coverages (id, contract_id, installation_id, valid_from, valid_to, version, created_at, updated_at, contract_type)
VALUES (gen_random_uuid()::text, :covering, :installation, '2026-01-01', NULL, 1, now(), now(), 'bench-raw-coverage')
RETURNING id \gset
INSERT INTO events (entity_type, entity_id, action, actor, occurred_at, changes)
VALUES ('coverage', :id, 'created', 'bench', now(), '{"contract_id": {"old": null,"new": "01a24512-6f89-77a5-b585-c0320e2068ee"},"installation_id": {"old": null,"new": "01a24512-6e30-778c-b0aa-3c8096ab3550"},"valid_from": {"old": null,"new": "2026-01-01"}}');
COMMIT;
