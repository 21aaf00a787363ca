#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "anomaly/detector.hpp"

using wk::anomaly::detector;
using wk::anomaly::detector_options;

namespace {

constexpr std::int64_t step_ms = 5 * 60 * 1000;
constexpr std::int64_t t0_ms = 1'396'310'400'000;  // 2014-04-01 00:00 UTC
// Clean data must stay well below the NAB-optimised threshold (~0.83 on nab-dev); anomalies
// must reach it.
constexpr double quiet = 0.5;
constexpr double alarm = 0.9;
constexpr std::size_t onset = 2000;  // ~7 days of 5-minute samples

// Daily sine of amplitude 10 around 50 with Gaussian noise (sd 1), seeded.
std::vector<double> seasonal(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double phase = 2.0 * M_PI * static_cast<double>(i % 288) / 288.0;
    v[i] = 50.0 + 10.0 * std::sin(phase) + noise(rng);
  }
  return v;
}

std::vector<double> run(const std::vector<double>& v) {
  detector d;
  std::vector<double> scores;
  for (std::size_t i = 0; i < v.size(); ++i) {
    scores.push_back(d.update(t0_ms + static_cast<std::int64_t>(i) * step_ms, v[i]));
  }
  return scores;
}

double max_in(const std::vector<double>& s, std::size_t from, std::size_t to) {
  double m = 0.0;
  for (std::size_t i = from; i < to && i < s.size(); ++i) m = std::max(m, s[i]);
  return m;
}

// Index of the first alarm at or after `from`, or SIZE_MAX.
std::size_t first_alarm(const std::vector<double>& s, std::size_t from) {
  for (std::size_t i = from; i < s.size(); ++i) {
    if (s[i] >= alarm) return i;
  }
  return SIZE_MAX;
}

}  // namespace

TEST_CASE("detector stays silent during warm-up and scores in [0, 1]") {
  std::vector<double> v = seasonal(1000, 1);
  v[20] = 1e6;  // even an absurd sample in warm-up is not reported
  detector_options opt;
  const auto scores = run(v);
  for (std::size_t i = 0; i < opt.warmup_samples; ++i) CHECK(scores[i] == 0.0);
  for (double s : scores) {
    CHECK(s >= 0.0);
    CHECK(s <= 1.0);
  }
}

TEST_CASE("detector raises no alarm on clean seasonal data after warm-up") {
  for (unsigned seed : {1u, 2u, 3u}) {
    const auto scores = run(seasonal(10 * 288, seed));
    CHECK_MESSAGE(max_in(scores, 0, scores.size()) < quiet, "seed " << seed);
  }
}

TEST_CASE("detector flags a spike at once") {
  auto v = seasonal(3000, 4);
  v[onset] += 12.0;
  const auto scores = run(v);
  CHECK(max_in(scores, 0, onset) < quiet);
  CHECK(first_alarm(scores, onset) == onset);
}

TEST_CASE("detector stops alarming on a spike that keeps recurring, not on a bigger one") {
  // A +40 spike every 100 samples (8.3 h): news at first, routine after a few days. Without
  // the recurrence discount each one beats the decaying record and alarms.
  for (unsigned seed : {1u, 2u, 11u}) {
    auto v = seasonal(4000, seed);
    for (std::size_t i = 500; i < v.size(); i += 100) v[i] += i == 3500 ? 120.0 : 40.0;
    const auto scores = run(v);
    detector_options no_discount;
    no_discount.recurrence_window = 0.0;
    detector plain(no_discount);
    std::size_t plain_alarms = 0;
    double recurring_max = 0.0;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const double s = plain.update(t0_ms + static_cast<std::int64_t>(i) * step_ms, v[i]);
      if (i >= 1500 && i < 3500 && i % 100 == 0) {
        plain_alarms += s >= alarm ? 1 : 0;
        recurring_max = std::max(recurring_max, scores[i]);
      }
    }
    CHECK_MESSAGE(scores[500] >= alarm, "seed " << seed);
    CHECK_MESSAGE(plain_alarms >= 15, "seed " << seed);
    CHECK_MESSAGE(recurring_max < 0.8, "seed " << seed);
    // Three times the usual size is news again.
    CHECK_MESSAGE(scores[3500] >= alarm, "seed " << seed);
  }
}

TEST_CASE("detector flags a level shift within a few samples, then calms down") {
  auto v = seasonal(5000, 5);
  for (std::size_t i = onset; i < v.size(); ++i) v[i] += 8.0;
  const auto scores = run(v);
  CHECK(max_in(scores, 0, onset) < quiet);
  CHECK(first_alarm(scores, onset) <= onset + 3);
  // The new level becomes normal: once the daily profile has forgotten the transition
  // (clipped learning, ~2 days) the detector is quiet again.
  CHECK(max_in(scores, onset + 3 * 288, v.size()) < quiet);
}

TEST_CASE("detector flags a variance increase within an hour") {
  auto v = seasonal(3000, 6);
  std::mt19937 rng(60);
  std::normal_distribution<double> wide(0.0, 6.0);
  for (std::size_t i = onset; i < v.size(); ++i) v[i] += wide(rng);
  const auto scores = run(v);
  CHECK(max_in(scores, 0, onset) < quiet);
  CHECK(first_alarm(scores, onset) <= onset + 12);
}

TEST_CASE("detector models a counter by its rate and survives a reset") {
  std::mt19937 rng(7);
  std::poisson_distribution<int> requests(100);
  std::vector<double> v;
  double total = 0.0;
  for (std::size_t i = 0; i < 3000; ++i) {
    if (i == 1500) total = 0.0;  // process restart
    total += requests(rng) * (i >= 2500 ? 4 : 1);  // traffic burst at 2500
    v.push_back(total);
  }
  const auto scores = run(v);
  CHECK(max_in(scores, 0, 2500) < quiet);
  CHECK(first_alarm(scores, 2500) <= 2501);
}

