#!/usr/bin/env bash
# Load benchmarks against a release build of pactum on seeded data (see bench/README.md).
#
#   bench/run.sh sqlite   0.01    # a small set on the embedded SQLite file
#   bench/run.sh postgres 1       # the full set on PostgreSQL (DATABASE_URL or the local default)
#
# Prints markdown: one row per HTTP scenario with its exact wrk command, the raw PostgreSQL
# point-select baseline (pgbench) and the ratio, the server's peak RSS, the NDJSON import rate,
# two scheduler passes and the task generation rate. Paste into bench/RESULTS.md together with
# the machine, the commit and the seed output ($WORK/seed.txt).
#
# SKIP_HTTP=1, SKIP_IMPORT=1, SKIP_SCHEDULER=1 or SKIP_GENERATION=1 leave a part out.
set -euo pipefail

BACKEND="${1:-sqlite}"
SCALE="${2:-0.01}"
DURATION="${DURATION:-10s}"
PORT="${PORT:-18090}"
IMPORT_LINES="${IMPORT_LINES:-100000}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/bench/lib.sh"
WORK="${BENCH_DIR:-/tmp/pactum-bench-${BACKEND}-${SCALE}}"
BIN="${ROOT}/target/release/pactum"
BASE="http://127.0.0.1:${PORT}"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
(cd "$ROOT" && cargo build --release --quiet)
mkdir -p "$WORK"

export DATA_DIR="$WORK" JWT_SECRET=bench-secret-0123456789abcdef0123456789 SCHEDULER_INTERVAL_SECS=0 WEBHOOK_DISPATCH_INTERVAL_SECS=0
export BIND_ADDR="127.0.0.1:${PORT}" RUST_LOG=warn
if [ "$BACKEND" = postgres ]; then
    export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/pactum_bench}"
    DB="${DATABASE_URL##*/}"
    ADMIN="${DATABASE_URL%/*}/postgres"
    if ! psql "$DATABASE_URL" -qtAc "SELECT 1 FROM contracts LIMIT 1" 2>/dev/null | grep -q 1; then
        psql "$ADMIN" -qc "DROP DATABASE IF EXISTS ${DB}" -c "CREATE DATABASE ${DB}"
        "$BIN" seed --scale "$SCALE" --seed 42 | tee "$WORK/seed.txt"
        date -u +%F >"$WORK/seed-day"
    fi
else
    unset DATABASE_URL
    if [ ! -f "$WORK/pactum.db" ]; then
        "$BIN" seed --scale "$SCALE" --seed 42 | tee "$WORK/seed.txt"
        date -u +%F >"$WORK/seed-day"
    fi
fi
# The day the data is current on: scheduler passes run as of that day.
DAY="$(cat "$WORK/seed-day" 2>/dev/null || date -u +%F)"

SERVER=
start_server() {
    "$BIN" serve >>"$WORK/server.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 100); do curl -fs "$BASE/health/ready" >/dev/null && return; sleep 0.1; done
    echo "the server did not become ready; see $WORK/server.log" >&2
    exit 1
}
stop_server() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null || true
    SERVER=
}
trap stop_server EXIT

TOKEN=$("$BIN" token --sub bench --roles admin,service_agent,case_worker,integration,crew-7 --ttl 2h)
AUTH="Authorization: Bearer ${TOKEN}"
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

if [ -z "${SKIP_HTTP:-}" ]; then
    start_server
    CONTRACT=$(curl -fs "$BASE/api/v1/contracts?limit=1&status=active" -H "$AUTH" | json 'd["items"][0]["id"]')
    INSTALLATION=$(curl -fs "$BASE/api/v1/installations?limit=1" -H "$AUTH" | json 'd["items"][0]["id"]')
    # 1,000 mortgage dossiers for the attribute-change scenario; each request moves the next.
    : >"$WORK/dossiers.txt"
    cursor=""
    for _ in 1 2; do
        page=$(curl -fs "$BASE/api/v1/dossiers?type=mortgage&limit=500${cursor:+&cursor=$cursor}" -H "$AUTH")
        json '"\n".join(i["id"] for i in d["items"])' <<<"$page" >>"$WORK/dossiers.txt"
        cursor=$(json 'd.get("next_cursor") or ""' <<<"$page")
        [ -n "$cursor" ] || break
    done

    # POST and PATCH bodies through Lua scripts, as wrk wants.
    cat >"$WORK/service_call.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer ${TOKEN}"
