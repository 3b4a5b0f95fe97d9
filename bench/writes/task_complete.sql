BEGIN;
SELECT nextval('bench_task_turn') AS turn \gset
SELECT id FROM bench_tasks WHERE n = (:turn - 1) % :tasks + 1 \gset
SELECT 1 FROM tasks WHERE id = :id FOR NO KEY UPDATE;
UPDATE tasks SET status = 'done', result_note = 'done', closed_at = now(), closed_by = 'bench', version = version + 1,
    updated_at = now()
WHERE id = :id;
INSERT INTO events (entity_type, entity_id, action, actor, occurred_at, changes)
VALUES ('task', :id, 'completed', 'bench', now(), '{"status": {"old": "open","new": "done"},"result_note": {"old": null,"new": "done"},"closed_by": {"old": null,"new": "bench"}}');
COMMIT;
