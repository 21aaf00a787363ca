#include "forecast/forecast.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "forecast/eta.hpp"

using namespace wk::forecast;

namespace {

constexpr std::int64_t minute_ms = 60'000;
constexpr std::int64_t step_ms = 5 * minute_ms;
constexpr std::int64_t day_ms = 86'400'000;
constexpr std::int64_t t0_ms = 1'700'000'000'000;  // 2023-11-14 22:13:20 UTC
constexpr std::size_t per_day = static_cast<std::size_t>(day_ms / step_ms);

// value(i) for sample i at t0 + i * step.
template <class F>
std::vector<point> series(std::size_t n, F value) {
  std::vector<point> h;
  h.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    h.push_back({t0_ms + static_cast<std::int64_t>(i) * step_ms, value(i)});
  return h;
}

double daily_sine(std::size_t i) {
  return 10.0 *
         std::sin(2.0 * M_PI * static_cast<double>(i % per_day) / static_cast<double>(per_day));
}

// Mean absolute percentage error of forecast means against the true values that follow.
template <class F>
double mape(const forecast_result& r, std::size_t first_index, F truth) {
  double sum = 0.0;
  for (std::size_t k = 0; k < r.points.size(); ++k) {
    const double actual = truth(first_index + k);
    sum += std::fabs(r.points[k].mean - actual) / std::fabs(actual);
  }
  return 100.0 * sum / static_cast<double>(r.points.size());
}

double slope_per_ms(const forecast_result& r) {
  const auto& a = r.points.front();
  const auto& b = r.points.back();
  return (b.mean - a.mean) / static_cast<double>(b.t_ms - a.t_ms);
}

}  // namespace

TEST_CASE("linear trend is recovered within 1% by predict_linear and by Holt") {
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0.0, 0.5);
  // 0.2 per 5 minutes over two days, noise sd 0.5.
  const auto h =
      series(576, [&](std::size_t i) { return 100.0 + 0.2 * static_cast<double>(i) + noise(rng); });
  const forecast_options o{day_ms, step_ms};
  const double truth = 0.2 / static_cast<double>(step_ms);

  const forecast_result lin = forecast_linear(h, o);
  REQUIRE(lin.error.empty());
  CHECK(lin.method == "linear");
  REQUIRE(lin.points.size() == per_day);
  CHECK(lin.points.front().t_ms == h.back().t_ms + step_ms);
  CHECK(slope_per_ms(lin) == doctest::Approx(truth).epsilon(0.01));

  const forecast_result holt = forecast(h, o);
  REQUIRE(holt.error.empty());
  CHECK(holt.method == "holt");
  CHECK(slope_per_ms(holt) == doctest::Approx(truth).epsilon(0.01));
  CHECK(holt.mae == doctest::Approx(0.4).epsilon(0.25));  // E|N(0, 0.5)| = 0.4
  for (const auto& p : holt.points) CHECK(p.lower < p.mean);
}

// MAPE against the noise-free truth (noise sd 1 on values near 100).
TEST_CASE(
    "daily season plus trend: Holt-Winters MAPE over the next day below 2%, linear far worse") {
  std::mt19937 rng(2);
  std::normal_distribution<double> noise(0.0, 1.0);
  const auto truth = [](std::size_t i) {
    return 80.0 + 0.01 * static_cast<double>(i) + daily_sine(i);
  };
  const std::size_t n = 7 * per_day;
  const auto h = series(n, [&](std::size_t i) { return truth(i) + noise(rng); });
  const forecast_options o{day_ms, step_ms};

  const forecast_result hw = forecast(h, o);
  REQUIRE(hw.error.empty());
  CHECK(hw.method == "holt_winters");
  CHECK(hw.season_ms == day_ms);
  const double hw_mape = mape(hw, n, truth);
  const forecast_result lin = forecast_linear(h, o);
  const double lin_mape = mape(lin, n, truth);
  MESSAGE("next-day MAPE: holt_winters " << hw_mape << "%, linear " << lin_mape << "%");
  CHECK(hw_mape < 2.0);
  CHECK(hw_mape * 4.0 < lin_mape);
}

