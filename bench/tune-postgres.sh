#!/usr/bin/env bash
# Sizes the local PostgreSQL 15 for the machine it runs on, as a production deployment would,
# and restarts it. PostgreSQL's defaults (shared_buffers 128 MB, max_wal_size 1 GB) are sized
# for a machine of any kind; on the full set (14 GB) every index update of a write then reads
# its leaf page from the operating system's cache and writes another out, and bulk writes run
# into a checkpoint every gigabyte of WAL. See bench/RESULTS.md for the figures on both.
#
# bench/tune-postgres.sh          apply: shared_buffers a quarter of RAM, effective_cache_size
#                                 three quarters, max_wal_size 8 GB
# bench/tune-postgres.sh reset    back to PostgreSQL's defaults
set -euo pipefail

PSQL=(psql -h 127.0.0.1 -U postgres -qX)
if [ "${1:-}" = reset ]; then
    "${PSQL[@]}" -c "ALTER SYSTEM RESET shared_buffers" -c "ALTER SYSTEM RESET effective_cache_size" \
        -c "ALTER SYSTEM RESET max_wal_size"
else
    ram_mb=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
    "${PSQL[@]}" -c "ALTER SYSTEM SET shared_buffers = '$((ram_mb / 4))MB'" \
        -c "ALTER SYSTEM SET effective_cache_size = '$((ram_mb * 3 / 4))MB'" \
        -c "ALTER SYSTEM SET max_wal_size = '8GB'"
fi
pg_ctlcluster 15 main restart
"${PSQL[@]}" -tAc "SELECT name || ' = ' || setting || coalesce(' ' || unit, '') FROM pg_settings
                   WHERE name IN ('shared_buffers', 'effective_cache_size', 'max_wal_size')"
