#include "forecast/forecast.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace wk::forecast {

namespace {

constexpr std::int64_t day_ms = 86'400'000;
constexpr std::int64_t week_ms = 7 * day_ms;
// The regular grid never exceeds this many points: a sparse history with a long gap gets a
// coarser grid rather than an unbounded allocation.
constexpr std::size_t max_grid_points = 100'000;
// Seasons longer than this many grid points are not modelled (a week at 10 s is 60,480).
constexpr std::size_t max_season_points = 65'536;
// Forecasting further than this many grid steps ahead is refused (cost is linear in it).
constexpr double max_horizon_steps = 2'000'000.0;
// Autocorrelation at the season lag must reach this (and beat the half-season lag) for the
// season to be modelled.
constexpr double min_season_acf = 0.3;
// A damped trend must beat the plain one by this factor in squared one-step error: capacity
// questions want the trend extrapolated unless the data clearly say it fades.
constexpr double damping_gain = 0.98;

forecast_result failure(std::string message) {
  forecast_result r;
  r.error = std::move(message);
  return r;
}

std::string check_options(const forecast_options& o) {
  if (o.step_ms <= 0) return "step_ms must be positive";
  if (o.horizon_ms < o.step_ms) return "horizon_ms must be at least step_ms";
  if (static_cast<std::uint64_t>(o.horizon_ms / o.step_ms) > max_forecast_points) {
    return "horizon_ms / step_ms is " + std::to_string(o.horizon_ms / o.step_ms) +
           " points; at most " + std::to_string(max_forecast_points);
  }
  if (!(o.confidence > 0.0 && o.confidence < 1.0)) return "confidence must lie in (0, 1)";
  if (o.season_ms < 0) return "season_ms must be >= 0";
  return {};
}

// Two-sided normal quantile: z with P(|Z| <= z) = confidence (bisection on erfc, exact enough
// for a band and free of tables).
double normal_quantile(double confidence) {
  const double tail = 1.0 - confidence;
  double lo = 0.0, hi = 40.0;
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (std::erfc(mid / std::sqrt(2.0)) > tail)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

// What the finite samples of a history hold; they are read in place, never copied.
struct history_summary {
  std::size_t count = 0;
  point first{0, 0.0}, last{0, 0.0};
  bool constant = true;
};

// Checks order, count and time span of the finite samples, and that the horizon stays within
// int64 time. Fills `error` instead of throwing.
history_summary summarise(const std::vector<point>& history, const forecast_options& o,
                          std::string& error) {
  history_summary h;
  for (const auto& p : history) {
    if (!std::isfinite(p.v)) continue;
    if (h.count == 0) {
      h.first = p;
    } else if (p.t_ms < h.last.t_ms) {
      error = "history not in ascending time order (at t_ms=" + std::to_string(p.t_ms) + ")";
      return h;
    }
    h.constant = h.constant && (h.count == 0 || p.v == h.first.v);
    h.last = p;
    ++h.count;
  }
  std::int64_t end_t = 0;
  if (h.count > 0 && __builtin_add_overflow(h.last.t_ms, o.horizon_ms, &end_t)) {
    error = "horizon runs past the 64-bit time range";
    return h;
  }
  if (h.count < min_history_points) {
    error = "not enough history (" + std::to_string(h.count) + " points, need " +
            std::to_string(min_history_points) + ")";
    return h;
  }
  std::int64_t span = 0;
  if (__builtin_sub_overflow(h.last.t_ms, h.first.t_ms, &span)) {
    error = "history spans more time than fits in 64-bit milliseconds";
  }
  return h;
}

// Maps values into [-1, 1] around their mean so the fits never overflow, whatever the units.
struct value_scale {
  double magnitude = 1.0;  // max |v|, applied first so nothing overflows
  double center = 0.0;
  double spread = 1.0;
  double to(double v) const { return (v / magnitude - center) / spread; }
  double from(double z) const { return (z * spread + center) * magnitude; }
  double width(double dz) const { return dz * spread * magnitude; }
};

// `each(fn)` calls fn(v) for every value. Returns false when the values have no spread.
template <class Each>
bool fit_scale(const Each& each, value_scale& s) {
  double m = 0.0;
  each([&](double v) { m = std::max(m, std::fabs(v)); });
  if (m == 0.0) return false;
  s.magnitude = m;
  double mean = 0.0, n = 0.0;
  each([&](double v) { mean += (v / m - mean) / ++n; });
  s.center = mean;
  double spread = 0.0;
  each([&](double v) { spread = std::max(spread, std::fabs(v / m - mean)); });
  s.spread = spread;
  return spread > 0.0;
}

struct grid {
  std::int64_t last_t = 0;
  std::int64_t step = 0;
  std::vector<double> x;  // x[i] at last_t - (size - 1 - i) * step
};

// Averages samples into buckets of the typical interval (median spacing) anchored at the last
// sample, then fills empty buckets by linear interpolation.
std::string resample(const std::vector<point>& history, const history_summary& hs, grid& g) {
  std::vector<std::int64_t> gaps;
  gaps.reserve(hs.count);
  std::int64_t prev_t = hs.first.t_ms;
  for (const auto& p : history) {
    if (!std::isfinite(p.v)) continue;
    if (p.t_ms > prev_t) gaps.push_back(p.t_ms - prev_t);
    prev_t = p.t_ms;
  }
  if (gaps.empty()) return "not enough history (all samples share one timestamp)";
  const auto mid = gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2);
  std::nth_element(gaps.begin(), mid, gaps.end());
  const std::int64_t span = hs.last.t_ms - hs.first.t_ms;
  std::int64_t step = *mid;
  const std::int64_t coarsest = span / static_cast<std::int64_t>(max_grid_points - 1) + 1;
  step = std::max(step, coarsest);
  // Grid steps before the last sample, rounded to the nearest (no addition that could overflow).
  const auto index_of = [&](std::int64_t t) {
    const std::int64_t d = hs.last.t_ms - t;
    return d / step + (d % step >= step - d % step ? 1 : 0);
  };
  const auto size = static_cast<std::size_t>(index_of(hs.first.t_ms)) + 1;
  std::vector<double> sum(size, 0.0);
  std::vector<std::uint32_t> count(size, 0);
  std::size_t filled = 0;
  for (const auto& p : history) {
    if (!std::isfinite(p.v)) continue;
    const std::size_t i = size - 1 - static_cast<std::size_t>(index_of(p.t_ms));
    filled += count[i] == 0;
    // Running mean, so buckets of huge values cannot overflow.
    ++count[i];
    sum[i] += p.v / count[i] - sum[i] / count[i];
  }
  // Samples bunched into a few buckets of a long, mostly empty span are no history to fit.
  if (filled < min_history_points) {
    return "not enough history (" + std::to_string(filled) + " distinct sample intervals, need " +
           std::to_string(min_history_points) + ")";
  }
  std::size_t prev = 0;  // bucket 0 and the last bucket hold the first and last samples
  for (std::size_t i = 1; i < size; ++i) {
    if (count[i] == 0) continue;
    for (std::size_t k = prev + 1; k < i; ++k) {
      const double f = static_cast<double>(k - prev) / static_cast<double>(i - prev);
      sum[k] = sum[prev] + f * (sum[i] - sum[prev]);
    }
    prev = i;
  }
  g.last_t = hs.last.t_ms;
  g.step = step;
  g.x = std::move(sum);
  return {};
}

// Damped Holt (additive trend; phi = 1 is plain Holt, beta = 0 simple exponential smoothing).
struct holt_params {
  double alpha = 0.5, beta = 0.0, phi = 1.0;
};
// Holt-Winters, additive trend and season, error-correction form.
struct hw_params {
  double alpha = 0.5, beta = 0.0, gamma = 0.1;
};

struct fit_stats {
  double sse = std::numeric_limits<double>::infinity();
  double sae = 0.0;
  std::size_t count = 0;
};

// Holt's first residuals depend on the start values; they are not scored.
std::size_t holt_burn_in(std::size_t n) { return std::min<std::size_t>(10, n / 10) + 1; }

struct holt_state {
  double level = 0.0, trend = 0.0;
};

// The chosen model's state after each grid point, from which in-sample forecasts of any
// horizon can be replayed.
struct trace {
  std::vector<double> level, trend, season;
};

// The grid search runs this many parameter sets side by side in one pass: each recursion is
// a chain of dependent floating-point operations, so independent lanes come nearly for free.
constexpr std::size_t lanes = 8;

// Sum of squared one-step errors of Holt for `lanes` parameter sets.
void holt_sse(const std::vector<double>& z, double b0, const holt_params* p, double* sse) {
  double l[lanes], b[lanes], a[lanes], ab[lanes], phi[lanes], acc[lanes];
  for (std::size_t k = 0; k < lanes; ++k) {
    l[k] = z[0];
    b[k] = b0;
    a[k] = p[k].alpha;
    ab[k] = p[k].alpha * p[k].beta;
    phi[k] = p[k].phi;
    acc[k] = 0.0;
  }
  const std::size_t burn = holt_burn_in(z.size());
  for (std::size_t t = 1; t < z.size(); ++t) {
    const double x = z[t];
    const double w = t >= burn ? 1.0 : 0.0;
    for (std::size_t k = 0; k < lanes; ++k) {
      const double pb = phi[k] * b[k];
      const double e = x - (l[k] + pb);
      l[k] += pb + a[k] * e;
      b[k] = pb + ab[k] * e;
      acc[k] += w * e * e;
    }
  }
  for (std::size_t k = 0; k < lanes; ++k) sse[k] = acc[k];
}

// One pass of the chosen parameters: statistics, end state and the trace.
fit_stats run_holt(const std::vector<double>& z, double b0, const holt_params& p, holt_state& end,
                   trace& tr) {
  fit_stats st;
  st.sse = 0.0;
  double l = z[0], b = b0;
  const std::size_t burn = holt_burn_in(z.size());
  tr.level.assign(z.size(), l);
  tr.trend.assign(z.size(), b);
  for (std::size_t t = 1; t < z.size(); ++t) {
    const double e = z[t] - (l + p.phi * b);
    l += p.phi * b + p.alpha * e;
    b = p.phi * b + p.alpha * p.beta * e;
    tr.level[t] = l;
    tr.trend[t] = b;
    if (t >= burn) {
      st.sse += e * e;
      st.sae += std::fabs(e);
      ++st.count;
    }
  }
  end = {l, b};
  return st;
}

struct hw_state {
  double level = 0.0, trend = 0.0;
  std::vector<double> season;  // season[i % m] for grid index i
};

// Classical start: level and trend from the means of the first two seasons (a least-squares
// slope would pick up the season itself), the profile from their detrended average.
hw_state hw_start(const std::vector<double>& z, std::size_t m) {
  double mean1 = 0.0, mean2 = 0.0;
  for (std::size_t i = 0; i < m; ++i) {
    mean1 += z[i];
    mean2 += z[i + m];
  }
  mean1 /= static_cast<double>(m);
  mean2 /= static_cast<double>(m);
  hw_state s;
  s.trend = (mean2 - mean1) / static_cast<double>(m);
  const double center = 0.5 * static_cast<double>(m - 1);
  s.season.resize(m);
  for (std::size_t i = 0; i < m; ++i) {
    const double ramp = s.trend * (static_cast<double>(i) - center);
    s.season[i] = 0.5 * ((z[i] - mean1 - ramp) + (z[i + m] - mean2 - ramp));
  }
  // Level one step before the first sample.
  s.level = mean1 - s.trend * (center + 1.0);
  return s;
}

// Sum of squared one-step errors of Holt-Winters for `lanes` parameter sets; `season` is
// scratch space, slot-major so the lanes of one slot sit together.
void hw_sse(const std::vector<double>& z, const hw_state& start, const hw_params* p, double* sse,
            std::vector<double>& season) {
  const std::size_t m = start.season.size();
  season.resize(m * lanes);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t k = 0; k < lanes; ++k) season[i * lanes + k] = start.season[i];
  }
  double l[lanes], b[lanes], a[lanes], ab[lanes], g[lanes], acc[lanes];
  for (std::size_t k = 0; k < lanes; ++k) {
    l[k] = start.level;
    b[k] = start.trend;
    a[k] = p[k].alpha;
    ab[k] = p[k].alpha * p[k].beta;
    g[k] = p[k].gamma * (1.0 - p[k].alpha);
    acc[k] = 0.0;
  }
  std::size_t slot = 0;
  for (std::size_t t = 0; t < z.size(); ++t) {
    const double x = z[t];
    // The first season was used to start the model: score from the second on.
    const double w = t >= m ? 1.0 : 0.0;
    double* s = &season[slot * lanes];
    for (std::size_t k = 0; k < lanes; ++k) {
      const double e = x - (l[k] + b[k] + s[k]);
      l[k] += b[k] + a[k] * e;
      b[k] += ab[k] * e;
      s[k] += g[k] * e;
      acc[k] += w * e * e;
    }
    if (++slot == m) slot = 0;
  }
  for (std::size_t k = 0; k < lanes; ++k) sse[k] = acc[k];
}