TEST_CASE("a weekly shape is detected when it explains more than the day") {
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0.0, 1.0);
  const std::int64_t hour = 60 * minute_ms;
  // Hourly samples over four weeks: busy weekdays, quiet weekends.
  std::vector<point> h;
  for (std::size_t i = 0; i < 28 * 24; ++i) {
    const bool weekend = (i / 24) % 7 >= 5;
    h.push_back(
        {t0_ms + static_cast<std::int64_t>(i) * hour, (weekend ? 20.0 : 60.0) + noise(rng)});
  }
  const forecast_result r = forecast(h, {7 * day_ms, hour});
  REQUIRE(r.error.empty());
  CHECK(r.method == "holt_winters");
  CHECK(r.season_ms == 7 * day_ms);
  double worst = 0.0;
  for (std::size_t k = 0; k < r.points.size(); ++k) {
    const std::size_t i = 28 * 24 + k;
    worst = std::max(worst, std::fabs(r.points[k].mean - (((i / 24) % 7 >= 5) ? 20.0 : 60.0)));
  }
  CHECK(worst < 5.0);
}

TEST_CASE("bands hold about 95% of held-out noisy points (between 85% and 99%)") {
  SUBCASE("seasonal") {
    for (unsigned seed : {4u, 5u, 6u}) {
      std::mt19937 rng(seed);
      std::normal_distribution<double> noise(0.0, 3.0);
      const auto truth = [](std::size_t i) { return 50.0 + daily_sine(i); };
      const std::size_t n = 5 * per_day;
      std::vector<double> all(n + per_day);
      for (std::size_t i = 0; i < all.size(); ++i) all[i] = truth(i) + noise(rng);
      const auto h = series(n, [&](std::size_t i) { return all[i]; });
      const forecast_result r = forecast(h, {day_ms, step_ms});
      REQUIRE(r.error.empty());
      CHECK(r.method == "holt_winters");
      std::size_t inside = 0;
      for (std::size_t k = 0; k < r.points.size(); ++k) {
        inside += all[n + k] >= r.points[k].lower && all[n + k] <= r.points[k].upper;
      }
      const double share = static_cast<double>(inside) / static_cast<double>(r.points.size());
      MESSAGE("seed " << seed << ": " << 100.0 * share << "% inside the 95% band");
      CHECK(share >= 0.85);
      CHECK(share <= 0.99);
    }
  }
  SUBCASE("trend, and a wider confidence widens the band") {
    std::mt19937 rng(7);
    std::normal_distribution<double> noise(0.0, 2.0);
    std::vector<double> all(3 * per_day);
    for (std::size_t i = 0; i < all.size(); ++i)
      all[i] = 10.0 + 0.05 * static_cast<double>(i) + noise(rng);
    const std::size_t n = 2 * per_day;
    const auto h = series(n, [&](std::size_t i) { return all[i]; });
    const forecast_result r = forecast(h, {day_ms, step_ms});
    REQUIRE(r.error.empty());
    std::size_t inside = 0;
    for (std::size_t k = 0; k < r.points.size(); ++k) {
      inside += all[n + k] >= r.points[k].lower && all[n + k] <= r.points[k].upper;
    }
    const double share = static_cast<double>(inside) / static_cast<double>(r.points.size());
    MESSAGE("trend: " << 100.0 * share << "% inside the 95% band");
    CHECK(share >= 0.85);
    CHECK(share <= 0.99);
    // Bands grow with the horizon.
    const auto width = [](const forecast_point& p) { return p.upper - p.lower; };
    CHECK(width(r.points.back()) > width(r.points.front()));
    forecast_options wide{day_ms, step_ms};
    wide.confidence = 0.99;
    const forecast_result r99 = forecast(h, wide);
    CHECK(width(r99.points.front()) ==
          doctest::Approx(width(r.points.front()) * 2.5758 / 1.9600).epsilon(0.001));
  }
}

