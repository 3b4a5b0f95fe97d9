#!/usr/bin/env bash
# Peak RSS of the release server during a 200 MB document upload and download (SQLite, the
# default folder store). Usage: cargo build --release && bash bench/document-rss.sh [binary]
set -euo pipefail
BIN=${1:-target/release/pactum}
WORK=/tmp/rss-run; rm -rf $WORK; mkdir -p $WORK
export DATA_DIR=$WORK/data BIND_ADDR=127.0.0.1:18300 JWT_SECRET=$(printf 'x%.0s' {1..40}) DOCUMENT_MAX_BYTES=262144000 RUST_LOG=warn
[ -f /tmp/big.bin ] || head -c 209715200 /dev/urandom > /tmp/big.bin
$BIN serve > $WORK/server.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null' EXIT
for _ in $(seq 1 50); do curl -fs http://127.0.0.1:18300/health/live >/dev/null 2>&1 && break; sleep 0.2; done
TOKEN=$($BIN token --sub bench --roles admin,contract_manager --ttl 1h)
API=http://127.0.0.1:18300/api/v1
hwm() { grep VmHWM /proc/$PID/status | awk '{print $2}'; }
rss() { grep VmRSS /proc/$PID/status | awk '{print $2}'; }
C=$(curl -fs -X POST $API/contracts -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"title":"Big","contract_type":"maintenance","customer_ref":"C","start_date":"2026-01-01"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "after start: VmRSS $(rss) kB, VmHWM $(hwm) kB"
S=$(date +%s.%N)
D=$(curl -fs -X POST "$API/contracts/$C/documents?filename=big.pdf" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/pdf' --data-binary @/tmp/big.bin | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
E=$(date +%s.%N)
echo "after 200 MB upload ($(python3 -c "print(round($E-$S,2))") s): VmRSS $(rss) kB, VmHWM $(hwm) kB"
S=$(date +%s.%N)
curl -fs "$API/documents/$D/content" -H "Authorization: Bearer $TOKEN" -o $WORK/down.bin
E=$(date +%s.%N)
cmp $WORK/down.bin /tmp/big.bin && echo "downloaded bytes identical"
echo "after 200 MB download ($(python3 -c "print(round($E-$S,2))") s): VmRSS $(rss) kB, VmHWM $(hwm) kB"
