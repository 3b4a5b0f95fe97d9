#!/usr/bin/env bash
# Mixed concurrent writes on shared rows (PostgreSQL), two instances on one database, one of
# them SIGKILLed and restarted midway; then the invariants checked (bench/mixed.py does the
# load and the checks; tests/api/mixed.rs is the small in-suite version).
#
#   bench/mixed.sh             # DATABASE_URL, or a fresh postgres://postgres@127.0.0.1:5432/pactum_mixed
#
# Prints a markdown report: requests by operation, instance and status, requests/s, the window
# instance A was down, and each invariant PASS/FAIL; exits 1 when any fails. It does not build:
# it runs target/release/pactum as it is. DURATION (seconds, default 60), CONNS (default 32),
# PORT_A/PORT_B (default 18093/18094), SEED_SCALE (background data from `pactum seed`, default
# 0.005; 0 for none), DB_POOL_SIZE (per instance, default 16) and BENCH_DIR (the instances'
# logs, default /tmp/pactum-bench-mixed) can be set. The database is dropped and made again.
set -euo pipefail

DURATION="${DURATION:-60}"
CONNS="${CONNS:-32}"
PORT_A="${PORT_A:-18093}"
PORT_B="${PORT_B:-18094}"
SEED_SCALE="${SEED_SCALE:-0.005}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${BENCH_DIR:-/tmp/pactum-bench-mixed}"
BIN="${ROOT}/target/release/pactum"

[ -x "$BIN" ] || { echo "mixed.sh: $BIN is missing; build it first: cargo build --release" >&2; exit 2; }
rm -rf "$WORK" && mkdir -p "$WORK"

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/pactum_mixed}"
DB="${DATABASE_URL##*/}"
ADMIN="${DATABASE_URL%/*}/postgres"
# Both instances get this environment (mixed.py adds BIND_ADDR per instance). No scheduler and
# no webhook dispatcher: after the load nothing else writes, so the checks see a still log.
export DATA_DIR="$WORK" JWT_SECRET=bench-secret-0123456789abcdef0123456789 SCHEDULER_INTERVAL_SECS=0
export WEBHOOK_DISPATCH_INTERVAL_SECS=0 RUST_LOG=warn DB_POOL_SIZE="${DB_POOL_SIZE:-16}"
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS ${DB} WITH (FORCE)" -c "CREATE DATABASE ${DB}"
# Migrated once here, so that the two instances do not both migrate an empty database at start.
"$BIN" migrate
if [ "$SEED_SCALE" != 0 ]; then
    "$BIN" seed --scale "$SEED_SCALE" --seed 42 >"$WORK/seed.txt"
fi

TOKEN=$("$BIN" token --sub bench --roles admin,contract_manager,service_agent,case_worker,integration --ttl 2h)
python3 "$ROOT/bench/mixed.py" --bin "$BIN" --work "$WORK" --token "$TOKEN" --ports "${PORT_A},${PORT_B}" \
    --duration "$DURATION" --connections "$CONNS"
