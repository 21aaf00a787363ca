// Exposition parser throughput, single thread, on the shared corpora.
// Run (Release build), one command:
//   cmake -S /work/main -B /work/main/build-parser-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DWK_DIRS="protocol;parser" && cmake --build /work/main/build-parser-release -j2 --target bench_parser && /work/main/build-parser-release/bench/parser/bench_parser
// "samples/s" is samples per second on one core; "bytes_per_second" gives MB/s.
#include "protocol/exposition_parser.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace {

std::string read_corpus(const char* name) {
  const std::string path = std::string(WK_SHARED_DIR) + "/data/exposition/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void parse_corpus(benchmark::State& state, const char* name, wk::protocol::exposition_format format) {
  const std::string body = read_corpus(name);
  std::int64_t samples = 0;
  for (auto _ : state) {
    wk::protocol::exposition_parser parser(body, format);
    double sum = 0;
    for (;;) {
      const wk::protocol::entry kind = parser.next();
      if (kind == wk::protocol::entry::series) {
        sum += parser.value();
        ++samples;
        benchmark::DoNotOptimize(parser.labels().data());
      } else if (kind == wk::protocol::entry::eof) {
        break;
      } else if (kind == wk::protocol::entry::error) {
        state.SkipWithError(wk::protocol::describe(parser.error()).c_str());
        return;
      }
    }
    benchmark::DoNotOptimize(sum);
  }
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(body.size()));
}

void bm_prometheus_text_237mfs(benchmark::State& state) {
  parse_corpus(state, "alltypes.237mfs.prom.txt", wk::protocol::exposition_format::prometheus_text);
}

void bm_openmetrics_5mfs(benchmark::State& state) {
  parse_corpus(state, "alltypes.5mfs.om.txt", wk::protocol::exposition_format::openmetrics);
}

}  // namespace

BENCHMARK(bm_prometheus_text_237mfs)->Unit(benchmark::kMicrosecond);
BENCHMARK(bm_openmetrics_5mfs)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
