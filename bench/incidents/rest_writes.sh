#!/usr/bin/env bash
# Durable incident writes over REST: wrk POSTs /api/incidents (each a new incident, committed to
# PostgreSQL with fsync on before the 201) for SECONDS with CONNECTIONS connections, then checks
# that the database holds exactly as many incidents as 201 answers. The target in
# ARCHITECTURE.md is >= 2,000 writes/s. Builds nothing: uses build/app/watchkeeper or $WK_BINARY.
#   bench/incidents/rest_writes.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-10}
connections=${2:-64}
binary=${WK_BINARY:-$root/build/app/watchkeeper}
[ -x "$binary" ] || { echo "bench/incidents: no binary at $binary (build it, or set WK_BINARY)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench/incidents: needs wrk (apt-get install wrk)" >&2; exit 1; }
work=$(mktemp -d /tmp/wk-bench-rest.XXXXXX)
wk_pid=
cleanup() {
  [ -n "$wk_pid" ] && kill "$wk_pid" 2>/dev/null && wait "$wk_pid" 2>/dev/null || true
  "$root/scripts/pg_cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

db_url=$("$root/scripts/pg_cluster.sh" start "$work/pg" "$("$root/scripts/free_port.sh")")
port=$("$root/scripts/free_port.sh")
token=bench-responder-token-0123456789
cat > "$work/wk.yaml" <<YAML
server: {listen: "127.0.0.1:$port"}
logging: {level: warn}
anomaly: {enabled: false}
auth:
  tokens: [{name: bench, role: responder, env: WK_BENCH_TOKEN}]
YAML
WK_BENCH_TOKEN=$token WATCHKEEPER_DATABASE_URL=$db_url "$binary" serve --config "$work/wk.yaml" \
  > "$work/wk.log" 2>&1 &
wk_pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"title":"bench incident","service":"bench","severity":"warning","description":"opened by bench/incidents/rest_writes.sh"}'
created = 0
response = function(status, headers, body) if status == 201 then created = created + 1 end end
done = function(summary, latency, requests)
  io.write(string.format("answers: %d, non-2xx/3xx: %d, errors: connect %d read %d write %d timeout %d\n",
    summary.requests, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout))
end
LUA
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/post.lua" "http://127.0.0.1:$port/api/incidents" \
  | tee "$work/wrk.out"
stored=$(psql "$db_url" -Atc "SELECT count(*) FROM incidents")
audited=$(psql "$db_url" -Atc "SELECT count(*) FROM audit_log WHERE action = 'incident.create'")
answers=$(sed -n 's/^answers: \([0-9]*\),.*/\1/p' "$work/wrk.out")
bad=$(sed -n 's/^answers: [0-9]*, non-2xx\/3xx: \([0-9]*\),.*/\1/p' "$work/wrk.out")
echo "incidents in PostgreSQL: $stored (audit entries: $audited); 201 answers: $((answers - bad))"
echo "durable incident writes/s: $(awk -v n="$stored" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }') (target >= 2000)"
