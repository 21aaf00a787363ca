#pragma once

#include <cstdint>
#include <string>

#include "forecast/forecast.hpp"

// When a forecast crosses a threshold ("disk full in 3.2 days"), and how to say it.
namespace wk::forecast {

struct threshold_eta {
  bool reached = false;          // the mean crosses within the horizon
  std::int64_t at_ms = 0;        // first time the mean crosses (valid when reached)
  std::int64_t earliest_ms = 0;  // first time the band edge crosses (valid when band_reached)
  bool rising = false;           // the threshold lies above the current value
  bool band_reached = false;     // the band edge crosses within the horizon
};

// When will the series cross `threshold` (from below if it is above the current value, else
// from above)? Crossing times are interpolated between forecast points. A threshold the series
// already sits on is reached now (at last_t_ms). Results with an error, no points or
// a non-finite threshold are never reached.
threshold_eta time_to_threshold(const forecast_result& f, double threshold);

// Human text for the time from `from_ms` to `at_ms`: "now", "in 40s", "in 25m",
// "in 4h 10m, at 14:00 UTC", "in 3.2 days", "in 1.5 years".
std::string humanize_eta(std::int64_t from_ms, std::int64_t at_ms);

}  // namespace wk::forecast
