#!/bin/sh
# bench_copy.sh: times loading a transactions file into PostgreSQL with conn:copy_from against psql's \copy, and
# reading the table back as a colstore table (conn:query_table) against psql's COPY TO /dev/null. Medians of RUNS.
#   tests/pg/bench_copy.sh FILE [RUNS]   (FILE: date|store|customer|products lines, e.g. all four *_Tran.csv
#                                         concatenated; a throwaway server is started and stopped)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
file=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
runs=${2:-5}
mercado=${MERCADO:-$root/build/runtime/mercado}
psql=${PSQL:-psql}

dir=$(mktemp -d "${TMPDIR:-/tmp}/mercado-pgbench.XXXXXX")
trap '"$here/pg_server.sh" stop "$dir"' EXIT
trap 'exit 130' INT TERM
ci=$("$here/pg_server.sh" start "$dir")
export MERCADO_PG_TEST="$ci" BENCH_FILE="$file"

"$psql" -X -q "$ci" -c "CREATE TABLE transactions(transaction_date DATE, store_id INT, customer_id INT, products TEXT)"

now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# COPY FROM: mercado (the time of copy_from only, measured inside) and psql \copy (whole command).
: >"$dir/mercado_in"
: >"$dir/psql_in"
for i in $(seq "$runs"); do
  "$psql" -X -q "$ci" -c "TRUNCATE transactions"
  "$mercado" -e '
    local pg, sys = require "mercado.pg", require "mercado.sys"
    local c = assert(pg.connect(os.getenv("MERCADO_PG_TEST")))
    local t0 = sys.monotonic()
    local n = c:copy_from("transactions", {"transaction_date", "store_id", "customer_id", "products"},
      os.getenv("BENCH_FILE"), {format = "csv", delimiter = "|"})
    print(sys.monotonic() - t0)
    io.stderr:write(n, " rows\n")' >>"$dir/mercado_in" 2>"$dir/rows"
  "$psql" -X -q "$ci" -c "TRUNCATE transactions"
  t0=$(now)
  "$psql" -X -q "$ci" -c "\\copy transactions(transaction_date, store_id, customer_id, products) from '$file' with (format csv, delimiter '|')"
  echo "$(now) - $t0" | bc >>"$dir/psql_in"
done
echo "COPY FROM of $(wc -c <"$file") bytes, $(cat "$dir/rows"), median of $runs:"
echo "  mercado copy_from  $(median <"$dir/mercado_in") s"
printf '  psql \\copy         %s s\n' "$(median <"$dir/psql_in")"

# Reading back: query_table with the products list column, and psql COPY TO STDOUT into /dev/null.
"$psql" -X -q "$ci" -c "VACUUM ANALYZE transactions"
: >"$dir/mercado_out"
: >"$dir/psql_out"
for i in $(seq "$runs"); do
  "$mercado" -e '
    local pg, sys = require "mercado.pg", require "mercado.sys"
    local c = assert(pg.connect(os.getenv("MERCADO_PG_TEST")))
    local t0 = sys.monotonic()
    local t = c:query_table("SELECT transaction_date, store_id, customer_id, products FROM transactions",
      {list_columns = {products = " "}})
    print(sys.monotonic() - t0)
    io.stderr:write(#t:rows(1), " ", t:column("products"):nitems(), " items\n")' >>"$dir/mercado_out" 2>"$dir/items"
  t0=$(now)
  "$psql" -X -q "$ci" -c "\\copy (SELECT transaction_date, store_id, customer_id, products FROM transactions) to '/dev/null'"
  echo "$(now) - $t0" | bc >>"$dir/psql_out"
done
echo "Reading the table back, median of $runs ($(cut -d' ' -f2- "$dir/items")):"
echo "  mercado query_table (list<int32> products)  $(median <"$dir/mercado_out") s"
printf '  psql \\copy (SELECT ...) to /dev/null        %s s\n' "$(median <"$dir/psql_out")"
