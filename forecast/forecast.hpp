#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

// Forecasts of one series with confidence bands, for predictions and capacity planning.
// Pure and synchronous: the analysis actor calls it on a copy of the history.
//
// Counters (monotonic with resets) are the caller's business: forecast their rate, or the
// reset-corrected running total, not the raw counter, which would extrapolate the resets.
namespace wk::forecast {

struct point {
  std::int64_t t_ms;
  double v;
};

struct forecast_point {
  std::int64_t t_ms;
  double mean, lower, upper;  // central `confidence` band (95% by default)
};

struct forecast_options {
  std::int64_t horizon_ms;  // forecast points at last sample + k * step_ms, up to the horizon
  std::int64_t step_ms;
  double confidence = 0.95;
  // 0 = detect: try 1 day and 1 week when the history covers >= 2 periods.
  std::int64_t season_ms = 0;
};

struct forecast_result {
  std::string method;  // "holt_winters" | "holt" | "linear"
  std::vector<forecast_point> points;
  double mae = 0;     // one-step in-sample error ("linear": mean absolute residual of the fit)
  std::string error;  // non-empty: no forecast, and `points` is empty
  // Where the fit ends: time of the last sample and the model's value there; the reference
  // for "is the threshold above or below us" in time_to_threshold.
  std::int64_t last_t_ms = 0;
  double last_value = 0;
  std::int64_t season_ms = 0;  // the season used by "holt_winters", else 0
};

// Bounds on the work one call may cause; beyond them the result carries an error.
inline constexpr std::size_t max_forecast_points = 100'000;
inline constexpr std::size_t min_history_points = 10;

// Fits on history (ascending t, gaps allowed, resampled onto a regular grid internally):
// additive Holt-Winters with seasonality when detected, damped Holt otherwise; parameters by a
// small grid search minimising one-step error; bands from residual spread growing with horizon.
// NaN/Inf samples are skipped. Never throws for bad input: see `error`.
// Cost: about 0.1 us per grid point (10k points ~1 ms) and ~60 bytes of heap per grid point,
// plus 64 bytes per season slot; the grid is capped at 100,000 points (sparse histories get a
// coarser grid), the horizon at 2,000,000 grid steps and 100,000 output points.
forecast_result forecast(const std::vector<point>& history, const forecast_options& o);

// Least squares slope/intercept over the raw samples, as PromQL's predict_linear (baseline);
// bands are the regression's prediction interval.
forecast_result forecast_linear(const std::vector<point>& history, const forecast_options& o);

}  // namespace wk::forecast
