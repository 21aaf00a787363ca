#include "forecast/eta.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace wk::forecast {

namespace {

constexpr std::int64_t minute_ms = 60'000;
constexpr std::int64_t hour_ms = 60 * minute_ms;
constexpr std::int64_t day_ms = 24 * hour_ms;

// Time at which the line from (t0, v0) to (t1, v1) reaches `level`, clamped to the segment.
// 128-bit arithmetic: any pair of int64 times, even from a hand-made result, stays defined.
std::int64_t crossing_time(std::int64_t t0, double v0, std::int64_t t1, double v1, double level) {
  const double f = v1 != v0 ? (level - v0) / (v1 - v0) : 1.0;
  if (!(f > 0.0)) return t0;
  if (f >= 1.0) return t1;
  const __int128 span = static_cast<__int128>(t1) - t0;
  const __int128 t = t0 + static_cast<__int128>(std::round(f * static_cast<double>(span)));
  const __int128 lo = span >= 0 ? t0 : t1;
  const __int128 hi = span >= 0 ? t1 : t0;
  return static_cast<std::int64_t>(std::clamp(t, lo, hi));
}

}  // namespace

threshold_eta time_to_threshold(const forecast_result& f, double threshold) {
  threshold_eta r;
  if (!f.error.empty() || f.points.empty() || !std::isfinite(threshold)) return r;
  r.rising = threshold > f.last_value;
  const auto crossed = [&](double v) { return r.rising ? v >= threshold : v <= threshold; };
  if (threshold == f.last_value) {
    r.reached = r.band_reached = true;
    r.at_ms = r.earliest_ms = f.last_t_ms;
    return r;
  }
  // The forecast starts from the model's current value with no spread.
  std::int64_t prev_t = f.last_t_ms;
  double prev_mean = f.last_value;
  double prev_edge = f.last_value;
  for (const auto& p : f.points) {
    const double edge = r.rising ? p.upper : p.lower;
    if (!r.reached && crossed(p.mean)) {
      r.reached = true;
      r.at_ms = crossing_time(prev_t, prev_mean, p.t_ms, p.mean, threshold);
    }
    if (!r.band_reached && crossed(edge)) {
      r.band_reached = true;
      r.earliest_ms = crossing_time(prev_t, prev_edge, p.t_ms, edge, threshold);
    }
    if (r.reached && r.band_reached) break;
    prev_t = p.t_ms;
    prev_mean = p.mean;
    prev_edge = edge;
  }
  return r;
}

std::string humanize_eta(std::int64_t from_ms, std::int64_t at_ms) {
  if (at_ms <= from_ms) return "now";
  // Unsigned difference: exact for any pair of int64 times.
  const std::uint64_t d = static_cast<std::uint64_t>(at_ms) - static_cast<std::uint64_t>(from_ms);
  char buf[64];
  if (d < static_cast<std::uint64_t>(minute_ms)) {
    std::snprintf(buf, sizeof buf, "in %llus", static_cast<unsigned long long>((d + 999) / 1000));
  } else if (d < static_cast<std::uint64_t>(hour_ms)) {
    std::snprintf(buf, sizeof buf, "in %llum",
                  static_cast<unsigned long long>((d + minute_ms / 2) / minute_ms));
  } else if (d < static_cast<std::uint64_t>(day_ms)) {
    const std::uint64_t minutes = (d + minute_ms / 2) / minute_ms;
    std::int64_t tod = at_ms % day_ms;
    if (tod < 0) tod += day_ms;
    std::snprintf(buf, sizeof buf, "in %lluh %llum, at %02d:%02d UTC",
                  static_cast<unsigned long long>(minutes / 60),
                  static_cast<unsigned long long>(minutes % 60), static_cast<int>(tod / hour_ms),
                  static_cast<int>(tod % hour_ms / minute_ms));
  } else {
    const double days = static_cast<double>(d) / static_cast<double>(day_ms);
    if (days < 365.0)
      std::snprintf(buf, sizeof buf, "in %.1f days", days);
    else
      std::snprintf(buf, sizeof buf, "in %.1f years", days / 365.25);
  }
  return buf;
}

}  // namespace wk::forecast