TEST_CASE("gaps and NaN or Inf samples are skipped") {
  std::mt19937 rng(8);
  std::normal_distribution<double> noise(0.0, 0.2);
  std::vector<point> h;
  for (std::size_t i = 0; i < 600; ++i) {
    if (i >= 200 && i < 272) continue;  // a six-hour outage
    double v = 5.0 + 0.1 * static_cast<double>(i) + noise(rng);
    if (i % 17 == 0) v = std::numeric_limits<double>::quiet_NaN();
    if (i % 23 == 0) v = std::numeric_limits<double>::infinity();
    if (i % 29 == 0) v = -std::numeric_limits<double>::infinity();
    h.push_back({t0_ms + static_cast<std::int64_t>(i) * step_ms, v});
  }
  // Irregular timing: a few repeated and jittered timestamps land in the same buckets.
  h[10].t_ms = h[9].t_ms;
  h[50].t_ms += 40'000;
  for (const auto& r : {forecast(h, {day_ms, step_ms}), forecast_linear(h, {day_ms, step_ms})}) {
    REQUIRE_MESSAGE(r.error.empty(), r.error);
    for (const auto& p : r.points) {
      CHECK(std::isfinite(p.mean));
      CHECK(p.lower <= p.mean);
      CHECK(p.mean <= p.upper);
    }
    CHECK(slope_per_ms(r) == doctest::Approx(0.1 / static_cast<double>(step_ms)).epsilon(0.02));
    // The value a day after the last sample (index 599 + 288).
    CHECK(r.points.back().mean == doctest::Approx(5.0 + 0.1 * 887.0).epsilon(0.02));
  }
}

TEST_CASE("too little history is a clear error") {
  const auto h = series(9, [](std::size_t i) { return static_cast<double>(i); });
  const forecast_result r = forecast(h, {day_ms, step_ms});
  CHECK(r.error == "not enough history (9 points, need 10)");
  CHECK(r.points.empty());
  CHECK(forecast_linear(h, {day_ms, step_ms}).error == "not enough history (9 points, need 10)");
  // NaNs do not count as history.
  auto with_nan = series(12, [](std::size_t i) { return static_cast<double>(i); });
  with_nan[3].v = std::numeric_limits<double>::quiet_NaN();
  with_nan[4].v = std::numeric_limits<double>::quiet_NaN();
  with_nan[5].v = std::numeric_limits<double>::quiet_NaN();
  CHECK(forecast(with_nan, {day_ms, step_ms}).error == "not enough history (9 points, need 10)");
  CHECK(forecast({}, {day_ms, step_ms}).error == "not enough history (0 points, need 10)");
  // Ten samples in one instant give no time axis.
  std::vector<point> same(10, point{t0_ms, 1.0});
  same[3].v = 2.0;
  CHECK(forecast(same, {day_ms, step_ms}).error ==
        "not enough history (all samples share one timestamp)");
  CHECK(forecast_linear(same, {day_ms, step_ms}).error ==
        "not enough history (all samples share one timestamp)");
}

