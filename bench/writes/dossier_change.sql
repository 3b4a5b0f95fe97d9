\set k random(1, :dossiers)
BEGIN;
SELECT id AS dossier FROM bench_dossiers WHERE n = :k \gset
SELECT 1 FROM dossiers WHERE id = :dossier FOR NO KEY UPDATE;
DELETE FROM attribute_values WHERE entity_kind = 'dossier' AND entity_id = :dossier;
INSERT INTO attribute_values (entity_kind, entity_id, key, value_text, value_num)
VALUES ('dossier', :dossier, 'address', 'Nieuwe Gracht raw, Utrecht', NULL), ('dossier', :dossier, 'loan_amount', '759000', 759000);
UPDATE dossiers SET attributes = '{"address": "Nieuwe Gracht raw, Utrecht","loan_amount": 759000}', version = version + 1,
    updated_at = now()
WHERE id = :dossier;
INSERT INTO events (entity_type, entity_id, action, actor, occurred_at, changes)
VALUES ('dossier', :dossier, 'updated', 'bench', now(), '{"attributes.address": {"old": "Kerkstraat 1, Maastricht","new": "Nieuwe Gracht raw, Utrecht"}}')
RETURNING id AS event \gset
INSERT INTO workflow_instances (id, dossier_id, workflow_id, workflow_key, workflow_version, status, current_step,
    responsible_kind, responsible_name, rule_key, started_by, started_at, version, created_at, updated_at)
SELECT gen_random_uuid()::text, :dossier, id, 'relocation', 1, 'running', 'contact', 'role', 'mortgage-desk',
    'relocation_on_move', 'bench', now(), 1, now(), now()
FROM workflows WHERE key = 'relocation'
RETURNING id AS instance \gset
INSERT INTO events (entity_type, entity_id, action, actor, occurred_at, changes)
VALUES ('workflow_instance', :instance, 'started', 'bench', now(), '{"status": {"old": null,"new": "running"},"current_step": {"old": null,"new": "contact"},"workflow_key": {"old": null,"new": "relocation"}}');
INSERT INTO tasks (id, kind, title, description, status, assignee_kind, assignee_name, due_date, occurrence_key,
    rescheduled, reassigned, version, created_at, updated_at, workflow_instance_id, dossier_id)
VALUES (gen_random_uuid()::text, 'workflow_step', 'Relocation: Contact the customer', 'Dossier (mortgage) of customer PERS-0000000',
    'open', 'role', 'mortgage-desk', current_date + 5, 'workflow' || chr(58) || :instance || chr(58) || '1', false, false, 1, now(), now(),
    :instance, :dossier)
ON CONFLICT (occurrence_key) DO NOTHING
RETURNING id AS task \gset
INSERT INTO events (entity_type, entity_id, action, actor, occurred_at, changes)
VALUES ('task', :task, 'created', 'bench', now(), '{"kind": {"old": null,"new": "workflow_step"},"title": {"old": null,"new": "Relocation: Contact the customer"},"status": {"old": null,"new": "open"}}');
INSERT INTO workflow_instance_steps (instance_id, seq, step_key, name, task_id, status, assignee_kind, assignee_name,
    due_date, started_at)
VALUES (:instance, 1, 'contact', 'Contact the customer', :task, 'active', 'role', 'mortgage-desk', current_date + 5, now());
INSERT INTO rule_firings (id, dossier_id, rule_key, occurrence_key, trigger_kind, type_version, details,
    workflow_instance_id, fired_by, fired_at)
VALUES (gen_random_uuid()::text, :dossier, 'relocation_on_move', 'change' || chr(58) || :event, 'attribute_changed', 1,
    '{"attribute": "address","event_id": 12,"new": "Nieuwe Gracht raw, Utrecht","old": "Kerkstraat 1, Maastricht"}',
    :instance, 'bench', now());
INSERT INTO events (entity_type, entity_id, action, actor, occurred_at, changes)
VALUES ('rule_firing', :dossier, 'fired', 'bench', now(), '{"rule": {"old": null,"new": "relocation_on_move"}}');
COMMIT;