wrk.body = '{"installation_id": "${INSTALLATION}", "priority": "high", "description": "Benchmark call"}'
EOF
    cat >"$WORK/dossier_move.lua" <<EOF
-- Each request gives the next dossier a new address, which fires its relocation rule. The two
-- threads take alternate dossiers, so no two requests change the same one at once.
local ids = {}
for line in io.lines("$WORK/dossiers.txt") do ids[#ids + 1] = line end
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer ${TOKEN}"}
local n = 0
function setup(thread) thread:set("tid", (setup_count or 0)); setup_count = (setup_count or 0) + 1 end
function request()
    n = n + 1
    local id = ids[((n * 2 + tid) % #ids) + 1]
    local body = string.format('{"attributes": {"address": "Nieuwe Gracht %d-%d, Utrecht"}}', tid, n)
    return wrk.format("PATCH", "/api/v1/dossiers/" .. id, headers, body)
end
EOF

    echo "| scenario | connections | requests/s | p50 | p99 | command |"
    echo "|---|---|---|---|---|---|"
    run() { # name connections url [extra wrk args]
        local name="$1" conns="$2" url="$3"
        shift 3
        local cmd="wrk -t2 -c${conns} -d${DURATION} --latency $* ${url}"
        local out
        out=$(wrk -t2 -c"$conns" -d"$DURATION" --latency -H "$AUTH" "$@" "$url")
        RPS=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        local p50 p99 errors
        p50=$(awk '$1=="50%" {print $2}' <<<"$out")
        p99=$(awk '$1=="99%" {print $2}' <<<"$out")
        errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
        echo "| ${name}${errors:+ (non-2xx: ${errors})} | ${conns} | ${RPS} | ${p50} | ${p99} | \`${cmd}\` |"
    }
    run "get one contract" 8 "$BASE/api/v1/contracts/$CONTRACT"
    run "get one contract" 32 "$BASE/api/v1/contracts/$CONTRACT"
    CONTRACT_RPS_32="$RPS"
    run "contract list: status + attribute" 8 "$BASE/api/v1/contracts?status=active&attr.region=north&limit=50"
    run "installation coverage on a date" 8 "$BASE/api/v1/installations/$INSTALLATION/coverage?at=${DAY}"
    run "role worklist page" 8 "$BASE/api/v1/tasks?assignee_role=crew-7&status=open&limit=50"
    run "register a service call" 8 "$BASE/api/v1/service-calls" -s "$WORK/service_call.lua"
    run "dossier address change firing its rule" 8 "$BASE/api/v1/dossiers" -s "$WORK/dossier_move.lua"
    echo
    echo "server peak RSS over the runs: $(awk '/VmHWM/ {print $2, $3}' /proc/$SERVER/status)"
    first=$(head -1 "$WORK/dossiers.txt")
    fired=$(curl -fs "$BASE/api/v1/dossiers/$first/rule-firings?limit=500" -H "$AUTH" | json 'len(d["items"])')
    echo "rule firings (each starting a relocation workflow) on the first dossier moved: ${fired}"

    if [ "$BACKEND" = postgres ]; then
        # Raw PostgreSQL point selects on the same machine in the same run, as the target is set.
        pgbench_baseline "$DATABASE_URL" >/dev/null
        cmd="pgbench -S -M prepared -c 32 -j 2 -T ${DURATION%s} -h 127.0.0.1 -U postgres pgbench_baseline"
        TPS=$($cmd 2>/dev/null | awk '/^tps/ {print $3; exit}')
        echo
        echo "raw PostgreSQL point selects: ${TPS} tps (\`${cmd}\`)"
        python3 -c "print(f'single-contract reads at 32 connections / pgbench: {float(\"$CONTRACT_RPS_32\") / float(\"$TPS\") * 100:.1f} %')"
    fi
    stop_server
fi

if [ -z "${SKIP_IMPORT:-}" ]; then
    start_server
    python3 - "$IMPORT_LINES" >"$WORK/import.ndjson" <<'EOF'
import json, sys
regions = ["north", "east", "south", "west"]
for i in range(int(sys.argv[1])):
    print(json.dumps({"external_ref": f"BENCH-IMP-{i}", "title": f"Imported maintenance {i}",
                      "contract_type": "maintenance", "customer_ref": f"IMP-{i // 10:06d}", "status": "active",
                      "start_date": "2026-01-01", "term_months": 12,
                      "renewal": {"auto_renew": True, "term_months": 12, "notice_period": "P3M"},
                      "attributes": {"region": regions[i % 4]}}))
EOF
    key=$(python3 -c 'import uuid; print(uuid.uuid4())')
    cmd="curl -s -X POST $BASE/api/v1/imports/contracts -H 'Content-Type: application/x-ndjson' -H 'Idempotency-Key: …' --data-binary @import.ndjson"
    start=$(date +%s.%N)
    curl -fs -X POST "$BASE/api/v1/imports/contracts" -H "$AUTH" -H "Content-Type: application/x-ndjson" \
        -H "Idempotency-Key: $key" --data-binary @"$WORK/import.ndjson" >"$WORK/import-report.json"
    end=$(date +%s.%N)
    echo
    json '"import: created %(created)s, updated %(updated)s, unchanged %(unchanged)s, failed %(failed)s" % d' <"$WORK/import-report.json"
    python3 -c "print(f'import of $IMPORT_LINES contracts: {$end - $start:.1f} s, {$IMPORT_LINES / ($end - $start):.0f} contracts/s')"
    echo "(\`${cmd}\`)"
    echo "server peak RSS after the import: $(awk '/VmHWM/ {print $2, $3}' /proc/$SERVER/status)"
    stop_server
fi

if [ -z "${SKIP_SCHEDULER:-}" ]; then
    echo
    echo "scheduler pass as of ${DAY} (\`pactum schedule --at ${DAY}T12:00:00Z\`), the first after loading:"
    echo '```'
    "$BIN" schedule --at "${DAY}T12:00:00Z"
    echo '```'
    echo "and the next one, the steady state:"
    echo '```'
    "$BIN" schedule --at "${DAY}T12:05:00Z"
    echo '```'
    NEXT="$(date -u -d "${DAY} + 1 day" +%F)"
    echo "and the next day's (\`pactum schedule --at ${NEXT}T06:00:00Z\`), which also moves every obligation's horizon on by a day:"
    echo '```'
    "$BIN" schedule --at "${NEXT}T06:00:00Z"
    echo '```'
fi

if [ -z "${SKIP_GENERATION:-}" ]; then
    # Generating a year of tasks rewrites the data, so it runs on a copy: the obligations' future
    # tasks are removed and their horizons reset, then one pass generates them again.
    reset="DELETE FROM tasks WHERE obligation_id IS NOT NULL AND due_date >= '${DAY}'; UPDATE obligations SET generated_on = NULL, regenerate_on = '${DAY}';"
    if [ "$BACKEND" = postgres ]; then
        psql "$ADMIN" -qc "DROP DATABASE IF EXISTS ${DB}_generation" -c "CREATE DATABASE ${DB}_generation TEMPLATE ${DB}"
        export DATABASE_URL="${DATABASE_URL%/*}/${DB}_generation"
        psql "$DATABASE_URL" -qc "$reset" -c "VACUUM ANALYZE tasks"
    else
        mkdir -p "$WORK/generation"
        cp "$WORK/pactum.db" "$WORK/generation/pactum.db"
        export DATA_DIR="$WORK/generation"
        python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()" \
            "$WORK/generation/pactum.db" "$reset"
    fi
    echo
    echo "a year of tasks for every obligation (\`pactum schedule --at ${DAY}T12:00:00Z\` after: ${reset}):"
    echo '```'
    out=$("$BIN" schedule --at "${DAY}T12:00:00Z")
    echo "$out"
    echo '```'
    created=$(awk '/tasks_created:/ {gsub(",", "", $2); print $2}' <<<"$out")
    ms=$(awk '$1=="task" && $2=="horizons" {print $3}' <<<"$out")
    python3 -c "print(f'task generation: $created tasks in {$ms / 1000:.1f} s, {$created / ($ms / 1000):.0f} tasks/s')"
fi
