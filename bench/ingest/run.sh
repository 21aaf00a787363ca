#!/usr/bin/env bash
# Ingest benchmark: Watchkeeper scraping N synthetic targets x M series at a 1 s interval for
# D seconds, writing to a private PostgreSQL. Prints CPU-seconds per million samples for the
# Watchkeeper process and for PostgreSQL separately, and resident bytes per active series.
#   bench/ingest/run.sh [TARGETS=200] [SERIES=200] [SECONDS=60]
# Needs a build with benchmarks (scripts/build.sh). Not a timed test: figures vary by machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
targets=${1:-200} series=${2:-200} duration=${3:-60}
build=${WK_BUILD_DIR:-$root/build}
work=$(mktemp -d /tmp/wk-bench-ingest.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$root/scripts/pg_cluster.sh" stop "$work/pg" || true
  rm -rf "$work"
}
trap cleanup EXIT

pg_port=$("$root/scripts/free_port.sh")
db_url=$("$root/scripts/pg_cluster.sh" start "$work/pg" "$pg_port")
target_port=$("$root/scripts/free_port.sh")
"$build/bench/ingest/bench_ingest_targets" "$target_port" "$series" &
pids+=($!)
wk_port=$("$root/scripts/free_port.sh")
{
  echo "server: {listen: \"127.0.0.1:$wk_port\"}"
  echo "database: {flush_interval: 5s}"
  echo "storage: {retention: 10m}"
  echo "scrape_defaults: {interval: 1s, timeout: 900ms}"
  echo "logging: {level: warn}"
  [ -n "${WK_BENCH_NO_ANOMALY:-}" ] && echo "anomaly: {enabled: false}"
  echo "services:"
  for i in $(seq 0 $((targets - 1))); do
    echo "  - {name: t$i, metrics: {url: \"http://127.0.0.1:$target_port/t/$i/metrics\"}}"
  done
} > "$work/bench.yaml"
WATCHKEEPER_DATABASE_URL=$db_url ${WK_WRAP:-} "$build/app/watchkeeper" serve --config "$work/bench.yaml" 2>"$work/wk.log" &
wk_pid=$!
pids+=($wk_pid)

cpu_ticks() {  # utime+stime of the given pids, in clock ticks
  local total=0
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    local fields
    fields=$(sed 's/^.*) //' "/proc/$p/stat")
    set -- $fields
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}
pg_pids() {  # the postmaster and all its children (backends, writer, checkpointer, WAL)
  local pm
  pm=$(head -n 1 "$work/pg/data/postmaster.pid")
  echo "$pm" $(pgrep -P "$pm" || true)
}
metric() { curl -s "http://127.0.0.1:$wk_port/metrics" | awk -v m="$1" '$1==m {print $2}'; }

# Warm up: every target scraped and the head populated.
sleep 10
hz=$(getconf CLK_TCK)
wk_before=$(cpu_ticks "$wk_pid")
pg_before=$(cpu_ticks $(pg_pids))
samples_before=$(metric watchkeeper_samples_ingested_total)
if [ -n "${WK_PERF:-}" ]; then perf record -F 499 -g -p "$wk_pid" -o "$WK_PERF" -- sleep "$duration" >/dev/null 2>&1; else sleep "$duration"; fi
wk_after=$(cpu_ticks "$wk_pid")
pg_after=$(cpu_ticks $(pg_pids))
samples_after=$(metric watchkeeper_samples_ingested_total)
head_series=$(metric watchkeeper_head_series)
head_bytes=$(metric watchkeeper_head_memory_bytes)
queue_bytes=$(metric watchkeeper_write_queue_bytes)
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$wk_pid/status")

python3 - "$hz" "$wk_before" "$wk_after" "$pg_before" "$pg_after" "$samples_before" "$samples_after" "$head_series" "$rss_kb" "$targets" "$series" "$duration" "$head_bytes" "$queue_bytes" <<'PY'
import sys
hz, wb, wa, pb, pa, sb, sa, series, rss_kb, targets, per, dur, head_bytes, queue_bytes = sys.argv[1:]
hz = float(hz); samples = float(sa) - float(sb)
wk_cpu = (int(wa) - int(wb)) / hz; pg_cpu = (int(pa) - int(pb)) / hz
m = samples / 1e6
print(f"targets={targets} series/target={per} interval=1s measured={dur}s")
print(f"samples ingested: {samples:,.0f} ({samples/float(dur):,.0f}/s)")
print(f"watchkeeper CPU: {wk_cpu:.2f} s = {wk_cpu/m:.3f} CPU-s per million samples")
print(f"postgres CPU:    {pg_cpu:.2f} s = {pg_cpu/m:.3f} CPU-s per million samples")
print(f"together:        {(wk_cpu+pg_cpu)/m:.3f} CPU-s per million samples (target <= 0.4)")
print(f"head series: {float(series):,.0f}; RSS {int(rss_kb)/1024:.1f} MiB = {int(rss_kb)*1024/float(series):.0f} bytes per active series (target <= 400)")
print(f"of which the head's own estimate: {float(head_bytes)/float(series):.0f} bytes per series; write queue {float(queue_bytes)/1048576:.1f} MiB")
PY
