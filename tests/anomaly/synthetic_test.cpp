// The service's detector, unchanged, on generated series: a daily sine (amplitude 10, noise sd 1,
// 5-minute samples) with one injected anomaly each. Every scenario runs over 12 seeds with the
// onset at a different time of day; delays are in samples after the onset (5 minutes each).
//
// Threshold 0.6, picked from the score distribution: over 20 seeds x 14 clean days (77,640
// scored samples) the median score is 1e-4, p99 0.07, p99.9 0.19, p99.99 0.39 and the maximum
// 0.55, so 0.6 is the lowest round threshold that clean data never reaches. NAB's threshold
// optimisation on nab-dev lands near 0.83; 0.6 shows which anomalies the detector sees at all.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "anomaly/detector.hpp"

using wk::anomaly::detector;
using wk::anomaly::detector_options;

namespace {

constexpr double threshold = 0.6;
constexpr std::int64_t step_ms = 5 * 60 * 1000;
constexpr std::int64_t t0_ms = 1'396'310'400'000;  // 2014-04-01 00:00 UTC
constexpr std::size_t per_day = 288;
constexpr std::size_t days = 14;
constexpr unsigned seeds = 12;
const std::size_t warmup = detector_options{}.warmup_samples;

double daily(std::size_t i) {
  return 10.0 *
         std::sin(2.0 * M_PI * static_cast<double>(i % per_day) / static_cast<double>(per_day));
}

std::vector<double> clean_series(unsigned seed, std::size_t n = days * per_day) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = 50.0 + daily(i) + noise(rng);
  return v;
}

std::vector<double> scores_of(const std::vector<double>& v) {
  detector d;
  std::vector<double> s(v.size());
  for (std::size_t i = 0; i < v.size(); ++i)
    s[i] = d.update(t0_ms + static_cast<std::int64_t>(i) * step_ms, v[i]);
  return s;
}

struct outcome {
  std::size_t misses = 0;       // seeds with no score above the threshold within a day
  std::size_t worst_delay = 0;  // over the seeds that detected
  double lowest_peak = 1.0;     // smallest peak score within a day of the onset
  double highest_before = 0.0;  // largest score before the onset, after warm-up
};

// Onset on day 8 at a time of day that moves with the seed, unless `onset_of` says otherwise.
using injector = std::function<void(std::vector<double>& v, std::size_t onset, std::mt19937& rng)>;

outcome run_scenario(
    const injector& inject, const std::function<std::size_t(unsigned)>& onset_of =
                                [](unsigned seed) { return 8 * per_day + 23 * seed; }) {
  outcome o;
  for (unsigned seed = 1; seed <= seeds; ++seed) {
    std::vector<double> v = clean_series(seed);
    std::mt19937 rng(seed + 100);
    const std::size_t onset = onset_of(seed);
    inject(v, onset, rng);
    const std::vector<double> s = scores_of(v);
    for (std::size_t i = warmup; i < onset; ++i)
      o.highest_before = std::max(o.highest_before, s[i]);
    double peak = 0.0;
    std::size_t delay = SIZE_MAX;
    for (std::size_t i = onset; i < std::min(s.size(), onset + per_day); ++i) {
      peak = std::max(peak, s[i]);
      if (delay == SIZE_MAX && s[i] > threshold) delay = i - onset;
    }
    o.lowest_peak = std::min(o.lowest_peak, peak);
    if (delay == SIZE_MAX)
      ++o.misses;
    else
      o.worst_delay = std::max(o.worst_delay, delay);
  }
  return o;
}

void report(const outcome& o) {
  MESSAGE("misses " << o.misses << "/" << seeds << ", worst delay " << o.worst_delay
                    << " samples, lowest peak " << o.lowest_peak << ", highest score before "
                    << o.highest_before);
}

}  // namespace

TEST_CASE(
    "synthetic: 14 clean seasonal days stay below 0.6 after warm-up (max 0.55 over 20 seeds)") {
  std::vector<double> all;
  for (unsigned seed = 1; seed <= 20; ++seed) {
    const auto s = scores_of(clean_series(seed));
    all.insert(all.end(), s.begin() + static_cast<std::ptrdiff_t>(warmup), s.end());
  }
  std::sort(all.begin(), all.end());
  const auto q = [&](double p) {
    return all[static_cast<std::size_t>(p * static_cast<double>(all.size() - 1))];
  };
  MESSAGE("clean scores: p50 " << q(0.5) << " p99 " << q(0.99) << " p99.9 " << q(0.999)
                               << " p99.99 " << q(0.9999) << " max " << all.back());
  CHECK(all.back() < threshold);
  CHECK(q(0.999) < 0.25);
}

TEST_CASE("synthetic: a +10 sd spike is flagged at once (delay 0)") {
  const outcome o = run_scenario([](auto& v, std::size_t onset, auto&) { v[onset] += 10.0; });
  report(o);
  CHECK(o.highest_before < threshold);
  CHECK(o.misses == 0);
  CHECK(o.worst_delay == 0);
  CHECK(o.lowest_peak > 0.95);
}

