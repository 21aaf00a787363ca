// Detector cost per sample and memory per series.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "anomaly/detector.hpp"

namespace {

std::vector<double> series(std::size_t n) {
  std::mt19937 rng(42);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = 50.0 + 10.0 * std::sin(2.0 * M_PI * static_cast<double>(i % 288) / 288.0) + noise(rng);
  }
  return v;
}

void bm_detector_update(benchmark::State& state) {
  const auto v = series(1 << 16);
  wk::anomaly::detector d;
  std::size_t i = 0;
  std::int64_t t = 1'396'310'400'000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(d.update(t, v[i]));
    t += 300'000;
    i = (i + 1) & (v.size() - 1);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["bytes_per_detector"] = static_cast<double>(d.memory_bytes());
}
BENCHMARK(bm_detector_update);

// Many series interleaved, as the anomaly actor feeds them: detectors fall out of cache.
void bm_detector_many_series(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto v = series(1 << 12);
  std::vector<wk::anomaly::detector> detectors(n);
  std::size_t i = 0;
  std::int64_t t = 1'396'310'400'000;
  for (auto _ : state) {
    for (auto& d : detectors) benchmark::DoNotOptimize(d.update(t, v[i]));
    t += 300'000;
    i = (i + 1) & (v.size() - 1);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(bm_detector_many_series)->Arg(1000)->Arg(100000);

}  // namespace

BENCHMARK_MAIN();