// One pass of the chosen parameters: statistics, end state and the trace.
fit_stats run_hw(const std::vector<double>& z, const hw_state& start, const hw_params& p,
                 hw_state& end, trace& tr) {
  fit_stats st;
  st.sse = 0.0;
  const std::size_t m = start.season.size();
  end.season = start.season;
  double l = start.level, b = start.trend;
  const double ab = p.alpha * p.beta;
  const double g = p.gamma * (1.0 - p.alpha);
  tr.level.resize(z.size());
  tr.trend.resize(z.size());
  tr.season.resize(z.size());
  std::size_t slot = 0;
  for (std::size_t t = 0; t < z.size(); ++t) {
    double& s = end.season[slot];
    const double e = z[t] - (l + b + s);
    l += b + p.alpha * e;
    b += ab * e;
    s += g * e;
    tr.level[t] = l;
    tr.trend[t] = b;
    tr.season[t] = s;
    if (++slot == m) slot = 0;
    if (t >= m) {
      st.sse += e * e;
      st.sae += std::fabs(e);
      ++st.count;
    }
  }
  end.level = l;
  end.trend = b;
  return st;
}

// Pearson-style autocorrelation of the detrended grid at `lag`.
double autocorrelation(const std::vector<double>& e, std::size_t lag) {
  if (lag == 0 || lag >= e.size()) return 0.0;
  double xy = 0.0, xx = 0.0, yy = 0.0;
  for (std::size_t t = 0; t + lag < e.size(); ++t) {
    xy += e[t] * e[t + lag];
    xx += e[t] * e[t];
    yy += e[t + lag] * e[t + lag];
  }
  return xx > 0.0 && yy > 0.0 ? xy / std::sqrt(xx * yy) : 0.0;
}

