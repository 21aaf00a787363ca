#!/usr/bin/env bash
# Builds fuzz_exposition with clang (libFuzzer + ASan + UBSan) in build-fuzz/ and runs it on the
# seed corpus for SECONDS (default 60). Exits non-zero on a finding; crash inputs land in fuzz/.
#   fuzz/run.sh 300
set -euo pipefail
seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$root/build-fuzz
CC=clang CXX=clang++ cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWK_BUILD_FUZZ=ON -DWK_ONLY_PURE=ON -DWK_DIRS=protocol >/dev/null
cmake --build "$build_dir" --target fuzz_exposition -j2
# New inputs go to a scratch directory so the checked-in seed corpus stays small.
work_corpus=$build_dir/corpus-exposition
mkdir -p "$work_corpus"
cd "$root/fuzz"
"$build_dir/fuzz/fuzz_exposition" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 "$work_corpus" "$root/fuzz/corpus/exposition"
