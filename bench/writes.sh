#!/usr/bin/env bash
# Write benchmarks on PostgreSQL: each write scenario through the API at 1, 8 and 32
# connections, each beside a pgbench script that writes the same rows (the entity, its event,
# its index rows) into the same database in the same run, and the API figure as a share of it.
#
#   bench/writes.sh            # DATABASE_URL, or a fresh postgres://postgres@127.0.0.1:5432/pactum_writes
#
# Prints markdown: one row per scenario and connection count with requests/s, p50, p99, the
# raw script's transactions/s and the ratio; the exact wrk and pgbench commands follow the
# table. The scripts it runs stay in $BENCH_DIR (default /tmp/pactum-bench-writes).
# DURATION (default 10s), PORT (default 18091), CONNS (default "1 8 32") and SCALE (of the seed,
# default 0.04: enough open tasks for the completions) can be set.
set -euo pipefail

DURATION="${DURATION:-10s}"
PORT="${PORT:-18091}"
CONNS="${CONNS:-1 8 32}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/bench/lib.sh"
WORK="${BENCH_DIR:-/tmp/pactum-bench-writes}"
BIN="${ROOT}/target/release/pactum"
BASE="http://127.0.0.1:${PORT}"
SQL="$ROOT/bench/writes"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
(cd "$ROOT" && cargo build --release --quiet)
rm -rf "$WORK" && mkdir -p "$WORK"

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/pactum_writes}"
DB="${DATABASE_URL##*/}"
ADMIN="${DATABASE_URL%/*}/postgres"
export DATA_DIR="$WORK" JWT_SECRET=bench-secret-0123456789abcdef0123456789 SCHEDULER_INTERVAL_SECS=0
export WEBHOOK_DISPATCH_INTERVAL_SECS=0 BIND_ADDR="127.0.0.1:${PORT}" RUST_LOG=warn DB_POOL_SIZE="${DB_POOL_SIZE:-32}"
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS ${DB}" -c "CREATE DATABASE ${DB}"
"$BIN" seed --scale "${SCALE:-0.04}" --seed 42 >"$WORK/seed.txt"

SERVER=
"$BIN" serve >>"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "$BASE/health/ready" >/dev/null && break; sleep 0.1; done