// Least-squares line through z over its index: {mean, slope}, the line passing the mean at the
// middle index.
std::pair<double, double> fit_line(const std::vector<double>& z) {
  const auto n = static_cast<double>(z.size());
  const double tbar = 0.5 * (n - 1.0);
  double zbar = 0.0, sxy = 0.0, sxx = 0.0;
  for (double v : z) zbar += v;
  zbar /= n;
  for (std::size_t t = 0; t < z.size(); ++t) {
    const double dt = static_cast<double>(t) - tbar;
    sxy += dt * (z[t] - zbar);
    sxx += dt * dt;
  }
  return {zbar, sxx > 0.0 ? sxy / sxx : 0.0};
}

std::vector<double> detrended(const std::vector<double>& z) {
  const auto [zbar, slope] = fit_line(z);
  const double tbar = 0.5 * (static_cast<double>(z.size()) - 1.0);
  std::vector<double> e(z.size());
  for (std::size_t t = 0; t < z.size(); ++t)
    e[t] = z[t] - zbar - slope * (static_cast<double>(t) - tbar);
  return e;
}

// Season length in grid points for a period, or 0 when the grid cannot support it.
std::size_t season_points(std::int64_t period_ms, const grid& g) {
  const std::int64_t m = (period_ms + g.step / 2) / g.step;
  if (m < 4 || static_cast<std::size_t>(m) > max_season_points) return 0;
  if (g.x.size() < 2 * static_cast<std::size_t>(m)) return 0;
  return static_cast<std::size_t>(m);
}

