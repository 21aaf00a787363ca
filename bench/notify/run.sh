#!/usr/bin/env bash
# Detection latency: from a target going down to the first notification received by a webhook
# sink, over RUNS failures (default 30), with 1 s scrapes and 1 s health checks and rules
# `up == 0` / `probe_success == 0` without `for`. Prints p50/p90/p99/max against the issue's
# target (p50 <= 500 ms, p99 <= 1.1 s). Builds nothing: uses build/app/watchkeeper or $WK_BINARY.
#   bench/notify/run.sh [RUNS]
# PostgreSQL runs with fsync on, as in production: the outbox commit is part of the latency.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-30}
binary=${WK_BINARY:-$root/build/app/watchkeeper}
if [ ! -x "$binary" ]; then
  echo "bench/notify: no binary at $binary (build it, or set WK_BINARY)" >&2
  exit 1
fi
work=$(mktemp -d /tmp/wk-bench-notify.XXXXXX)
cleanup() {
  "$root/scripts/pg_cluster.sh" stop "$work/pg" || true
  rm -rf "$work"
}
trap cleanup EXIT

pg_port=$("$root/scripts/free_port.sh")
db_url=$("$root/scripts/pg_cluster.sh" start "$work/pg" "$pg_port")
python3 "$root/bench/notify/latency.py" --binary "$binary" --database-url "$db_url" \
  --runs "$runs" --workdir "$work"
