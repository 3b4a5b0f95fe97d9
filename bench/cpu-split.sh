#!/usr/bin/env bash
# Where a load's CPU goes on this machine: runs a command (wrk, pgbench) and prints the CPU
# seconds the whole machine, the service process and the command itself used meanwhile; the
# rest is PostgreSQL's (nothing else should run). Divide by the requests the command reports
# for the cost of one.
#
#   bench/cpu-split.sh SERVICE_PID wrk -t2 -c8 -d10s -s create.lua http://127.0.0.1:18091
#   bench/cpu-split.sh 0 pgbench -n -M prepared -f bench/writes/contract_create.sql -c 8 -j 2 -T 10 pactum_writes
set -euo pipefail

service="$1"
shift
ticks=$(getconf CLK_TCK)
# user + nice + system + irq + softirq of all CPUs, and utime + stime of the service.
machine() { awk -v t="$ticks" '/^cpu / {print ($2 + $3 + $4 + $7 + $8) / t}' /proc/stat; }
of_service() { if [ "$service" = 0 ]; then echo 0; else awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$service/stat"; fi; }

command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
m0=$(machine) s0=$(of_service) t0=$(date +%s.%N)
# A command that fails (pgbench with a failed client) still gets its figures printed.
/usr/bin/time -f "%U %S" -o /tmp/cpu-split.$$ "$@" || echo "cpu-split.sh: the command exited with $?" >&2
m1=$(machine) s1=$(of_service) t1=$(date +%s.%N)
read -r cu cs < <(tail -1 /tmp/cpu-split.$$) && rm -f /tmp/cpu-split.$$
python3 -c "
w, m, s, c = $t1 - $t0, $m1 - $m0, $s1 - $s0, $cu + $cs
print(f'wall {w:.1f} s; CPU seconds: machine {m:.1f}, service {s:.1f}, command {c:.1f}, rest (PostgreSQL) {m - s - c:.1f}')"