// The season to model (grid points and period), or {0, 0}: a requested season is used when
// the history holds two of it; otherwise a day or a week whose autocorrelation is strong and
// beats the half-period lag (a trend or random walk correlates more at the shorter lag).
std::pair<std::size_t, std::int64_t> pick_season(const std::vector<double>& z, const grid& g,
                                                 std::int64_t requested_ms) {
  if (requested_ms > 0) {
    const std::size_t m = season_points(requested_ms, g);
    return {m, m ? requested_ms : 0};
  }
  const std::size_t m_day = season_points(day_ms, g);
  const std::size_t m_week = season_points(week_ms, g);
  if (m_day == 0 && m_week == 0) return {0, 0};
  const std::vector<double> e = detrended(z);
  const auto strength = [&](std::size_t m) {
    if (m == 0) return -1.0;
    const double r = autocorrelation(e, m);
    return r >= min_season_acf && r > autocorrelation(e, m / 2) ? r : -1.0;
  };
  const double r_day = strength(m_day);
  const double r_week = strength(m_week);
  // A week also repeats the daily shape; it wins only when it explains clearly more.
  if (r_week > 0.0 && r_week > r_day + 0.05) return {m_week, week_ms};
  if (r_day > 0.0) return {m_day, day_ms};
  return {0, 0};
}

