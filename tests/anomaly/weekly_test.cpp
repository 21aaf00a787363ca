// The service's detector on a weekly pattern: office traffic that ramps up from 07:00 to 09:00
// and down from 17:00 to 19:00 UTC, +20 on weekdays and +2 on weekends, over a daily sine
// (amplitude 5), noise sd 1, 5-minute samples, five weeks from Monday 2014-03-31. A model of
// the day alone mistakes every Saturday for an outage and every Monday for a surge; the weekly
// model, once it has seen two weeks, expects them. Same threshold (0.6) as the daily synthetic
// tests. (Two-hour ramps: a one-hour ramp of 20 sd already alarms the daily model on a series
// that is busy every day, at the corners its half-hour slots cannot follow.)
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
constexpr std::int64_t t0_ms = 1'396'224'000'000;  // Monday 2014-03-31 00:00 UTC
constexpr std::size_t per_day = 288;
constexpr std::size_t per_week = 7 * per_day;
constexpr std::size_t weeks = 5;
constexpr unsigned seeds = 10;
// Scores are judged once the weekly model may speak: warm-up, then two full weeks.
const std::size_t judged_from = detector_options{}.warmup_samples + 2 * per_week;

// Office hours: 0 at night, 1 from 09:00 to 17:00, smooth two-hour ramps in between.
double office(std::size_t i) {
  const double h = static_cast<double>(i % per_day) / 12.0;
  const auto ramp = [](double x) {
    x = std::clamp(x, 0.0, 1.0);
    return x * x * (3.0 - 2.0 * x);
  };
  return ramp((h - 7.0) / 2.0) * (1.0 - ramp((h - 17.0) / 2.0));
}

// Noise-free value at sample index i (5-minute grid); `busy(day)` says whether that day index
// gets weekday traffic.
double shape(std::size_t i, const std::function<bool(std::size_t)>& busy) {
  const double phase = 2.0 * M_PI * static_cast<double>(i % per_day) / per_day;
  const double amplitude = busy(i / per_day) ? 20.0 : 2.0;
  return 50.0 + 5.0 * std::sin(phase) + amplitude * office(i);
}

bool weekday(std::size_t day) { return day % 7 < 5; }

std::vector<double> weekly_series(unsigned seed, const std::function<bool(std::size_t)>& busy) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> v(weeks * per_week);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = shape(i, busy) + noise(rng);
  return v;
}

std::vector<double> clean_weekly(unsigned seed) { return weekly_series(seed, weekday); }

std::vector<double> scores_of(const std::vector<double>& v) {
  detector d;
  std::vector<double> s(v.size());
  for (std::size_t i = 0; i < v.size(); ++i)
    s[i] = d.update(t0_ms + static_cast<std::int64_t>(i) * step_ms, v[i]);
  return s;
}

double max_between(const std::vector<double>& s, std::size_t from, std::size_t to) {
  double m = 0.0;
  for (std::size_t i = from; i < std::min(to, s.size()); ++i) m = std::max(m, s[i]);
  return m;
}

// Samples from `onset` to the first score above the threshold within a day, or SIZE_MAX.
std::size_t delay_of(const std::vector<double>& s, std::size_t onset) {
  for (std::size_t i = onset; i < std::min(s.size(), onset + per_day); ++i) {
    if (s[i] > threshold) return i - onset;
  }
  return SIZE_MAX;
}

}  // namespace

TEST_CASE("weekly: the test series is what it claims (weekdays busy, weekends quiet)") {
  const auto v = clean_weekly(1);
  const std::size_t noon = 12 * 12;
  constexpr std::int64_t day_ms = 86'400'000;
  CHECK((t0_ms / day_ms + 3) % 7 == 0);  // 1970-01-01 was a Thursday: day 0 is a Monday
  CHECK(weekday(0));
  CHECK_FALSE(weekday(5));  // Saturday
  CHECK(v[noon] - v[5 * per_day + noon] > 12.0);
  CHECK(v[7 * per_day + noon] - v[6 * per_day + noon] > 12.0);  // Monday after Sunday
}

TEST_CASE("weekly: five clean weeks stay below 0.6 once two weeks are learned (10 seeds)") {
  double worst = 0.0;
  for (unsigned seed = 1; seed <= seeds; ++seed) {
    const auto s = scores_of(clean_weekly(seed));
    const double m = max_between(s, judged_from, s.size());
    MESSAGE("seed " << seed << ": highest score after two weeks " << m);
    CHECK(m < threshold);
    worst = std::max(worst, m);
    // One week is not enough: the second Saturday morning still surprises the detector.
    CHECK(max_between(s, 12 * per_day, 13 * per_day) > threshold);
  }
  MESSAGE("highest score over all seeds " << worst);
}

TEST_CASE("weekly: five weeks of a daily sine (no weekly pattern) stay below 0.6 (10 seeds)") {
  // The daily synthetic series, longer: from week 3 the weekly model competes too, and must
  // not make a series without a weekly pattern noisier.
  double worst = 0.0;
  for (unsigned seed = 1; seed <= seeds; ++seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0.0, 1.0);
    std::vector<double> v(weeks * per_week);
    for (std::size_t i = 0; i < v.size(); ++i) {
      const double phase = 2.0 * M_PI * static_cast<double>(i % per_day) / per_day;
      v[i] = 50.0 + 10.0 * std::sin(phase) + noise(rng);
    }
    const auto s = scores_of(v);
    worst = std::max(worst, max_between(s, detector_options{}.warmup_samples, s.size()));
  }
  MESSAGE("highest score over all seeds " << worst);
  CHECK(worst < threshold);
}

