#!/usr/bin/env bash
# Sets up, builds and runs every test: unit, PostgreSQL (a private cluster started here) and
# end-to-end (the binary against real processes), then builds the fuzz target and runs it briefly.
#   WK_TEST_LABELS=unit scripts/test.sh   runs one tier only
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" --test
"$root/scripts/build.sh" -DWK_BUILD_TESTS=ON -DWK_BUILD_BENCH=ON

work=$(mktemp -d /tmp/wk-test.XXXXXX)
pg_dir="$work/pg"
cleanup() {
  "$root/scripts/pg_cluster.sh" stop "$pg_dir" || true
  rm -rf "$work"
}
trap cleanup EXIT

pg_port=$("$root/scripts/free_port.sh")
WK_TEST_DATABASE_URL=$("$root/scripts/pg_cluster.sh" start "$pg_dir" "$pg_port" --fast)
export WK_TEST_DATABASE_URL WK_TEST_PG_DIR="$pg_dir" WK_TEST_PG_PORT="$pg_port"
export WK_BINARY="$root/build/app/watchkeeper"
echo "test: PostgreSQL at $WK_TEST_DATABASE_URL"

status=0
# The fuzz target must build and survive a short run; ctest goes last so its summary closes
# the output.
if [ -z "${WK_TEST_LABELS:-}" ]; then
  echo "test: fuzzing the exposition parser for ${WK_FUZZ_SECONDS:-30} s"
  if ! "$root/fuzz/run.sh" "${WK_FUZZ_SECONDS:-30}" > "$work/fuzz.log" 2>&1; then
    tail -n 40 "$work/fuzz.log"
    echo "test: the fuzzer found a crash (input saved under fuzz/)"
    status=1
  else
    grep -E "^(#[0-9]+\s+DONE|Done)" "$work/fuzz.log" | tail -n 1 || true
  fi
fi

label_args=()
[ -n "${WK_TEST_LABELS:-}" ] && label_args=(-L "$WK_TEST_LABELS")
ctest --test-dir "$root/build" --output-on-failure -j "$(nproc)" "${label_args[@]}" || status=$?
exit "$status"
