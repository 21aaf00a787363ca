#!/usr/bin/env bash
# A private PostgreSQL cluster in a directory of ours.
#   pg_cluster.sh start DIR PORT [--fast]   -> prints the connection URL
#   pg_cluster.sh stop DIR
# Runs the server as the postgres user when invoked as root (initdb refuses root).
# --fast turns fsync off: for tests only, never for the run command.
set -euo pipefail
cmd=$1 dir=$2
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_owner=()
if [ "$(id -u)" -eq 0 ]; then as_owner=(runuser -u postgres --); fi
case "$cmd" in
  start)
    port=$3 fast=${4:-}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    # postgres must be able to reach its directory through every parent.
    if [ "$(id -u)" -eq 0 ]; then
      p=$dir; while [ "$p" != "/" ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      "${as_owner[@]}" mkdir -p "$dir/data"
      "${as_owner[@]}" "$pg_bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1
    fi
    extra=""
    [ "$fast" = "--fast" ] && extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if ! "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -w -t 60 -l "$dir/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir $extra" start >/dev/null
    fi
    "$pg_bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "select 1 from pg_database where datname='watchkeeper'" postgres | grep -q 1 ||
      "$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres watchkeeper
    echo "postgresql://postgres@127.0.0.1:$port/watchkeeper"
    ;;
  stop)
    if [ -f "$dir/data/PG_VERSION" ]; then
      "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  *) echo "usage: $0 start DIR PORT [--fast] | stop DIR" >&2; exit 2 ;;
esac
