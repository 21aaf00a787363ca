#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "forecast/capacity.hpp"

using namespace wk::forecast;

namespace {

// A disk losing 1 GB a minute from 100 GB, sampled every 15 s for an hour.
std::vector<point> draining(std::int64_t end_ms) {
  std::vector<point> h;
  for (std::int64_t t = end_ms - 3'600'000; t <= end_ms; t += 15'000) {
    const double minutes = (t - (end_ms - 3'600'000)) / 60'000.0;
    h.push_back({t, 100e9 - minutes * 1e9 + 1e9});
  }
  return h;
}

}  // namespace

TEST_CASE("a draining disk: time to empty within the horizon, and the value there") {
  const std::int64_t now = 1'800'000'000'000;
  const auto h = draining(now);  // at now: 41 GB left, 1 GB/min -> empty in 41 min
  for (bool linear : {true, false}) {
    const auto e = estimate_capacity(h, 2 * 3'600'000, 0.0, linear, now);
    REQUIRE(e.error.empty());
    CHECK(e.seconds_to_threshold == doctest::Approx(41 * 60).epsilon(0.03));
    CHECK(e.value_at_horizon == doctest::Approx(41e9 - 120e9).epsilon(0.05));
  }
}

TEST_CASE("no crossing within the horizon, away from the threshold or without one is +Inf") {
  const std::int64_t now = 1'800'000'000'000;
  const auto h = draining(now);
  CHECK(std::isinf(estimate_capacity(h, 10 * 60'000, 0.0, true, now).seconds_to_threshold));
  CHECK(std::isinf(estimate_capacity(h, 7 * 86'400'000LL, std::nullopt, true, now).seconds_to_threshold));
  // Falling away from a threshold above it: never.
  CHECK(std::isinf(estimate_capacity(h, 3'600'000, 50e9, true, now).seconds_to_threshold));
}

TEST_CASE("a series sitting on its threshold has reached it: 0 seconds") {
  const std::int64_t now = 1'800'000'000'000;
  std::vector<point> full;
  for (std::int64_t t = now - 600'000; t <= now; t += 15'000) full.push_back({t, 0.0});
  CHECK(estimate_capacity(full, 3'600'000, 0.0, true, now).seconds_to_threshold == 0);
}

TEST_CASE("too little history is an error, not a guess") {
  std::vector<point> h{{0, 1}, {1000, 2}};
  const auto e = estimate_capacity(h, 3'600'000, 0.0, false, 2000);
  CHECK_FALSE(e.error.empty());
  CHECK(e.method.empty());
}

TEST_CASE("predictions are recorded again only when they change materially") {
  capacity_estimate a;
  a.seconds_to_threshold = 3600;
  a.value_at_horizon = 100;
  auto b = a;
  CHECK_FALSE(materially_changed(a, b));
  b.seconds_to_threshold = 3600 + 300;  // 5 minutes on an hour: under a tenth
  CHECK_FALSE(materially_changed(a, b));
  b.seconds_to_threshold = 3600 + 400;
  CHECK(materially_changed(a, b));
  b = a;
  b.seconds_to_threshold = std::numeric_limits<double>::infinity();  // left the horizon
  CHECK(materially_changed(a, b));
  CHECK_FALSE(materially_changed(b, b));
  b = a;
  b.value_at_horizon = 111;
  CHECK(materially_changed(a, b));
  a.seconds_to_threshold = 30;  // near the end a minute is the smallest move that counts
  b = a;
  b.seconds_to_threshold = 80;
  CHECK_FALSE(materially_changed(a, b));
}