// Every combination of the given values, padded to whole batches with its last entry.
template <class P, std::size_t A, std::size_t B, std::size_t C, class Make>
std::vector<P> parameter_grid(const double (&as)[A], const double (&bs)[B], const double (&cs)[C],
                              Make make) {
  std::vector<P> grid;
  for (double c : cs) {
    for (double a : as) {
      for (double b : bs) grid.push_back(make(a, b, c));
    }
  }
  while (grid.size() % lanes != 0) grid.push_back(grid.back());
  return grid;
}

struct holt_fit {
  holt_params params;
  fit_stats stats;
  holt_state end;
};

holt_fit fit_holt(const std::vector<double>& z, trace& tr) {
  static constexpr double alphas[] = {0.05, 0.15, 0.3, 0.5, 0.75, 1.0};
  static constexpr double betas[] = {0.0, 0.02, 0.1, 0.3};
  static constexpr double phis[] = {1.0, 0.98, 0.9};
  const auto grid =
      parameter_grid<holt_params>(alphas, betas, phis, [](double a, double b, double phi) {
        return holt_params{a, b, phi};
      });
  std::vector<double> sse(grid.size());
  // The trend starts from the history's least-squares slope, so slowly adapting parameter sets
  // are not charged for a start-up transient (they give the steadiest trend for capacity).
  const double b0 = fit_line(z).second;
  for (std::size_t i = 0; i < grid.size(); i += lanes) holt_sse(z, b0, &grid[i], &sse[i]);
  double plain = std::numeric_limits<double>::infinity(), damped = plain;
  std::size_t best_plain = 0, best_damped = 0;
  for (std::size_t i = 0; i < grid.size(); ++i) {
    double& best = grid[i].phi == 1.0 ? plain : damped;
    if (sse[i] < best) {
      best = sse[i];
      (grid[i].phi == 1.0 ? best_plain : best_damped) = i;
    }
  }
  holt_fit fit;
  fit.params = grid[damped < damping_gain * plain ? best_damped : best_plain];
  fit.stats = run_holt(z, b0, fit.params, fit.end, tr);
  return fit;
}

struct hw_fit {
  hw_params params;
  fit_stats stats;
  hw_state end;
};

hw_fit fit_hw(const std::vector<double>& z, std::size_t m, trace& tr) {
  static constexpr double alphas[] = {0.05, 0.15, 0.3, 0.5, 0.8};
  static constexpr double betas[] = {0.0, 0.02, 0.1};
  static constexpr double gammas[] = {0.05, 0.2, 0.5};
  const auto grid =
      parameter_grid<hw_params>(alphas, betas, gammas, [](double a, double b, double g) {
        return hw_params{a, b, g};
      });
  const hw_state start = hw_start(z, m);
  std::vector<double> scratch;
  std::vector<double> sse(grid.size());
  for (std::size_t i = 0; i < grid.size(); i += lanes) hw_sse(z, start, &grid[i], &sse[i], scratch);
  // A combination outside the stable region can diverge to Inf or NaN: it never wins.
  for (double& v : sse) {
    if (!(v < std::numeric_limits<double>::infinity())) v = std::numeric_limits<double>::infinity();
  }
  hw_fit fit;
  fit.params =
      grid[static_cast<std::size_t>(std::min_element(sse.begin(), sse.end()) - sse.begin())];
  fit.stats = run_hw(z, start, fit.params, fit.end, tr);
  return fit;
}

