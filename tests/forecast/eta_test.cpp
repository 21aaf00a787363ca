#include "forecast/eta.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

using namespace wk::forecast;

namespace {

constexpr std::int64_t minute_ms = 60'000;
constexpr std::int64_t hour_ms = 60 * minute_ms;
constexpr std::int64_t day_ms = 24 * hour_ms;
constexpr std::int64_t step_ms = 5 * minute_ms;
constexpr std::int64_t t0_ms = 1'700'000'000'000;

// A disk filling at `gb_per_hour` from 200 GB over three days of 5-minute samples.
std::vector<point> filling_disk(double gb_per_hour, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.3);
  std::vector<point> h;
  for (std::int64_t i = 0; i < 3 * 288; ++i) {
    const double hours = static_cast<double>(i * step_ms) / static_cast<double>(hour_ms);
    h.push_back({t0_ms + i * step_ms, 200.0 + gb_per_hour * hours + noise(rng)});
  }
  return h;
}

}  // namespace

TEST_CASE("a filling disk: time to full within 5% of the known answer") {
  const auto h = filling_disk(1.5, 1);
  // Truth: 200 + 1.5 GB/h * 71.9167 h = 307.875 GB now; 500 GB in 128.08 h = 5.34 days.
  const double truth_ms = (500.0 - (200.0 + 1.5 * 71.9166667)) / 1.5 * static_cast<double>(hour_ms);
  const forecast_options o{14 * day_ms, step_ms};
  for (const forecast_result& f : {forecast(h, o), forecast_linear(h, o)}) {
    REQUIRE(f.error.empty());
    const threshold_eta eta = time_to_threshold(f, 500.0);
    CHECK(eta.rising);
    REQUIRE(eta.reached);
    REQUIRE(eta.band_reached);
    const auto from_now = static_cast<double>(eta.at_ms - h.back().t_ms);
    MESSAGE(f.method << ": full in " << from_now / day_ms << " days (truth " << truth_ms / day_ms
                     << "), " << humanize_eta(h.back().t_ms, eta.at_ms) << ", earliest "
                     << humanize_eta(h.back().t_ms, eta.earliest_ms));
    CHECK(from_now == doctest::Approx(truth_ms).epsilon(0.05));
    CHECK(eta.earliest_ms <= eta.at_ms);
    CHECK(eta.earliest_ms > h.back().t_ms);
    CHECK(humanize_eta(h.back().t_ms, eta.at_ms).rfind("in 5.", 0) == 0);
  }
}

TEST_CASE("a falling series crosses from above and an unreachable threshold is never reached") {
  auto h = filling_disk(-2.0, 2);  // free memory draining: 200 -> ~56 over three days
  const forecast_result f = forecast(h, {2 * day_ms, step_ms});
  REQUIRE(f.error.empty());
  const threshold_eta low = time_to_threshold(f, 10.0);
  CHECK_FALSE(low.rising);
  REQUIRE(low.reached);
  // ~56.2 left at 2 per hour: ~23 hours.
  CHECK(static_cast<double>(low.at_ms - h.back().t_ms) / hour_ms ==
        doctest::Approx(23.1).epsilon(0.05));
  CHECK(low.earliest_ms <= low.at_ms);

  const threshold_eta never = time_to_threshold(f, -1000.0);
  CHECK_FALSE(never.reached);
  CHECK_FALSE(never.band_reached);
  const threshold_eta up = time_to_threshold(f, 1000.0);
  CHECK(up.rising);
  CHECK_FALSE(up.reached);
}

TEST_CASE("crossings are interpolated between forecast points") {
  forecast_result f;
  f.method = "linear";
  f.last_t_ms = 0;
  f.last_value = 0.0;
  f.points = {{1000, 10.0, 5.0, 15.0}, {2000, 20.0, 10.0, 30.0}};
  const threshold_eta eta = time_to_threshold(f, 12.5);
  CHECK(eta.rising);
  CHECK(eta.reached);
  CHECK(eta.at_ms == 1250);
  CHECK(eta.band_reached);
  CHECK(eta.earliest_ms == 833);  // upper edge 0 -> 15 over the first second
  // Hand-made results with extreme times stay defined and clamped to the segment.
  forecast_result wild;
  wild.last_t_ms = std::numeric_limits<std::int64_t>::min();
  wild.last_value = 0.0;
  wild.points = {{std::numeric_limits<std::int64_t>::max(), 10.0, 10.0, 10.0}};
  const threshold_eta w = time_to_threshold(wild, 5.0);
  CHECK(w.reached);
  CHECK(w.at_ms > std::numeric_limits<std::int64_t>::min() / 2);
  CHECK(w.at_ms < std::numeric_limits<std::int64_t>::max() / 2);
  // Already at the threshold: reached now.
  const threshold_eta now = time_to_threshold(f, 0.0);
  CHECK(now.reached);
  CHECK(now.at_ms == 0);
}

TEST_CASE("no forecast, no crossing") {
  forecast_result failed;
  failed.error = "not enough history (3 points, need 10)";
  CHECK_FALSE(time_to_threshold(failed, 1.0).reached);
  CHECK_FALSE(time_to_threshold(forecast_result{}, 1.0).reached);
  forecast_result f;
  f.points = {{1000, 10.0, 5.0, 15.0}};
  CHECK_FALSE(time_to_threshold(f, std::numeric_limits<double>::quiet_NaN()).reached);
  CHECK_FALSE(time_to_threshold(f, std::numeric_limits<double>::infinity()).reached);
}

TEST_CASE("humanize_eta speaks like an SRE") {
  const std::int64_t from = 1'700'000'000'000;  // 22:13:20 UTC
  CHECK(humanize_eta(from, from) == "now");
  CHECK(humanize_eta(from, from - 5) == "now");
  CHECK(humanize_eta(from, from + 40'000) == "in 40s");
  CHECK(humanize_eta(from, from + 1) == "in 1s");
  CHECK(humanize_eta(from, from + 25 * minute_ms) == "in 25m");
  CHECK(humanize_eta(from, from + 4 * hour_ms + 10 * minute_ms) == "in 4h 10m, at 02:23 UTC");
  CHECK(humanize_eta(from, from + 3 * day_ms + 5 * hour_ms) == "in 3.2 days");
  CHECK(humanize_eta(from, from + 548 * day_ms) == "in 1.5 years");
  // Extreme times neither overflow nor wrap.
  CHECK(humanize_eta(std::numeric_limits<std::int64_t>::min(),
                     std::numeric_limits<std::int64_t>::max())
            .rfind("in ", 0) == 0);
  CHECK(humanize_eta(std::numeric_limits<std::int64_t>::max(),
                     std::numeric_limits<std::int64_t>::min()) == "now");
  CHECK(humanize_eta(-2 * hour_ms, -hour_ms + 30 * minute_ms).find("at 23:30 UTC") !=
        std::string::npos);
}