TEST_CASE("detector gives up the counter model when a rising gauge falls back") {
  // A slow wave rises through the counter decision, then falls gently: a gauge.
  // Noise small enough that the early rise never dips.
  std::mt19937 rng(10);
  std::uniform_real_distribution<double> noise(-0.1, 0.1);
  std::vector<double> v;
  for (std::size_t i = 0; i < 3000; ++i) {
    v.push_back(300.0 + 200.0 * std::sin(static_cast<double>(i) / 400.0) + noise(rng));
  }
  v[2500] += 10.0;
  const auto scores = run(v);
  CHECK(max_in(scores, 0, 2500) < quiet);
  CHECK(first_alarm(scores, 2500) == 2500);
}

TEST_CASE("detector handles gaps, repeated timestamps and non-finite values") {
  detector d;
  std::mt19937 rng(8);
  std::normal_distribution<double> noise(0.0, 1.0);
  double worst = 0.0;
  std::int64_t t = t0_ms;
  for (std::size_t i = 0; i < 3000; ++i) {
    t += (i == 1500 ? 6 * 3600 * 1000 : step_ms);  // a six-hour scrape gap
    const double phase = 2.0 * M_PI * static_cast<double>((t - t0_ms) % 86'400'000) / 86'400'000.0;
    const double v = 50.0 + 10.0 * std::sin(phase) + noise(rng);
    if (i % 97 == 0) CHECK(d.update(t, std::numeric_limits<double>::quiet_NaN()) == 0.0);
    if (i % 89 == 0) CHECK(d.update(t, std::numeric_limits<double>::infinity()) == 0.0);
    if (i % 101 == 0) CHECK(d.update(t, v) < quiet);  // a repeated timestamp
    const double s = d.update(t, v);
    CHECK(std::isfinite(s));
    worst = std::max(worst, s);
  }
  CHECK(worst < quiet);
  // A flat series is quiet, and a change on it is an anomaly.
  detector flat;
  for (int i = 0; i < 500; ++i) CHECK(flat.update(t0_ms + i * step_ms, 45.0) == 0.0);
  CHECK(flat.update(t0_ms + 500 * step_ms, 46.0) >= alarm);
}

TEST_CASE("detector survives values at the edge of the double range") {
  detector d;
  const double huge = std::numeric_limits<double>::max();
  for (int i = 0; i < 1000; ++i) {
    const double v = (i % 3 == 0) ? huge : (i % 3 == 1 ? -huge : 1.0);
    const double s = d.update(t0_ms + i * step_ms, v);
    CHECK(s >= 0.0);
    CHECK(s <= 1.0);
  }
  // It recovers: a clean series afterwards stays quiet once warmed up again.
  const auto v = seasonal(3000, 11);
  double worst = 0.0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    worst = std::max(worst, d.update(t0_ms + static_cast<std::int64_t>(1000 + i) * step_ms, v[i]));
  }
  CHECK(worst < quiet);
}

TEST_CASE("detector memory is constant and small") {
  detector d;
  const std::size_t before = d.memory_bytes();
  const auto v = seasonal(5000, 9);
  for (std::size_t i = 0; i < v.size(); ++i) d.update(t0_ms + static_cast<std::int64_t>(i) * step_ms, v[i]);
  CHECK(d.memory_bytes() == before);
  // 48 daily slots (double + visit count) and 7 x 48 weekly slots (float + week count): 2512
  // bytes on x86-64; 100,000 series cost about 250 MB.
  CHECK(before <= 2560);
  CHECK(d.samples_seen() == v.size());
}

TEST_CASE("detector rejects out-of-range options") {
  detector_options bad;
  bad.level_alpha = 0.0;
  CHECK_THROWS_AS(detector{bad}, std::invalid_argument);
  bad = {};
  bad.record_decay = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(detector{bad}, std::invalid_argument);
  bad = {};
  bad.record_margin = 0.5;
  CHECK_THROWS_AS(detector{bad}, std::invalid_argument);
  bad = {};
  bad.recurrence_alpha = 0.0;
  CHECK_THROWS_AS(detector{bad}, std::invalid_argument);
  bad = {};
  bad.recurrence_ratio = 0.5;
  CHECK_THROWS_AS(detector{bad}, std::invalid_argument);
  bad = {};
  bad.recurrence_window = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(detector{bad}, std::invalid_argument);
  bad = {};
  bad.recurrence_surprise = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(detector{bad}, std::invalid_argument);
}

TEST_CASE("detector survives hostile timestamps (extremes, backwards, repeats)") {
  // The weekly slots, pass counting and interval estimate all take differences of
  // timestamps: none of them may overflow or index outside the profiles.
  detector d;
  const std::int64_t extremes[] = {std::numeric_limits<std::int64_t>::min(),
                                   std::numeric_limits<std::int64_t>::max(), -1, 0,
                                   -7 * 86'400'000LL - 1, t0_ms};
  std::mt19937 rng(12);
  std::normal_distribution<double> noise(0.0, 1.0);
  for (int i = 0; i < 3000; ++i) {
    const std::int64_t t = extremes[static_cast<std::size_t>(i) % 6];
    const double s = d.update(t, 50.0 + noise(rng));
    CHECK(s >= 0.0);
    CHECK(s <= 1.0);
  }
  // Negative timestamps (before 1970) map to slots like any others.
  const auto v = seasonal(3000, 13);
  detector fresh;
  double worst = 0.0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    worst = std::max(worst, fresh.update(-t0_ms + static_cast<std::int64_t>(i) * step_ms, v[i]));
  }
  CHECK(worst < quiet);
}
