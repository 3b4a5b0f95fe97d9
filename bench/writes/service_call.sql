BEGIN;
INSERT INTO service_calls (id, number, installation_id, customer_ref, entitled, contract_id, service_level,
    service_level_source, priority, status, title, description, channel, reported_at, respond_by, respond_risk_at,
    resolve_by, resolve_risk_at, paused_seconds, version, created_at, updated_at)
VALUES (gen_random_uuid()::text, 'RAW-SC-' || nextval('service_call_numbers'), :installation, 'CUST-000000', true,
    :covering, '{"name": "Gold","low": {"response_hours": 24.0,"resolution_hours": 120.0},"normal": {"response_hours": 8.0,"resolution_hours": 40.0},"high": {"response_hours": 4.0,"resolution_hours": 16.0},"critical": {"response_hours": 1.0,"resolution_hours": 8.0},"business_hours": null}',
    :covering, 'high', 'new', 'Bench call', 'Bench call', 'other', now(), now() + interval '4 hours',
    now() + interval '3 hours', now() + interval '16 hours', now() + interval '12 hours', 0, 1, now(), now())
RETURNING id \gset
INSERT INTO events (entity_type, entity_id, action, actor, occurred_at, changes)
VALUES ('service_call', :id, 'created', 'bench', now(), '{"number": {"old": null,"new": "SC-2026-000201"},"installation_id": {"old": null,"new": "01a01ef2-7000-760d-bd50-040b83d11096"},"priority": {"old": null,"new": "high"},"status": {"old": null,"new": "new"},"title": {"old": null,"new": "Bench call"},"description": {"old": null,"new": "Bench call"},"entitled": {"old": null,"new": true}}');
COMMIT;