// Walks the forecast horizon one grid step at a time: the damped trend sum and the variance
// multiplier 1 + sum_{j<h} c_j^2 of the state-space form (Hyndman et al., class 1 models).
struct horizon_walk {
  double alpha, beta_ss, gamma_ss, phi;
  std::size_t m;  // season length, 0 for none
  std::size_t h = 0;
  double trend_sum = 0.0;  // phi + ... + phi^h
  double phi_power = 1.0;  // phi^h
  double var_factor = 1.0;

  void advance() {
    if (h > 0) {
      double c = alpha + beta_ss * trend_sum;
      if (m > 0 && h % m == 0) c += gamma_ss;
      var_factor += c * c;
    }
    ++h;
    phi_power *= phi;
    trend_sum += phi_power;
  }
};

// Root mean square of the in-sample h-step errors at h = 1, 2, 4, ... up to `needed` (or half
// the replayable history): bands as wide as the model actually missed at each distance, rather
// than as its own assumptions predict. Non-decreasing in h.
std::vector<std::pair<std::size_t, double>> measure_spread(const std::vector<double>& z,
                                                           const trace& tr, std::size_t first,
                                                           std::size_t m, double phi,
                                                           std::size_t needed) {
  std::vector<std::pair<std::size_t, double>> spread;
  const std::size_t origins = z.size() > first ? z.size() - first : 0;
  const std::size_t h_max = std::max<std::size_t>(1, std::min(needed, origins / 2));
  double trend_sum = 0.0, phi_power = 1.0, floor = 0.0;
  std::size_t done = 0;
  for (std::size_t h = 1;; h = std::min(2 * h, h_max)) {
    for (; done < h; ++done) {
      phi_power *= phi;
      trend_sum += phi_power;
    }
    double sse = 0.0;
    std::size_t count = 0;
    // A slot's latest value as known at origin t was written one or more seasons before t + h.
    const std::size_t back = m ? m * ((h + m - 1) / m) : 0;
    for (std::size_t t = first; t + h < z.size(); ++t) {
      const double season = m ? tr.season[t + h - back] : 0.0;
      const double e = z[t + h] - (tr.level[t] + trend_sum * tr.trend[t] + season);
      sse += e * e;
      ++count;
    }
    floor = std::max(floor, count ? std::sqrt(sse / static_cast<double>(count)) : 0.0);
    spread.emplace_back(h, floor);
    if (h == h_max) break;
  }
  return spread;
}

struct fitted_model {
  double level = 0.0, trend = 0.0;
  const std::vector<double>* season = nullptr;
  std::size_t season_origin = 0;                       // season slot of grid step h = 0
  std::vector<std::pair<std::size_t, double>> spread;  // from measure_spread
};

// Band sd at grid step h: interpolated between measured horizons; beyond the last one it grows
// as the model's own variance (Hyndman et al.) grows from there.
double spread_at(const fitted_model& fm, const horizon_walk& w, double tail_var_factor) {
  const auto& sp = fm.spread;
  if (w.h <= sp.front().first) return sp.front().second;
  if (w.h >= sp.back().first) return sp.back().second * std::sqrt(w.var_factor / tail_var_factor);
  const auto hi = std::upper_bound(sp.begin(), sp.end(), w.h,
                                   [](std::size_t h, const auto& e) { return h < e.first; });
  const auto lo = hi - 1;
  const double f =
      static_cast<double>(w.h - lo->first) / static_cast<double>(hi->first - lo->first);
  return lo->second + f * (hi->second - lo->second);
}

