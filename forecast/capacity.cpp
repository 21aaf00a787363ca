#include "forecast/capacity.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "forecast/eta.hpp"

namespace wk::forecast {

capacity_estimate estimate_capacity(const std::vector<point>& history, std::int64_t horizon_ms,
                                    std::optional<double> threshold, bool linear,
                                    std::int64_t now_ms) {
  capacity_estimate out;
  forecast_options o;
  o.horizon_ms = horizon_ms;
  // About 500 forecast points whatever the horizon: enough to place a crossing to 0.2%.
  o.step_ms = std::max<std::int64_t>(1000, horizon_ms / 500);
  const auto f = linear ? forecast_linear(history, o) : forecast(history, o);
  if (!f.error.empty()) {
    out.error = f.error;
    return out;
  }
  out.method = f.method;
  out.value_at_horizon = f.points.empty() ? f.last_value : f.points.back().mean;
  out.seconds_to_threshold = std::numeric_limits<double>::infinity();
  if (threshold) {
    const auto eta = time_to_threshold(f, *threshold);
    if (eta.reached) out.seconds_to_threshold = std::max<double>(0, (eta.at_ms - now_ms) / 1000.0);
  }
  return out;
}

bool materially_changed(const capacity_estimate& before, const capacity_estimate& now) {
  const bool was_finite = std::isfinite(before.seconds_to_threshold);
  if (was_finite != std::isfinite(now.seconds_to_threshold)) return true;
  if (was_finite) {
    const double moved = std::abs(now.seconds_to_threshold - before.seconds_to_threshold);
    if (moved > std::max(60.0, 0.1 * before.seconds_to_threshold)) return true;
  }
  const double scale = std::max(std::abs(before.value_at_horizon), 1e-9);
  return std::abs(now.value_at_horizon - before.value_at_horizon) > 0.1 * scale;
}

}  // namespace wk::forecast
