#!/usr/bin/env bash
# Load benchmarks against a release build of pactum on seeded data (see bench/README.md).
#
#   bench/run.sh sqlite   0.01    # a small set on the embedded SQLite file
#   bench/run.sh postgres 1       # the full set on PostgreSQL (DATABASE_URL or the local default)
#
# Prints one markdown table row per scenario with the exact wrk command; paste into
# bench/RESULTS.md together with the machine, the commit and the seed output.
set -euo pipefail

BACKEND="${1:-sqlite}"
SCALE="${2:-0.01}"
DURATION="${DURATION:-10s}"
PORT="${PORT:-18090}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${BENCH_DIR:-/tmp/pactum-bench-${BACKEND}-${SCALE}}"
BIN="${ROOT}/target/release/pactum"
BASE="http://127.0.0.1:${PORT}"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
(cd "$ROOT" && cargo build --release --quiet)
mkdir -p "$WORK"

export DATA_DIR="$WORK" JWT_SECRET=bench-secret SCHEDULER_INTERVAL_SECS=0 WEBHOOK_DISPATCH_INTERVAL_SECS=0
export BIND_ADDR="127.0.0.1:${PORT}" RUST_LOG=warn
if [ "$BACKEND" = postgres ]; then
    export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/pactum_bench}"
    DB="${DATABASE_URL##*/}"
    ADMIN="${DATABASE_URL%/*}/postgres"
    if ! psql "$DATABASE_URL" -qtAc "SELECT 1 FROM contracts LIMIT 1" 2>/dev/null | grep -q 1; then
        psql "$ADMIN" -qc "DROP DATABASE IF EXISTS ${DB}" -c "CREATE DATABASE ${DB}"
        "$BIN" seed --scale "$SCALE" --seed 42 | tee "$WORK/seed.txt"
    fi
else
    unset DATABASE_URL
    [ -f "$WORK/pactum.db" ] || "$BIN" seed --scale "$SCALE" --seed 42 | tee "$WORK/seed.txt"
fi

"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "$BASE/health/ready" >/dev/null && break; sleep 0.1; done

TOKEN=$("$BIN" token --sub bench --roles admin,service_agent,crew-7 --ttl 2h)
AUTH="Authorization: Bearer ${TOKEN}"
first() { curl -fs "$BASE$1" -H "$AUTH" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])'; }
CONTRACT=$(first "/api/v1/contracts?limit=1&status=active")
INSTALLATION=$(first "/api/v1/installations?limit=1")

# POST bodies through a Lua script, as wrk wants.
cat >"$WORK/service_call.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer ${TOKEN}"
wrk.body = '{"installation_id": "${INSTALLATION}", "priority": "high", "description": "Benchmark call"}'
EOF

echo "| scenario | connections | requests/s | p50 | p99 | command |"
echo "|---|---|---|---|---|---|"
run() { # name connections url [extra wrk args]
    local name="$1" conns="$2" url="$3"
    shift 3
    local cmd="wrk -t2 -c${conns} -d${DURATION} --latency $* ${url}"
    local out
    out=$(wrk -t2 -c"$conns" -d"$DURATION" --latency -H "$AUTH" "$@" "$url")
    local rps p50 p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    echo "| ${name}${errors:+ (non-2xx: ${errors})} | ${conns} | ${rps} | ${p50} | ${p99} | \`${cmd}\` |"
}
run "get one contract" 8 "$BASE/api/v1/contracts/$CONTRACT"
run "get one contract" 32 "$BASE/api/v1/contracts/$CONTRACT"
run "contract list: status + attribute" 8 "$BASE/api/v1/contracts?status=active&attr.region=north&limit=50"
run "installation coverage on a date" 8 "$BASE/api/v1/installations/$INSTALLATION/coverage?at=2026-06-15"
run "role worklist page" 8 "$BASE/api/v1/tasks?assignee_role=crew-7&status=open&limit=50"
run "register a service call" 8 "$BASE/api/v1/service-calls" -s "$WORK/service_call.lua"
echo
echo "server RSS after the runs: $(ps -o rss= -p $SERVER) KiB"
