#include "promql/functions.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace wk::promql {
namespace {

constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();

std::optional<double> extrapolated_rate(const std::vector<tsdb::sample>& s, const range_window& w, bool is_counter,
                                        bool is_rate) {
  if (s.size() < 2) return std::nullopt;
  const std::size_t n_minus_one = s.size() - 1;
  double result = s.back().v - s.front().v;
  if (is_counter) {
    double prev = s.front().v;
    for (std::size_t i = 1; i < s.size(); ++i) {
      if (s[i].v < prev) result += prev;
      prev = s[i].v;
    }
  }
  double to_start = static_cast<double>(s.front().t - w.start_ms) / 1000.0;
  double to_end = static_cast<double>(w.end_ms - s.back().t) / 1000.0;
  const double sampled = static_cast<double>(s.back().t - s.front().t) / 1000.0;
  const double avg_between = sampled / static_cast<double>(n_minus_one);
  // Extrapolate to a range boundary only when a sample could be expected there; otherwise
  // assume the series starts or ends half an interval beyond its outermost sample.
  const double threshold = avg_between * 1.1;
  if (to_start >= threshold) to_start = avg_between / 2;
  if (is_counter && result > 0 && s.front().v >= 0) {
    // A counter cannot go below zero: do not extrapolate past the point where it would.
    const double to_zero = sampled * (s.front().v / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  if (to_end >= threshold) to_end = avg_between / 2;
  double factor = (sampled + to_start + to_end) / sampled;
  if (is_rate) factor /= static_cast<double>(w.end_ms - w.start_ms) / 1000.0;
  return result * factor;
}

std::optional<double> instant_rate(const std::vector<tsdb::sample>& s, bool is_rate) {
  if (s.size() < 2) return std::nullopt;
  const tsdb::sample& last = s[s.size() - 1];
  const tsdb::sample& prev = s[s.size() - 2];
  double dv = last.v - prev.v;
  if (!is_rate) return dv;
  if (last.v < prev.v) dv = last.v;  // counter reset
  const std::int64_t dt = last.t - prev.t;
  if (dt == 0) return std::nullopt;
  return dv / (static_cast<double>(dt) / 1000.0);
}

// Least squares fit of value over seconds relative to intercept_ms.
std::pair<double, double> linear_regression(const std::vector<tsdb::sample>& s, std::int64_t intercept_ms) {
  double n = 0;
  kahan_sum sx, sy, sxy, sx2;
  const double init_y = s.front().v;
  bool const_y = true;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (const_y && i > 0 && s[i].v != init_y) const_y = false;
    n += 1;
    const double x = static_cast<double>(s[i].t - intercept_ms) / 1000.0;
    sx.add(x);
    sy.add(s[i].v);
    sxy.add(x * s[i].v);
    sx2.add(x * x);
  }
  if (const_y) {
    if (std::isinf(init_y)) return {nan_value, nan_value};
    return {0, init_y};
  }
  const double sum_x = sx.value(), sum_y = sy.value();
  const double cov = sxy.value() - sum_x * sum_y / n;
  const double var = sx2.value() - sum_x * sum_x / n;
  const double slope = cov / var;
  return {slope, sum_y / n - slope * sum_x / n};
}

// Welford's running variance, as Prometheus computes stddev/stdvar.
double variance(const std::vector<tsdb::sample>& s) {
  double count = 0, mean = 0, m2 = 0;
  for (const auto& p : s) {
    count += 1;
    const double delta = p.v - mean;
    mean += delta / count;
    m2 += delta * (p.v - mean);
  }
  return m2 / count;
}

double average(const std::vector<tsdb::sample>& s) {
  kahan_sum sum;
  for (const auto& p : s) sum.add(p.v);
  double total = sum.value();
  if (!std::isinf(total)) return total / static_cast<double>(s.size());
  // The sum overflowed: fall back to an incremental mean, which stays finite.
  double mean = 0, count = 0;
  for (const auto& p : s) {
    count += 1;
    if (std::isinf(mean) && std::isinf(p.v) && (mean > 0) == (p.v > 0)) continue;
    mean += p.v / count - mean / count;
  }
  return mean;
}

}  // namespace

void kahan_sum::add(double v) {
  const double t = sum + v;
  if (std::isinf(t)) c = 0;
  else if (std::fabs(sum) >= std::fabs(v)) c += (sum - t) + v;
  else c += (v - t) + sum;
  sum = t;
}

bool is_range_function(std::string_view n) {
  static const char* const names[] = {
      "rate", "increase", "delta", "irate", "idelta", "deriv", "predict_linear", "avg_over_time",
      "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "quantile_over_time",
      "stddev_over_time", "stdvar_over_time", "last_over_time", "present_over_time", "changes", "resets"};
  return std::any_of(std::begin(names), std::end(names), [&](const char* x) { return n == x; });
}

std::optional<double> eval_range_function(std::string_view n, const std::vector<tsdb::sample>& s,
                                          const range_window& w, double param) {
  if (s.empty()) return std::nullopt;
  if (n == "rate") return extrapolated_rate(s, w, true, true);
  if (n == "increase") return extrapolated_rate(s, w, true, false);
  if (n == "delta") return extrapolated_rate(s, w, false, false);
  if (n == "irate") return instant_rate(s, true);
  if (n == "idelta") return instant_rate(s, false);
  if (n == "deriv") {
    if (s.size() < 2) return std::nullopt;
    return linear_regression(s, s.front().t).first;
  }
  if (n == "predict_linear") {
    if (s.size() < 2) return std::nullopt;
    const auto [slope, intercept] = linear_regression(s, w.eval_ms);
    return slope * param + intercept;
  }
  if (n == "avg_over_time") return average(s);
  if (n == "min_over_time" || n == "max_over_time") {
    const bool is_max = n == "max_over_time";
    double r = s.front().v;
    for (const auto& p : s)
      if ((is_max ? p.v > r : p.v < r) || std::isnan(r)) r = p.v;
    return r;
  }
  if (n == "sum_over_time") {
    kahan_sum sum;
    for (const auto& p : s) sum.add(p.v);
    return sum.value();
  }
  if (n == "count_over_time") return static_cast<double>(s.size());
  if (n == "quantile_over_time") {
    std::vector<double> values;
    values.reserve(s.size());
    for (const auto& p : s) values.push_back(p.v);
    return quantile(param, values);
  }
  if (n == "stdvar_over_time") return variance(s);
  if (n == "stddev_over_time") return std::sqrt(variance(s));
  if (n == "last_over_time") return s.back().v;
  if (n == "present_over_time") return 1.0;
  if (n == "changes" || n == "resets") {
    const bool changes = n == "changes";
    double count = 0;
    for (std::size_t i = 1; i < s.size(); ++i) {
      const double prev = s[i - 1].v, cur = s[i].v;
      if (changes ? (cur != prev && !(std::isnan(cur) && std::isnan(prev))) : cur < prev) count += 1;
    }
    return count;
  }
  return std::nullopt;
}

bool apply_math_function(std::string_view n, double& v) {
  constexpr double pi = 3.14159265358979323846;
  if (n == "abs") v = std::fabs(v);
  else if (n == "ceil") v = std::ceil(v);
  else if (n == "floor") v = std::floor(v);
  else if (n == "sqrt") v = std::sqrt(v);
  else if (n == "exp") v = std::exp(v);
  else if (n == "ln") v = std::log(v);
  else if (n == "log2") v = std::log2(v);
  else if (n == "log10") v = std::log10(v);
  else if (n == "sgn") v = std::isnan(v) ? v : (v > 0 ? 1.0 : v < 0 ? -1.0 : v);
  else if (n == "acos") v = std::acos(v);
  else if (n == "acosh") v = std::acosh(v);
  else if (n == "asin") v = std::asin(v);
  else if (n == "asinh") v = std::asinh(v);
  else if (n == "atan") v = std::atan(v);
  else if (n == "atanh") v = std::atanh(v);
  else if (n == "cos") v = std::cos(v);
  else if (n == "cosh") v = std::cosh(v);
  else if (n == "sin") v = std::sin(v);
  else if (n == "sinh") v = std::sinh(v);
  else if (n == "tan") v = std::tan(v);
  else if (n == "tanh") v = std::tanh(v);
  else if (n == "deg") v = v * 180 / pi;
  else if (n == "rad") v = v * pi / 180;
  else return false;
  return true;
}

double quantile(double phi, std::vector<double>& values) {
  if (values.empty() || std::isnan(phi)) return nan_value;
  if (phi < 0) return -HUGE_VAL;
  if (phi > 1) return HUGE_VAL;
  std::sort(values.begin(), values.end(), [](double a, double b) {
    // NaN first, as Go's sort.Float64s orders them.
    if (std::isnan(a)) return !std::isnan(b);
    return a < b;
  });
  const double n = static_cast<double>(values.size());
  const double rank = phi * (n - 1);
  const double lower = std::max(0.0, std::floor(rank));
  const double upper = std::min(n - 1, lower + 1);
  const double weight = rank - std::floor(rank);
  return values[static_cast<std::size_t>(lower)] * (1 - weight) + values[static_cast<std::size_t>(upper)] * weight;
}

double bucket_quantile(double phi, std::vector<std::pair<double, double>>& b) {
  if (std::isnan(phi)) return nan_value;
  if (phi < 0) return -HUGE_VAL;
  if (phi > 1) return HUGE_VAL;
  if (b.empty()) return nan_value;
  std::sort(b.begin(), b.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  if (!std::isinf(b.back().first) || b.back().first < 0) return nan_value;
  // Buckets with the same upper bound (from differently labelled series) are merged.
  std::vector<std::pair<double, double>> merged;
  for (const auto& x : b) {
    if (!merged.empty() && merged.back().first == x.first) merged.back().second += x.second;
    else merged.push_back(x);
  }
  // Cumulative counts must not decrease; scrapes of several buckets at different moments can
  // make them, so take the running maximum as Prometheus does.
  double max = -HUGE_VAL;
  for (auto& x : merged) {
    if (x.second < max) x.second = max;
    else max = x.second;
  }
  if (merged.size() < 2) return nan_value;
  const double observations = merged.back().second;
  if (observations == 0 || std::isnan(observations)) return nan_value;
  double rank = phi * observations;
  std::size_t i = 0;
  while (i < merged.size() - 1 && merged[i].second < rank) ++i;
  if (i == merged.size() - 1) return merged[merged.size() - 2].first;
  if (i == 0 && merged[0].first <= 0) return merged[0].first;
  double start = 0;
  const double end = merged[i].first;
  double count = merged[i].second;
  if (i > 0) {
    start = merged[i - 1].first;
    count -= merged[i - 1].second;
    rank -= merged[i - 1].second;
  }
  return start + (end - start) * (rank / count);
}

}  // namespace wk::promql
