#!/usr/bin/env bash
# Sets up, builds and runs Watchkeeper on this machine.
#  - Installs missing Debian packages, builds into build/.
#  - Database: $WATCHKEEPER_DATABASE_URL or the config's database.url; when neither is set, a
#    private PostgreSQL cluster in state/pg (created once, reused, stopped on exit).
#  - Starts Debian's node_exporter on a free port so there is a real host to watch.
#  - An admin API token is generated once into state/admin-token unless WATCHKEEPER_ADMIN_TOKEN is set.
# Environment: WK_CONFIG (default config/watchkeeper.yaml), WK_STATE_DIR (default state/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
WK_BUILD_TESTS=OFF "$root/scripts/build.sh" -DWK_BUILD_TESTS=OFF -DWK_BUILD_BENCH=OFF
bin="$root/build/app/watchkeeper"
config=${WK_CONFIG:-$root/config/watchkeeper.yaml}
state=${WK_STATE_DIR:-$root/state}
mkdir -p "$state"

cleanup=()
on_exit() { for c in "${cleanup[@]}"; do eval "$c" || true; done; }
trap on_exit EXIT

if [ -z "${WATCHKEEPER_ADMIN_TOKEN:-}" ]; then
  [ -s "$state/admin-token" ] || (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$state/admin-token")
  WATCHKEEPER_ADMIN_TOKEN=$(cat "$state/admin-token")
  export WATCHKEEPER_ADMIN_TOKEN
  echo "run: admin API token in $state/admin-token"
fi

if [ -z "$("$bin" database-url --config "$config")" ]; then
  port_file="$state/pg-port"
  [ -s "$port_file" ] || "$root/scripts/free_port.sh" > "$port_file"
  WATCHKEEPER_DATABASE_URL=$("$root/scripts/pg_cluster.sh" start "$state/pg" "$(cat "$port_file")")
  export WATCHKEEPER_DATABASE_URL
  cleanup+=("\"$root/scripts/pg_cluster.sh\" stop \"$state/pg\"")
  echo "run: private PostgreSQL at $WATCHKEEPER_DATABASE_URL (data in $state/pg)"
fi

if [ -z "${NODE_EXPORTER_URL:-}" ] && command -v prometheus-node-exporter >/dev/null; then
  ne_port=$("$root/scripts/free_port.sh")
  prometheus-node-exporter --web.listen-address="127.0.0.1:$ne_port" >"$state/node_exporter.log" 2>&1 &
  ne_pid=$!
  cleanup+=("kill $ne_pid")
  export NODE_EXPORTER_URL="http://127.0.0.1:$ne_port"
  echo "run: node_exporter at $NODE_EXPORTER_URL"
fi

echo "run: dashboard and API on http://localhost:3006 (config $config)"
"$bin" serve --config "$config" &
wk_pid=$!
trap 'kill -TERM $wk_pid 2>/dev/null || true' INT TERM
trap 'kill -HUP $wk_pid 2>/dev/null || true' HUP
status=0
while kill -0 "$wk_pid" 2>/dev/null; do
  wait "$wk_pid" && status=0 || status=$?
done
exit "$status"