TOKEN=$("$BIN" token --sub bench --roles admin,manager,service_agent,case_worker,integration,crew-7 --ttl 2h)
AUTH="Authorization: Bearer ${TOKEN}"
api() { curl -fs -H "$AUTH" -H "Content-Type: application/json" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
q() { psql "$DATABASE_URL" -qtAc "$1"; }

# What the scenarios work on, each request on rows of its own (as many as a run can use):
# contracts to patch, installations not yet covered, open tasks, mortgage dossiers, and one
# contract of a type of its own that takes the new coverage (so no link overlaps another).
q "SELECT id FROM contracts ORDER BY id LIMIT 20000" >"$WORK/contracts.txt"
OPEN_TASKS=$(q "SELECT count(*) FROM tasks WHERE status = 'open'")
q "SELECT id FROM tasks WHERE status = 'open' ORDER BY id LIMIT $((OPEN_TASKS / 2))" >"$WORK/tasks.txt"
q "SELECT id FROM dossiers WHERE type_key = 'mortgage' ORDER BY id LIMIT 1000" >"$WORK/dossiers.txt"
INSTALLATION=$(q "SELECT id FROM installations ORDER BY id LIMIT 1")
# 60,000 installations no contract covers yet, for the coverage scenario (an import takes
# 20,000 lines per request).
for part in 0 1 2; do
    python3 - "$WORK/installations.ndjson" "$part" <<'EOF'
import json, sys
part = int(sys.argv[2])
with open(sys.argv[1], "w") as f:
    for i in range(part * 20000, (part + 1) * 20000):
        f.write(json.dumps({"external_ref": f"BENCH-I-{i}", "serial_number": f"BENCH-SN-{i}", "name": "Bench lift",
                            "installation_type": "lift", "customer_ref": "BENCH"}) + "\n")
EOF
    curl -fs -X POST "$BASE/api/v1/imports/installations" -H "$AUTH" -H "Content-Type: application/x-ndjson" \
        --data-binary @"$WORK/installations.ndjson" >/dev/null
done
q "SELECT id FROM installations WHERE external_ref LIKE 'BENCH-I-%' ORDER BY id" >"$WORK/fresh_installations.txt"
COVERING=$(api -X POST "$BASE/api/v1/contracts" -d '{"title": "Bench coverage", "contract_type": "bench-coverage",
    "customer_ref": "BENCH", "start_date": "2026-01-01"}' | json 'd["id"]')

# The raw scripts' rows, kept apart from the API's: the contracts and dossiers they change
# (picked at random), the other half of the open tasks and 400,000 installations of their own
# (taken in turn),
# and a contract of a type of its own for their coverage.
psql "$DATABASE_URL" -q -v half=$((OPEN_TASKS / 2)) <<'EOF'
CREATE TABLE bench_contracts AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM contracts;
CREATE TABLE bench_dossiers AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM dossiers WHERE type_key = 'mortgage';
CREATE TABLE bench_tasks AS
    SELECT row_number() OVER (ORDER BY id) AS n, id
    FROM (SELECT id FROM tasks WHERE status = 'open' ORDER BY id OFFSET :half) later;
INSERT INTO installations (id, serial_number, name, search_text, installation_type, customer_ref, status, attributes,
    version, created_at, updated_at)
SELECT gen_random_uuid()::text, 'RAW-SN-' || i, 'Raw lift', 'raw-sn-' || i, 'lift', 'RAW', 'active', '{}', 1, now(), now()
FROM generate_series(1, 400000) i;
CREATE TABLE bench_installations AS
    SELECT row_number() OVER (ORDER BY id) AS n, id FROM installations WHERE serial_number LIKE 'RAW-SN-%';
ALTER TABLE bench_contracts ADD PRIMARY KEY (n);
ALTER TABLE bench_dossiers ADD PRIMARY KEY (n);
ALTER TABLE bench_tasks ADD PRIMARY KEY (n);
ALTER TABLE bench_installations ADD PRIMARY KEY (n);
CREATE SEQUENCE bench_task_turn;
CREATE SEQUENCE bench_installation_turn;
ANALYZE;
EOF
RAW_COVERING=$(api -X POST "$BASE/api/v1/contracts" -d '{"title": "Raw coverage", "contract_type": "bench-raw-coverage",
    "customer_ref": "BENCH", "start_date": "2026-01-01"}' | json 'd["id"]')
NCONTRACTS=$(q "SELECT count(*) FROM bench_contracts")
NDOSSIERS=$(q "SELECT count(*) FROM bench_dossiers")
NTASKS=$(q "SELECT count(*) FROM bench_tasks")
echo "open tasks for the raw script: $(q "SELECT count(*) FROM bench_tasks"); for the API: $(wc -l <"$WORK/tasks.txt")" >&2

# One Lua script per scenario: each request takes the next row of its list (the threads take
# alternate ones, and a run starts after the rows earlier runs used), so no two requests
# change the same row.
lua() { # name method path-template(with %s for the id, or none) list-file body
    local name="$1" method="$2" path="$3" list="$4" body="$5"
    cat >"$WORK/$name.lua" <<EOF
local ids = {}
if "$list" ~= "" then for line in io.lines("$list") do ids[#ids + 1] = line end end
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer ${TOKEN}"}
-- START: the requests earlier runs of this scenario made, whose rows are used up.
local n = math.floor(tonumber(os.getenv("START") or "0") / 2) + 1
function setup(thread) thread:set("tid", (setup_count or 0)); setup_count = (setup_count or 0) + 1 end
function request()
    n = n + 1
    local id = #ids > 0 and ids[((n * 2 + tid) % #ids) + 1] or ""
    local path = string.format("$path", id)
    local body = string.format('$body', id, tid, n)
    return wrk.format("$method", path, headers, body)
end
EOF
}
lua contract_create POST "/api/v1/contracts" "" \
    '{"title": "Bench %s%d-%d", "contract_type": "maintenance", "customer_ref": "CUST-1", "start_date": "2026-01-01", "term_months": 12}'
lua contract_patch PATCH "/api/v1/contracts/%s" "$WORK/contracts.txt" '{"title": "Patched %s %d-%d"}'
lua coverage_add POST "/api/v1/contracts/${COVERING}/installations" "$WORK/fresh_installations.txt" \
    '{"installations": [{"installation_id": "%s"}]} '
lua service_call POST "/api/v1/service-calls" "" \
    "{\"installation_id\": \"${INSTALLATION}\", \"priority\": \"high\", \"description\": \"Bench call %s%d-%d\"}"
lua task_complete POST "/api/v1/tasks/%s/complete" "$WORK/tasks.txt" '{"note": "done %s %d-%d"}'
lua dossier_change PATCH "/api/v1/dossiers/%s" "$WORK/dossiers.txt" \
    '{"attributes": {"address": "Nieuwe Gracht %s %d-%d, Utrecht"}}'

# The raw scripts get the same ids through pgbench variables.
export PGHOST=127.0.0.1 PGUSER=postgres
echo "| scenario | connections | API requests/s | p50 | p99 | raw script tps | API / raw |"
echo "|---|---|---|---|---|---|---|"
COMMANDS=()
for scenario in contract_create contract_patch coverage_add service_call task_complete dossier_change; do
    used=0
    for c in $CONNS; do
        th=$((c < 2 ? c : 2))
        wrk_cmd="wrk -t${th} -c${c} -d${DURATION} --latency -s $WORK/${scenario}.lua $BASE"
        out=$(START=$used $wrk_cmd)
        # A thread takes every second row: one thread alone passes two rows per request.
        used=$((used + $(awk '/requests in/ {print $1}' <<<"$out") * 2 / th + 64))
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        p50=$(awk '$1=="50%" {print $2}' <<<"$out")
        p99=$(awk '$1=="99%" {print $2}' <<<"$out")
        errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
        pgb_cmd="pgbench -n -M prepared -f $SQL/${scenario}.sql -c ${c} -j ${th} -T ${DURATION%s} \
-D covering=${RAW_COVERING} -D installation=${INSTALLATION} -D contracts=${NCONTRACTS} -D dossiers=${NDOSSIERS} -D tasks=${NTASKS} ${DB}"
        tps=$($pgb_cmd 2>&1 | awk '/^tps/ {print $3; exit}')
        ratio=$(python3 -c "print(f'{float(\"$rps\") / float(\"$tps\") * 100:.0f} %')")
        echo "| ${scenario}${errors:+ (non-2xx: ${errors})} | ${c} | ${rps} | ${p50} | ${p99} | ${tps} | ${ratio} |"
        COMMANDS+=("$wrk_cmd" "$pgb_cmd")
    done
done
echo
# The feed's lag under write load: creates at 32 connections while a poller reads the feed.
rm -f "$WORK/poller-ready"
python3 "$ROOT/bench/feed_lag.py" "$BASE" "$TOKEN" "$(( ${DURATION%s} + 2 ))" "$WORK/poller-ready" >"$WORK/feed_lag.txt" &
POLLER=$!
until [ -e "$WORK/poller-ready" ]; do sleep 0.5; done
lag_cmd="wrk -t2 -c32 -d${DURATION} --latency -s $WORK/contract_create.lua $BASE"
$lag_cmd >/dev/null
wait "$POLLER"
echo "$(cat "$WORK/feed_lag.txt") (creates at 32 connections: \`${lag_cmd}\`, poller \`python3 bench/feed_lag.py\`)"
echo
# Single reads beside raw point selects, at 32 connections, in the same run.
CONTRACT=$(head -1 "$WORK/contracts.txt")
read_cmd="wrk -t2 -c32 -d${DURATION} --latency -H \"\$AUTH\" $BASE/api/v1/contracts/${CONTRACT}"
READ_RPS=$(wrk -t2 -c32 -d"${DURATION}" --latency -H "$AUTH" "$BASE/api/v1/contracts/${CONTRACT}" | awk '/Requests\/sec/ {print $2}')
pgbench_baseline "$DATABASE_URL" >/dev/null
select_cmd="pgbench -S -M prepared -c 32 -j 2 -T ${DURATION%s} pgbench_baseline"
SELECT_TPS=$($select_cmd 2>/dev/null | awk '/^tps/ {print $3; exit}')
echo "single contract reads at 32 connections: ${READ_RPS}/s; raw point selects: ${SELECT_TPS} tps;" \
    "$(python3 -c "print(f'{float(\"$READ_RPS\") / float(\"$SELECT_TPS\") * 100:.0f} %')")" \
    "(\`${read_cmd}\`, \`${select_cmd}\`)"
COMMANDS+=("$read_cmd" "$select_cmd")

# Task generation beside a raw multi-row insert of the same rows. On a copy of the database
# (the server stops: a template must have no connections): the obligations' open future
# tasks go and their horizons are reset, one scheduler pass generates them again (tasks,
# their events, the obligations' marks); then the same tasks (of obligations: the pass's other
# jobs make tasks too) are deleted and inserted again, and their events once more (new ids:
# markers refer to the first ones), with one INSERT … SELECT per table.
kill "$SERVER" && wait "$SERVER" 2>/dev/null || true
DAY=$(date -u +%F)
GEN="${DB}_generation"
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS ${GEN}" -c "CREATE DATABASE ${GEN} TEMPLATE ${DB}"
GEN_URL="${DATABASE_URL%/*}/${GEN}"
psql "$GEN_URL" -qc "DELETE FROM tasks WHERE obligation_id IS NOT NULL AND due_date >= '${DAY}' AND status = 'open'" \
    -c "UPDATE obligations SET generated_on = NULL, regenerate_on = '${DAY}'" -c "VACUUM ANALYZE tasks"
BEFORE=$(psql "$GEN_URL" -qtAc "SELECT COALESCE(MAX(id), 0) FROM events")
gen_cmd="pactum schedule --at ${DAY}T12:00:00Z"
out=$(DATABASE_URL="$GEN_URL" "$BIN" schedule --at "${DAY}T12:00:00Z")
GENERATED=$(awk '/tasks_created:/ {gsub(",", "", $2); print $2}' <<<"$out")
GEN_MS=$(awk '$1=="task" && $2=="horizons" {print $3}' <<<"$out")
RAW_MS=$(psql "$GEN_URL" -qtA -v ON_ERROR_STOP=1 <<EOF2 | awk '/^Time:/ {gsub(",", "", $2); t += $2} END {print t}'
CREATE TABLE bench_gen_tasks AS SELECT * FROM tasks WHERE obligation_id IS NOT NULL AND id IN
    (SELECT entity_id FROM events WHERE id > ${BEFORE} AND entity_type = 'task' AND action = 'created');
CREATE TABLE bench_gen_events AS SELECT * FROM events WHERE id > ${BEFORE} AND entity_type = 'task'
    AND action = 'created' AND entity_id IN (SELECT id FROM bench_gen_tasks);
DELETE FROM tasks WHERE id IN (SELECT id FROM bench_gen_tasks);
VACUUM ANALYZE tasks;
\\timing on
BEGIN;
INSERT INTO tasks SELECT * FROM bench_gen_tasks;
INSERT INTO events (entity_type, entity_id, action, actor, occurred_at, changes)
    SELECT entity_type, entity_id, action, actor, occurred_at, changes FROM bench_gen_events;
COMMIT;
EOF2
)
COPIED=$(psql "$GEN_URL" -qtAc "SELECT count(*) FROM bench_gen_tasks")
[ "$COPIED" = "$GENERATED" ] || echo "task generation: the raw side copied ${COPIED} tasks, not ${GENERATED}" >&2
echo "task generation: ${GENERATED} tasks in ${GEN_MS} ms (\`${gen_cmd}\`); the same task and event rows" \
    "inserted raw (INSERT … SELECT, one per table, one transaction): ${RAW_MS} ms;" \
    "$(python3 -c "print(f'{float(\"$RAW_MS\") / float(\"$GEN_MS\") * 100:.0f} %')")"
COMMANDS+=("$gen_cmd")
echo
echo "Commands, in the order run:"
echo
printf '    %s\n' "${COMMANDS[@]}"