// Forecast points at last_t + k * step_ms, interpolated between grid steps.
std::string emit(const fitted_model& fm, horizon_walk walk, const grid& g, const value_scale& vs,
                 const forecast_options& o, forecast_result& r) {
  const double z = normal_quantile(o.confidence);
  const auto n = static_cast<std::size_t>(o.horizon_ms / o.step_ms);
  horizon_walk tail = walk;
  while (tail.h < fm.spread.back().first) tail.advance();
  const auto value_at = [&](const horizon_walk& w, double& mean, double& sd) {
    double s = 0.0;
    if (fm.season) s = (*fm.season)[(fm.season_origin + w.h) % fm.season->size()];
    mean = fm.level + w.trend_sum * fm.trend + s;
    sd = spread_at(fm, w, tail.var_factor);
  };
  r.points.reserve(n);
  for (std::size_t k = 1; k <= n; ++k) {
    const std::int64_t dt = static_cast<std::int64_t>(k) * o.step_ms;
    const double hf = static_cast<double>(dt) / static_cast<double>(g.step);
    const auto h0 = static_cast<std::size_t>(hf);
    while (walk.h < h0) walk.advance();
    horizon_walk next = walk;
    next.advance();
    double m0, s0, m1, s1;
    value_at(walk, m0, s0);
    value_at(next, m1, s1);
    const double f = hf - static_cast<double>(h0);
    const double mean = m0 + f * (m1 - m0);
    const double sd = s0 + f * (s1 - s0);
    forecast_point p{g.last_t + dt, vs.from(mean), vs.from(mean - z * sd), vs.from(mean + z * sd)};
    if (!std::isfinite(p.mean) || !std::isfinite(p.lower) || !std::isfinite(p.upper)) {
      r.points.clear();
      return "forecast overflows the double range";
    }
    r.points.push_back(p);
  }
  return {};
}

forecast_result flat(const history_summary& hs, const forecast_options& o, std::string method) {
  forecast_result r;
  r.method = std::move(method);
  r.last_t_ms = hs.last.t_ms;
  r.last_value = hs.last.v;
  const auto n = static_cast<std::size_t>(o.horizon_ms / o.step_ms);
  r.points.reserve(n);
  for (std::size_t k = 1; k <= n; ++k) {
    const std::int64_t t = r.last_t_ms + static_cast<std::int64_t>(k) * o.step_ms;
    r.points.push_back({t, r.last_value, r.last_value, r.last_value});
  }
  return r;
}

}  // namespace

forecast_result forecast(const std::vector<point>& history, const forecast_options& o) {
  if (std::string e = check_options(o); !e.empty()) return failure(std::move(e));
  std::string error;
  const history_summary hs = summarise(history, o, error);
  if (!error.empty()) return failure(std::move(error));
  if (hs.constant) return flat(hs, o, "holt");
  grid g;
  if (std::string e = resample(history, hs, g); !e.empty()) return failure(std::move(e));
  value_scale vs;
  if (!fit_scale(
          [&](auto fn) {
            for (double v : g.x) fn(v);
          },
          vs))
    return flat(hs, o, "holt");
  // The fits work on the scaled grid, in place.
  std::vector<double>& z = g.x;
  for (double& v : z) v = vs.to(v);

  // Grid steps the forecast reaches; the cost of bands and points is linear in it.
  const double steps_ahead = static_cast<double>(o.horizon_ms) / static_cast<double>(g.step);
  if (steps_ahead > max_horizon_steps) {
    return failure("horizon is " + std::to_string(o.horizon_ms / g.step) +
                   " sample intervals; at most " +
                   std::to_string(static_cast<std::int64_t>(max_horizon_steps)));
  }
  const auto needed = static_cast<std::size_t>(steps_ahead) + 1;
  const auto [m, period_ms] = pick_season(z, g, o.season_ms);
  trace tr;
  forecast_result r;
  fitted_model fm;
  horizon_walk walk{};
  hw_fit hw;
  holt_fit holt;
  if (m > 0) {
    hw = fit_hw(z, m, tr);
    r.method = "holt_winters";
    r.season_ms = period_ms;
    // h = 0 is the last observation: its slot is where the forecast's slots count from.
    fm = {hw.end.level, hw.end.trend, &hw.end.season, (z.size() - 1) % m,
          measure_spread(z, tr, m, m, 1.0, needed)};
    walk = {hw.params.alpha, hw.params.alpha * hw.params.beta,
            hw.params.gamma * (1.0 - hw.params.alpha), 1.0, m};
  } else {
    holt = fit_holt(z, tr);
    r.method = "holt";
    fm = {holt.end.level, holt.end.trend, nullptr, 0,
          measure_spread(z, tr, holt_burn_in(z.size()), 0, holt.params.phi, needed)};
    walk = {holt.params.alpha, holt.params.alpha * holt.params.beta, 0.0, holt.params.phi, 0};
  }
  const fit_stats& st = m > 0 ? hw.stats : holt.stats;
  r.mae = vs.width(st.count ? st.sae / static_cast<double>(st.count) : 0.0);
  r.last_t_ms = g.last_t;
  const double last_season = fm.season ? (*fm.season)[fm.season_origin] : 0.0;
  r.last_value = vs.from(fm.level + last_season);
  if (std::string e = emit(fm, walk, g, vs, o, r); !e.empty()) return failure(std::move(e));
  return r;
}