TEST_CASE("weekly: irregular 3-7 minute intervals, dropped samples and a 30-hour gap") {
  // Scrapes jitter and fail; the collector is down from Tuesday 06:00 to Wednesday 12:00 of
  // week 4. The weekly slots count weeks, not samples, so none of this fools them.
  double worst = 0.0;
  for (unsigned seed = 1; seed <= seeds; ++seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0.0, 1.0);
    std::uniform_int_distribution<std::int64_t> interval(3 * 60 * 1000, 7 * 60 * 1000);
    std::bernoulli_distribution dropped(0.1);
    const std::int64_t gap_from =
        t0_ms + static_cast<std::int64_t>(3 * per_week + per_day + 72) * step_ms;
    const std::int64_t gap_to = gap_from + 30LL * 3600 * 1000;
    const std::int64_t end = t0_ms + static_cast<std::int64_t>(weeks * per_week) * step_ms;
    const std::int64_t judged_after = t0_ms + static_cast<std::int64_t>(judged_from) * step_ms;
    detector d;
    double m = 0.0;
    std::size_t fed = 0;
    for (std::int64_t t = t0_ms; t < end; t += interval(rng)) {
      if (dropped(rng) || (t >= gap_from && t < gap_to)) continue;
      const auto i = static_cast<std::size_t>((t - t0_ms) / step_ms);
      const double score = d.update(t, shape(i, weekday) + noise(rng));
      ++fed;
      if (t >= judged_after && fed > detector_options{}.warmup_samples) m = std::max(m, score);
    }
    MESSAGE("seed " << seed << ": highest score after two weeks " << m);
    CHECK(m < threshold);
    worst = std::max(worst, m);
  }
  MESSAGE("highest score over all seeds " << worst);
}

TEST_CASE("weekly: hourly samples (every slot pair shares one sample) stay quiet after two weeks") {
  // Hourly samples at hh:00:01 fall between two half-hour slot centres; the earlier slot
  // never holds a sample and learns only through the interpolation.
  double worst = 0.0;
  for (unsigned seed = 1; seed <= seeds; ++seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0.0, 1.0);
    detector d;
    double m = 0.0;
    const std::size_t hours = 8 * 7 * 24;
    for (std::size_t h = 0; h < hours; ++h) {
      const std::int64_t t = t0_ms + static_cast<std::int64_t>(h) * 3'600'000 + 1000;
      const double score = d.update(t, shape(h * 12, weekday) + noise(rng));
      if (h >= 3 * 7 * 24) m = std::max(m, score);
    }
    MESSAGE("seed " << seed << ": highest score from week 4 " << m);
    CHECK(m < threshold);
    worst = std::max(worst, m);
  }
  MESSAGE("highest score over all seeds " << worst);
}

namespace {

// A broken week in week 4, 10 seeds: judged from 07:00, when the ramp of a weekday begins;
// the ramp is half-way at 08:00 (12 samples) and full at 09:00 (24 samples).
struct broken_outcome {
  std::size_t detected = 0;       // seeds with a score above 0.6 within `max_delay`
  std::size_t worst_delay = 0;    // over those seeds
  std::size_t separated = 0;      // seeds whose peak that morning beats every earlier score
  double highest_before = 0.0;    // after two weeks, before the onset, over all seeds
};

broken_outcome run_broken(std::size_t day, const std::function<bool(std::size_t)>& busy,
                          std::size_t max_delay) {
  broken_outcome o;
  for (unsigned seed = 1; seed <= seeds; ++seed) {
    const auto s = scores_of(weekly_series(seed, busy));
    const std::size_t onset = day * per_day + 7 * 12;
    const double before = max_between(s, judged_from, onset);
    const double peak = max_between(s, onset, onset + 3 * 12);
    const std::size_t delay = delay_of(s, onset);
    MESSAGE("seed " << seed << ": highest before " << before << ", peak " << peak
                    << ", delay " << delay);
    o.highest_before = std::max(o.highest_before, before);
    if (peak > before) ++o.separated;
    if (delay <= max_delay) {
      ++o.detected;
      o.worst_delay = std::max(o.worst_delay, delay);
    }
  }
  MESSAGE("detected " << o.detected << "/" << seeds << ", worst delay " << o.worst_delay
                      << " samples, separated " << o.separated << "/" << seeds
                      << ", highest score before " << o.highest_before);
  return o;
}

}  // namespace

TEST_CASE("weekly: a Saturday as busy as a weekday is flagged within 15 samples (9 of 10 seeds)") {
  // Week 4, Saturday: a batch job or a bot that should not run on weekends. The daily model
  // alone calls this normal: Friday looked the same.
  const std::size_t day = 3 * 7 + 5;
  const auto o = run_broken(day, [day](std::size_t d) { return weekday(d) || d == day; }, 15);
  CHECK(o.highest_before < threshold);
  CHECK(o.detected >= 9);
  CHECK(o.worst_delay <= 15);
  CHECK(o.separated == seeds);
}

// Known limit, asserted so that a change is noticed: a traffic bump that does not come is a
// slow anomaly; as the weekly residual grows, so does the model's error scale, and the plain
// level model explains the flat day within an hour and a half (as for a daily swing that
// stops, synthetic_test.cpp). The peak still stands out from every earlier score.
TEST_CASE("weekly, known limit: a quiet Wednesday (like a weekend) reaches 0.6 in 4 of 10 seeds") {
  const std::size_t day = 3 * 7 + 2;
  const auto o = run_broken(day, [day](std::size_t d) { return weekday(d) && d != day; }, 15);
  CHECK(o.highest_before < threshold);
  CHECK(o.detected >= 4);
  CHECK(o.separated == seeds);
}