TEST_CASE("synthetic: level shifts of +10 and -8 sd are flagged at once (delay 0)") {
  for (const double shift : {10.0, -8.0}) {
    const outcome o = run_scenario([shift](auto& v, std::size_t onset, auto&) {
      for (std::size_t i = onset; i < v.size(); ++i) v[i] += shift;
    });
    report(o);
    CHECK(o.highest_before < threshold);
    CHECK(o.misses == 0);
    CHECK(o.worst_delay == 0);
  }
}

TEST_CASE("synthetic: a trend change of 2 sd per sample is flagged within 4 samples (20 min)") {
  const outcome o = run_scenario([](auto& v, std::size_t onset, auto&) {
    for (std::size_t i = onset; i < v.size(); ++i) v[i] += 2.0 * static_cast<double>(i - onset);
  });
  report(o);
  CHECK(o.highest_before < threshold);
  CHECK(o.misses == 0);
  CHECK(o.worst_delay <= 4);
}

TEST_CASE("synthetic: a variance change (noise sd 1 -> 8) is flagged within 4 samples") {
  const outcome o = run_scenario([](auto& v, std::size_t onset, auto& rng) {
    std::normal_distribution<double> extra(0.0, std::sqrt(63.0));
    for (std::size_t i = onset; i < v.size(); ++i) v[i] += extra(rng);
  });
  report(o);
  CHECK(o.highest_before < threshold);
  CHECK(o.misses == 0);
  CHECK(o.worst_delay <= 4);
}

TEST_CASE("synthetic: a season that flips at the daily peak is flagged within 1 sample") {
  // The daily cycle inverts (a job scheduled at the wrong hour, a time-zone change), near
  // the peak of the day, where the break shows at once.
  const outcome o = run_scenario(
      [](auto& v, std::size_t onset, auto&) {
        for (std::size_t i = onset; i < v.size(); ++i) v[i] -= 2.0 * daily(i);
      },
      [](unsigned seed) { return 8 * per_day + 60 + 2 * seed; });
  report(o);
  CHECK(o.highest_before < threshold);
  CHECK(o.misses == 0);
  CHECK(o.worst_delay <= 1);
}

// Known limits, asserted so that a change in them is noticed (issue 6 reports them): when
// the daily swing fades out smoothly, the plain level model explains the new shape and the
// seasonal model's misses are never surprising; a trend that grows by half a noise sd per
// sample or less is absorbed by the Holt trend.
TEST_CASE("synthetic, known limit: a daily swing that stops is flagged on at most 2 of 12 days") {
  const outcome o = run_scenario(
      [](auto& v, std::size_t onset, auto&) {
        for (std::size_t i = onset; i < v.size(); ++i) v[i] -= daily(i);
      },
      [](unsigned seed) { return 9 * per_day + seed % 3; });
  report(o);
  CHECK(o.highest_before < threshold);
  CHECK(o.misses >= seeds - 2);
}

TEST_CASE("synthetic, known limit: a trend of 0.2 sd per sample is absorbed, not flagged") {
  const outcome o = run_scenario([](auto& v, std::size_t onset, auto&) {
    for (std::size_t i = onset; i < v.size(); ++i) v[i] += 0.2 * static_cast<double>(i - onset);
  });
  report(o);
  CHECK(o.misses == seeds);
}

TEST_CASE("synthetic: counter resets change no score (same as the counter without resets)") {
  // Requests per 5 minutes follow the daily cycle; the process restarts at days 3, 6.5 and 11.
  // The rate itself is Poisson, whose rare 5-sd increments may score on their own: the claim
  // here is that the resets add nothing.
  for (unsigned seed = 1; seed <= 6; ++seed) {
    std::mt19937 rng(seed);
    std::vector<double> with_resets, without;
    std::vector<std::size_t> resets{3 * per_day, 6 * per_day + 144, 11 * per_day + 7 * seed};
    double total = 0.0, plain = 0.0;
    for (std::size_t i = 0; i < days * per_day; ++i) {
      if (std::find(resets.begin(), resets.end(), i) != resets.end()) total = 0.0;
      std::poisson_distribution<int> requests(200.0 + 10.0 * daily(i));
      const int n = requests(rng);
      total += n;
      plain += n;
      with_resets.push_back(total);
      without.push_back(plain);
    }
    const auto s = scores_of(with_resets);
    const auto base = scores_of(without);
    double differ = 0.0, near_reset = 0.0;
    for (std::size_t i = 0; i < s.size(); ++i) differ = std::max(differ, std::fabs(s[i] - base[i]));
    for (std::size_t r : resets) {
      for (std::size_t i = r; i < r + 12; ++i) near_reset = std::max(near_reset, s[i]);
    }
    MESSAGE("seed " << seed << ": highest score within an hour of a reset " << near_reset);
    CHECK(differ < 1e-9);
    CHECK(near_reset < threshold);
  }
}