TEST_CASE("bad options and unordered history are rejected, never crash") {
  const auto h = series(100, [](std::size_t i) { return static_cast<double>(i % 7); });
  CHECK(forecast(h, {day_ms, 0}).error == "step_ms must be positive");
  CHECK(forecast(h, {day_ms, -5}).error == "step_ms must be positive");
  CHECK(forecast(h, {minute_ms, step_ms}).error == "horizon_ms must be at least step_ms");
  CHECK(forecast(h, {day_ms, 1}).error.find("at most 100000") != std::string::npos);
  forecast_options bad{day_ms, step_ms};
  bad.confidence = 1.0;
  CHECK(forecast_linear(h, bad).error == "confidence must lie in (0, 1)");
  bad.confidence = std::numeric_limits<double>::quiet_NaN();
  CHECK(forecast(h, bad).error == "confidence must lie in (0, 1)");
  bad = {day_ms, step_ms};
  bad.season_ms = -1;
  CHECK(forecast(h, bad).error == "season_ms must be >= 0");
  auto unordered = h;
  std::swap(unordered[40], unordered[41]);
  CHECK(forecast(unordered, {day_ms, step_ms}).error.find("ascending") != std::string::npos);
  // Horizons beyond int64 time, and ones far too long for the sample interval.
  std::vector<point> late;
  for (std::int64_t i = 0; i < 100; ++i) {
    late.push_back({std::numeric_limits<std::int64_t>::max() - day_ms + i * step_ms,
                    static_cast<double>(i % 7)});
  }
  CHECK(forecast(late, {2 * day_ms, step_ms}).error == "horizon runs past the 64-bit time range");
  CHECK(forecast_linear(late, {2 * day_ms, step_ms}).error ==
        "horizon runs past the 64-bit time range");
  std::vector<point> fine;
  for (int i = 0; i < 20; ++i) fine.push_back({i, static_cast<double>(i % 3)});  // 1 ms apart
  CHECK(forecast(fine, {365 * day_ms, day_ms}).error.find("sample intervals") != std::string::npos);
}

TEST_CASE("hostile values and timestamps give a result or an error, never NaN") {
  const double big = std::numeric_limits<double>::max();
  const auto h = series(200, [&](std::size_t i) { return i % 2 ? big : -big; });
  for (const auto& r : {forecast(h, {day_ms, step_ms}), forecast_linear(h, {day_ms, step_ms})}) {
    if (r.error.empty()) {
      for (const auto& p : r.points) {
        CHECK(std::isfinite(p.mean));
        CHECK(std::isfinite(p.lower));
        CHECK(std::isfinite(p.upper));
      }
    } else {
      CHECK(r.points.empty());
    }
  }
  std::vector<point> wide;
  for (int i = 0; i < 10; ++i) {
    wide.push_back({i < 5 ? std::numeric_limits<std::int64_t>::min() + i
                          : std::numeric_limits<std::int64_t>::max() - 10 + i,
                    static_cast<double>(i)});
  }
  CHECK(forecast(wide, {day_ms, step_ms}).error.find("64-bit") != std::string::npos);
  // Ten samples a century apart: a coarse grid, not a huge allocation.
  std::vector<point> sparse;
  for (int i = 0; i < 10; ++i)
    sparse.push_back(
        {t0_ms + i * (i == 9 ? 100LL * 365 * day_ms : minute_ms), static_cast<double>(i)});
  CHECK(forecast(sparse, {day_ms, minute_ms}).error ==
        "not enough history (2 distinct sample intervals, need 10)");
}

TEST_CASE("a constant series gives a flat forecast with a zero-width band") {
  const auto h = series(500, [](std::size_t) { return 42.5; });
  for (const auto& r : {forecast(h, {day_ms, step_ms}), forecast_linear(h, {day_ms, step_ms})}) {
    REQUIRE(r.error.empty());
    CHECK(r.mae == 0.0);
    REQUIRE(r.points.size() == per_day);
    for (const auto& p : r.points) {
      CHECK(p.mean == 42.5);
      CHECK(p.lower == 42.5);
      CHECK(p.upper == 42.5);
    }
  }
  CHECK(forecast(h, {day_ms, step_ms}).method == "holt");
  // Zero is constant too.
  const auto zeros = series(50, [](std::size_t) { return 0.0; });
  CHECK(forecast(zeros, {day_ms, step_ms}).points.back().upper == 0.0);
}

