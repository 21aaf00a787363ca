#include <doctest/doctest.h>

#include <cmath>

#include "anomaly/series_scorer.hpp"

using wk::tsdb::label_set;
using wk::tsdb::sample;
using wk::tsdb::series_data;

namespace {

series_data steady(const char* name, std::int64_t from, std::int64_t to, double spike_at = -1) {
  series_data s{label_set({{"__name__", name}, {"service", "api"}}), {}};
  for (std::int64_t t = from; t < to; t += 1000) {
    const double noise = std::sin(double(t) / 7000.0) * 0.5;
    s.samples.push_back({t, (t == spike_at ? 100.0 : 10.0) + noise});
  }
  return s;
}

}  // namespace

TEST_CASE("series_scorer feeds each sample once and reports a crossing once") {
  wk::anomaly::series_scorer scorer(0.9, 10);
  auto first = scorer.feed({steady("latency", 0, 400'000)});
  CHECK(first.size() == 400);
  CHECK(first[0].score_labels.to_string() == R"(watchkeeper_anomaly_score{metric="latency",service="api"})");
  for (const auto& s : first) CHECK_FALSE(s.crossed);
  // The same window again: nothing new to score.
  CHECK(scorer.feed({steady("latency", 0, 400'000)}).empty());
  // A spike after warm-up crosses the threshold exactly once.
  auto next = scorer.feed({steady("latency", 0, 420'000, 410'000)});
  REQUIRE(next.size() == 20);
  int crossings = 0;
  for (const auto& s : next) crossings += s.crossed;
  CHECK(crossings == 1);
  CHECK(next[10].crossed);
  CHECK(next[10].value == doctest::Approx(100.0 + std::sin(410'000.0 / 7000.0) * 0.5));
}

TEST_CASE("series_scorer caps the series it tracks") {
  wk::anomaly::series_scorer scorer(0.9, 2);
  auto out = scorer.feed({steady("a", 0, 5000), steady("b", 0, 5000), steady("c", 0, 5000)});
  CHECK(scorer.series() == 2);
  CHECK(scorer.skipped_series() == 1);
  CHECK(out.size() == 10);
  CHECK(scorer.memory_bytes() < 2 * 2560 + 1024);  // two detectors and their labels
  CHECK_THROWS(wk::anomaly::series_scorer(0.9, 2, wk::anomaly::detector_options{0, -1.0}));
}
