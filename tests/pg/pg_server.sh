#!/bin/sh
# pg_server.sh: a throwaway PostgreSQL 15 for the tests, on a temporary directory and a free port of 127.0.0.1.
#
#   pg_server.sh start [DIR]  initialises DIR (a new temporary directory when omitted) unless it already holds a
#                             cluster, starts the server and prints the conninfo of role/database "mercado"
#                             (password authentication over TCP). DIR/conninfo holds the same line.
#   pg_server.sh halt DIR     stops the server, keeping the cluster (start DIR brings it back on the same port).
#   pg_server.sh stop DIR     stops the server and removes DIR.
#
# PostgreSQL refuses to run as root: as root, initdb/pg_ctl/psql run as user postgres and DIR is given to it.
# PG_BIN overrides /usr/lib/postgresql/15/bin.
set -eu

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

die() { echo "pg_server.sh: $*" >&2; exit 1; }

# Runs a PostgreSQL program as the user that owns the cluster.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A TCP port of 127.0.0.1 nobody listens on (the server start retries another one if it loses the race).
free_port() {
  used=$(ss -Hltn 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
  while :; do
    port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 ))
    echo "$used" | grep -qx "$port" || break
  done
  echo "$port"
}

init_cluster() {
  dir=$1
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  chmod 700 "$dir"
  as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C --no-sync \
    --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  # Test-speed settings: nothing here needs durability.
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 20
EOF
  # A password only this run knows (hex, so it needs no quoting in a conninfo).
  od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$dir/password"
}

# Starts the server of DIR. A new cluster that fails to start probably lost its port to someone else and tries
# another; an existing one keeps its port (its conninfo names it) and retries after a second, since a server that
# is still shutting down holds the data directory.
start_server() {
  dir=$1
  new_cluster=$2
  tries=0
  while :; do
    if [ ! -f "$dir/port" ]; then free_port >"$dir/port"; fi
    port=$(cat "$dir/port")
    if as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir" start >/dev/null 2>&1; then
      break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 5 ]; then tail -20 "$dir/server.log" >&2; die "the server does not start"; fi
    if [ "$new_cluster" = 1 ]; then rm -f "$dir/port"; else sleep 1; fi
  done
  [ "$(id -u)" = 0 ] && chown postgres: "$dir/port"
  return 0
}

create_role() {
  dir=$1
  port=$(cat "$dir/port")
  pw=$(cat "$dir/password")
  as_pg "$PG_BIN/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null <<EOF
CREATE ROLE mercado LOGIN SUPERUSER PASSWORD '$pw';
CREATE DATABASE mercado OWNER mercado;
EOF
  echo "host=127.0.0.1 port=$port user=mercado dbname=mercado password=$pw" >"$dir/conninfo"
}

cmd=${1:-}
case "$cmd" in
  start)
    dir=${2:-}
    if [ -z "$dir" ]; then
      dir=$(mktemp -d "${TMPDIR:-/tmp}/mercado-pg.XXXXXX")
      echo "pg_server.sh: cluster in $dir (stop it with: $0 stop $dir)" >&2
    fi
    fresh=0
    if [ ! -f "$dir/data/PG_VERSION" ]; then init_cluster "$dir"; fresh=1; fi
    start_server "$dir" "$fresh"
    if [ "$fresh" = 1 ]; then create_role "$dir"; fi
    cat "$dir/conninfo"
    ;;
  halt)
    dir=${2:?usage: pg_server.sh halt DIR}
    [ -f "$dir/data/PG_VERSION" ] || die "$dir holds no cluster"
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  stop)
    dir=${2:?usage: pg_server.sh stop DIR}
    if [ -f "$dir/data/PG_VERSION" ]; then
      as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    case "$dir" in
      /|"") die "refusing to remove '$dir'" ;;
    esac
    rm -rf "$dir"
    ;;
  *)
    echo "usage: pg_server.sh start [DIR] | halt DIR | stop DIR" >&2
    exit 2
    ;;
esac