TEST_CASE("an explicit season is used when two of it fit in the history") {
  std::mt19937 rng(9);
  std::normal_distribution<double> noise(0.0, 0.3);
  const std::int64_t period = 2 * 60 * minute_ms;  // a two-hour batch cycle
  const auto shape = [](std::size_t i) { return (i % 24) < 6 ? 30.0 : 10.0; };
  const auto h = series(24 * 10, [&](std::size_t i) { return shape(i) + noise(rng); });
  forecast_options o{period, step_ms};
  o.season_ms = period;
  const forecast_result r = forecast(h, o);
  REQUIRE(r.error.empty());
  CHECK(r.method == "holt_winters");
  CHECK(r.season_ms == period);
  for (std::size_t k = 0; k < r.points.size(); ++k) {
    CHECK(r.points[k].mean == doctest::Approx(shape(240 + k)).epsilon(0.1));
  }
  // Too short for two seasons: Holt instead, and the result says so.
  o.season_ms = 7 * day_ms;
  CHECK(forecast(h, o).method == "holt");
}

TEST_CASE("white noise and a random walk are not taken for seasons") {
  std::mt19937 rng(10);
  std::normal_distribution<double> noise(0.0, 1.0);
  const auto white = series(3 * per_day, [&](std::size_t) { return 20.0 + noise(rng); });
  CHECK(forecast(white, {day_ms, step_ms}).method == "holt");
  double walk = 0.0;
  const auto rw = series(3 * per_day, [&](std::size_t) { return walk += noise(rng); });
  CHECK(forecast(rw, {day_ms, step_ms}).method == "holt");
}

TEST_CASE("random hostile histories: an error or finite, ordered bands, never a crash") {
  std::mt19937_64 rng(11);
  const auto pick = [&](std::uint64_t n) { return static_cast<std::size_t>(rng() % n); };
  const double specials[] = {std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::max(),
                             -std::numeric_limits<double>::max(),
                             std::numeric_limits<double>::denorm_min(),
                             0.0,
                             -0.0,
                             1e300,
                             -1e-300};
  std::size_t fitted = 0;
  for (int round = 0; round < 400; ++round) {
    const std::size_t n = pick(3000);
    const std::int64_t step = std::int64_t{1} << pick(40);  // 1 ms .. ~17 years
    std::int64_t t = static_cast<std::int64_t>(rng() >> pick(64));
    std::vector<point> h;
    std::normal_distribution<double> noise(0.0,
                                           std::pow(10.0, static_cast<double>(pick(20)) - 10.0));
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t kind = pick(100);
      double v = 100.0 + noise(rng);
      if (kind < 3) v = specials[pick(std::size(specials))];
      if (kind >= 3 && kind < 5 && t < std::numeric_limits<std::int64_t>::max() / 2)
        t += step * 1000;  // gap
      if (kind >= 5 && kind < 8)
        t += 0;  // repeated timestamp
      else if (t < std::numeric_limits<std::int64_t>::max() - step)
        t += step;
      h.push_back({t, v});
    }
    forecast_options o{step * static_cast<std::int64_t>(1 + pick(500)), step};
    if (o.horizon_ms / o.step_ms == 0) continue;
    o.confidence = 0.5 + 0.49 * static_cast<double>(pick(100)) / 100.0;
    if (pick(4) == 0) o.season_ms = step * static_cast<std::int64_t>(pick(1000));
    for (const auto& r : {forecast(h, o), forecast_linear(h, o)}) {
      if (!r.error.empty()) {
        CHECK(r.points.empty());
        continue;
      }
      ++fitted;
      CHECK(r.points.size() == static_cast<std::size_t>(o.horizon_ms / o.step_ms));
      for (const auto& p : r.points) {
        REQUIRE(std::isfinite(p.mean));
        REQUIRE(p.lower <= p.mean);
        REQUIRE(p.mean <= p.upper);
      }
      const threshold_eta eta = time_to_threshold(r, r.last_value + 1.0);
      if (eta.reached) CHECK(humanize_eta(r.last_t_ms, eta.at_ms).size() > 2);
    }
  }
  MESSAGE(fitted << " of 800 random fits produced a forecast");
  CHECK(fitted > 200);
}
