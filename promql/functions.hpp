#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "tsdb/sample.hpp"

namespace wk::promql {

// Neumaier-compensated summation, as Prometheus sums.
struct kahan_sum {
  double sum = 0;
  double c = 0;
  void add(double v);
  double value() const { return sum + c; }
};

// Where a range vector came from, for the functions that extrapolate or look at eval time.
struct range_window {
  std::int64_t start_ms;  // exclusive lower bound of the selected range
  std::int64_t end_ms;    // inclusive upper bound
  std::int64_t eval_ms;   // evaluation time (the @ time when given)
};

// Evaluates a function over one series of a range vector (stale markers already removed).
// `param` is the scalar argument of quantile_over_time / predict_linear. nullopt = no output
// element for this series. Returns nullopt too for a name it does not know, so callers check
// is_range_function first.
bool is_range_function(std::string_view name);
std::optional<double> eval_range_function(std::string_view name, const std::vector<tsdb::sample>& samples,
                                          const range_window& window, double param);

// Element-wise math of one instant-vector function; false for a name it does not know.
bool apply_math_function(std::string_view name, double& v);

// phi-quantile with linear interpolation over the values (reordered in place).
double quantile(double phi, std::vector<double>& values);

// Quantile over classic histogram buckets (upper bound, cumulative count).
double bucket_quantile(double phi, std::vector<std::pair<double, double>>& buckets);

}  // namespace wk::promql