forecast_result forecast_linear(const std::vector<point>& history, const forecast_options& o) {
  if (std::string e = check_options(o); !e.empty()) return failure(std::move(e));
  std::string error;
  const history_summary hs = summarise(history, o, error);
  if (!error.empty()) return failure(std::move(error));
  if (hs.constant) return flat(hs, o, "linear");
  if (hs.first.t_ms == hs.last.t_ms)
    return failure("not enough history (all samples share one timestamp)");
  // `each(fn)` visits the finite samples in place.
  const auto each = [&](auto fn) {
    for (const auto& p : history) {
      if (std::isfinite(p.v)) fn(p);
    }
  };
  value_scale vs;
  if (!fit_scale([&](auto fn) { each([&](const point& p) { fn(p.v); }); }, vs))
    return flat(hs, o, "linear");
  // Time in seconds before the last sample: small numbers, exact enough for a regression.
  const std::int64_t t_last = hs.last.t_ms;
  const auto x_of = [&](std::int64_t t) { return static_cast<double>(t - t_last) / 1000.0; };
  const auto n = static_cast<double>(hs.count);
  double xbar = 0.0, ybar = 0.0;
  each([&](const point& p) {
    xbar += x_of(p.t_ms);
    ybar += vs.to(p.v);
  });
  xbar /= n;
  ybar /= n;
  double sxx = 0.0, sxy = 0.0;
  each([&](const point& p) {
    const double dx = x_of(p.t_ms) - xbar;
    sxx += dx * dx;
    sxy += dx * (vs.to(p.v) - ybar);
  });
  const double slope = sxy / sxx;
  const double intercept = ybar - slope * xbar;
  double sse = 0.0, sae = 0.0;
  each([&](const point& p) {
    const double e = vs.to(p.v) - (intercept + slope * x_of(p.t_ms));
    sse += e * e;
    sae += std::fabs(e);
  });
  const double s = std::sqrt(sse / (n - 2.0));
  const double z = normal_quantile(o.confidence);
  forecast_result r;
  r.method = "linear";
  r.mae = vs.width(sae / n);
  r.last_t_ms = t_last;
  r.last_value = vs.from(intercept);
  const auto count = static_cast<std::size_t>(o.horizon_ms / o.step_ms);
  r.points.reserve(count);
  for (std::size_t k = 1; k <= count; ++k) {
    const std::int64_t dt = static_cast<std::int64_t>(k) * o.step_ms;
    const double x = static_cast<double>(dt) / 1000.0;
    const double mean = intercept + slope * x;
    const double sd = s * std::sqrt(1.0 + 1.0 / n + (x - xbar) * (x - xbar) / sxx);
    forecast_point p{t_last + dt, vs.from(mean), vs.from(mean - z * sd), vs.from(mean + z * sd)};
    if (!std::isfinite(p.mean) || !std::isfinite(p.lower) || !std::isfinite(p.upper)) {
      return failure("forecast overflows the double range");
    }
    r.points.push_back(p);
  }
  return r;
}

}  // namespace wk::forecast
