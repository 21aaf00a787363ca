#pragma once

// Capacity estimates for configured predictions: for one series' history, how long until it
// crosses the threshold, and where it will be at the horizon. The predictor actor writes both
// as series, so ordinary alert rules raise the alarm ("disk full within 3 days").

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "forecast/forecast.hpp"

namespace wk::forecast {

struct capacity_estimate {
  std::string method;  // as forecast_result::method; empty with an error
  // Seconds from now until the forecast mean crosses the threshold: 0 when it already has,
  // +Inf when it does not within the horizon or no threshold is set.
  double seconds_to_threshold = 0;
  double value_at_horizon = 0;  // forecast mean at the horizon's end
  std::string error;            // non-empty: nothing to write for this series
};

capacity_estimate estimate_capacity(const std::vector<point>& history, std::int64_t horizon_ms,
                                    std::optional<double> threshold, bool linear,
                                    std::int64_t now_ms);

// Worth recording again: the crossing moved into or out of the horizon, its time moved by more
// than a tenth (at least a minute), or the value at the horizon by more than a tenth.
bool materially_changed(const capacity_estimate& before, const capacity_estimate& now);

}  // namespace wk::forecast
