# Pieces the bench scripts share; source it: `. "$ROOT/bench/lib.sh"`.

# Makes sure the raw point-select baseline database exists (pgbench's own tables, scale 10) on
# the server of the database URL $1 and prints its URL. Kept between runs: it never changes.
pgbench_baseline() {
    local url="${1%/*}/pgbench_baseline" admin="${1%/*}/postgres"
    if ! psql "$url" -qtAc "SELECT 1 FROM pgbench_accounts LIMIT 1" 2>/dev/null | grep -q 1; then
        psql "$admin" -qc "DROP DATABASE IF EXISTS pgbench_baseline" -c "CREATE DATABASE pgbench_baseline"
        pgbench -i -q -s 10 "$url" >/dev/null 2>&1
    fi
    echo "$url"
}
