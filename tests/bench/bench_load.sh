#!/bin/bash
# bench_load.sh: times `mercado run data_loading -p force=true` (the whole command: validation, fingerprints,
# staging tables, swap, commit) against psql \copy of the same files into the seed_spec §1.5 tables in one psql
# session (TRUNCATE, then \copy each file, as scripts/linux/load_data.sh did), alternating the two, RUNS times.
# Reports medians of the wall time, of the client's CPU time and of the server's CPU time (every process of the
# throwaway cluster, exited ones included), so the comparison still means something on a busy machine.
#   bench_load.sh DATA_DIR [RUNS]     e.g. bench_load.sh /tmp/gen1x 9   (mercado gen --baskets 1108987 --seed 42)
# MERCADO picks the binary (default build/runtime/mercado); MERCADO_SOURCE_ROOT the repository (default .);
# WAL_MINIMAL=1 configures the server with wal_level = minimal.
set -eu
root=$(cd "${MERCADO_SOURCE_ROOT:-.}" && pwd)
here=$root/tests/pg
data=$(cd "$1" && pwd)
runs=${2:-9}
mercado=${MERCADO:-$root/build/runtime/mercado}
psql=${PSQL:-psql}
hz=$(getconf CLK_TCK)

dir=$(mktemp -d "${TMPDIR:-/tmp}/mercado-loadbench.XXXXXX")
trap '"$here/pg_server.sh" stop "$dir"' EXIT
trap 'exit 130' INT TERM
ci=$("$here/pg_server.sh" start "$dir")
if [ -n "${WAL_MINIMAL:-}" ]; then # a dedicated load server: tables created in the loading transaction skip WAL
  "$here/pg_server.sh" halt "$dir"
  printf '%s\n' "wal_level = minimal" "max_wal_senders = 0" >>"$dir/data/postgresql.conf"
  ci=$("$here/pg_server.sh" start "$dir")
fi
"$psql" -X -q "$ci" -c "CREATE DATABASE bench_psql" -c "CREATE DATABASE bench_mercado"
ci_psql=$(echo "$ci" | sed 's/dbname=[^ ]*/dbname=bench_psql/')
ci_merc=$(echo "$ci" | sed 's/dbname=[^ ]*/dbname=bench_mercado/')
postmaster=$(head -1 "$dir/data/postmaster.pid")

sql=$dir/load.sql
{
  printf '%s\n' "SET client_min_messages = warning;" \
    "CREATE TABLE IF NOT EXISTS categories(category_id INT PRIMARY KEY, category_name TEXT);" \
    "CREATE TABLE IF NOT EXISTS product_categories(product_id INT, category_id INT);" \
    "CREATE TABLE IF NOT EXISTS transactions(transaction_date DATE, store_id INT, customer_id INT, products TEXT);" \
    "TRUNCATE categories, product_categories, transactions;" \
    "\\copy categories(category_id, category_name) from '$data/products/Categories.csv' with (format csv, delimiter '|')" \
    "\\copy product_categories(product_id, category_id) from '$data/products/ProductCategory.csv' with (format csv, delimiter '|', header true)"
  for f in "$data"/transactions/*_Tran.csv; do
    printf '%s\n' "\\copy transactions(transaction_date, store_id, customer_id, products) from '$f' with (format csv, delimiter '|')"
  done
} >"$sql"

now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# CPU seconds used so far by the cluster: the postmaster (with its reaped children) and its live children.
server_cpu() {
  { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$postmaster/stat"
    for p in $(pgrep -P "$postmaster"); do awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true; done
  } | awk -v hz="$hz" '{ s += $1 } END { printf "%.3f\n", s / hz }'
}
# Runs a command, appending wall, client CPU and server CPU seconds to the file named by $1.
measure() {
  out=$1; shift
  s0=$(server_cpu); t0=$(now)
  /usr/bin/time -f "%U %S" -o "$dir/time" "$@"
  t1=$(now); s1=$(server_cpu)
  echo "$(echo "$t1 - $t0" | bc) $(awk '{ print $1 + $2 }' "$dir/time") $(echo "$s1 - $s0" | bc)" >>"$out"
}

: >"$dir/psql"
: >"$dir/mercado"
"$mercado" run data_loading -q -p data_dir="$data" -p conninfo="$ci_merc" --output "$dir/out" # schema, first load
for i in $(seq "$runs"); do
  measure "$dir/psql" "$psql" -X -q -v ON_ERROR_STOP=1 "$ci_psql" -f "$sql"
  measure "$dir/mercado" "$mercado" run data_loading -q -p force=true -p data_dir="$data" -p conninfo="$ci_merc" \
    --output "$dir/out"
done
rows=$("$psql" -X -At "$ci_merc" -c "SELECT count(*) FROM transactions")
prows=$("$psql" -X -At "$ci_psql" -c "SELECT count(*) FROM transactions")
[ "$rows" = "$prows" ] || { echo "bench_load.sh: psql loaded $prows rows, mercado $rows" >&2; exit 1; }
col() { awk -v c="$1" '{ print $c }' "$2" | median; }
echo "loading $data ($rows baskets, $(du -sb "$data/transactions" | cut -f1) bytes of transactions); medians of $runs runs;"
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
printf '  %-36s %8s %12s %12s %10s\n' "" "wall s" "client CPU s" "server CPU s" "total CPU"
for m in mercado psql; do
  label="mercado run data_loading (force)"; [ $m = psql ] && label='psql \copy (one session)'
  printf '  %-36s %8.3f %12.3f %12.3f %10.3f\n' "$label" "$(col 1 "$dir/$m")" "$(col 2 "$dir/$m")" \
    "$(col 3 "$dir/$m")" "$(awk '{ print $2 + $3 }' "$dir/$m" | median)"
done
echo "  wall times: mercado $(awk '{ print $1 }' "$dir/mercado" | sort -n | tr '\n' ' ')"
echo "              psql    $(awk '{ print $1 }' "$dir/psql" | sort -n | tr '\n' ' ')"
