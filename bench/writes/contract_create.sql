BEGIN;
INSERT INTO contracts (id, number, title, search_text, contract_type, customer_ref, status, start_date, term_months,
    total_term_months, end_date, auto_renew, attributes, version, created_at, updated_at)
VALUES (gen_random_uuid()::text, 'RAW-' || nextval('contract_numbers'), 'Bench', 'raw bench', 'maintenance', 'CUST-1',
    'draft', '2026-01-01', 12, 12, '2026-12-31', false, '{}', 1, now(), now())
RETURNING id \gset
INSERT INTO events (entity_type, entity_id, action, actor, occurred_at, changes)
VALUES ('contract', :id, 'created', 'bench', now(), '{"auto_renew": {"old": null,"new": false},"contract_type": {"old": null,"new": "maintenance"},"customer_ref": {"old": null,"new": "CUST-1"},"end_date": {"old": null,"new": "2026-12-31"},"number": {"old": null,"new": "C-2026-001001"},"start_date": {"old": null,"new": "2026-01-01"},"status": {"old": null,"new": "draft"},"term_months": {"old": null,"new": 12},"title": {"old": null,"new": "Bench"}}');
COMMIT;
