#include "anomaly/detector.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace wk::anomaly {

namespace {

constexpr std::int64_t day_ms = 86'400'000;
// Surprise is capped so one absurd sample cannot set a record that silences the series for good.
constexpr double max_surprise = 1000.0;
// A silence longer than this many typical intervals is a gap (scrape outage, restart).
constexpr double gap_intervals = 12.0;

std::size_t slot_of(std::int64_t t_ms) {
  std::int64_t tod = t_ms % day_ms;
  if (tod < 0) tod += day_ms;
  return static_cast<std::size_t>(tod / (day_ms / static_cast<std::int64_t>(detector::season_slots)));
}

}  // namespace

detector::detector(detector_options options) : opt_(options) {
  const auto unit = [](double a) { return a > 0.0 && a <= 1.0; };
  const bool ok = unit(opt_.level_alpha) && opt_.trend_beta >= 0.0 && opt_.trend_beta <= 1.0 &&
                  unit(opt_.season_level_alpha) && unit(opt_.season_gamma) &&
                  unit(opt_.scale_alpha) && unit(opt_.record_decay) &&
                  opt_.record_margin >= 1.0 && opt_.record_margin < 1e6 &&
                  opt_.surprise_scale > 0.0 && opt_.surprise_scale < 1e6;
  if (!ok) {
    throw std::invalid_argument(
        "detector_options: alphas, gamma and record_decay must lie in (0, 1], trend_beta in "
        "[0, 1], record_margin in [1, 1e6), surprise_scale in (0, 1e6)");
  }
}

void detector::reset_models() {
  model_n_ = 0;
  interval_ms_ = 0.0;
  mean_ = 0.0;
  trend_ = 0.0;
  hw_level_ = 0.0;
  err_plain_ = 0.0;
  err_season_ = 0.0;
  season_.fill(0.0);
  season_visits_.fill(0);
  record_ = 0.0;
}

double detector::update(std::int64_t t_ms, double v) {
  if (!std::isfinite(v)) return 0.0;
  const std::size_t settle = opt_.warmup_samples / 3;
  double x = v;
  if (n_ == 0) {
    first_v_ = v;
  } else {
    if (v < last_v_) decreased_ = true;
    if (n_ == settle && !decreased_ && v > first_v_) {
      // Never decreased so far: a counter. Its rate is what carries meaning.
      counter_ = true;
      reset_models();
    }
    if (counter_ && v < last_v_ && v >= 0.5 * last_v_) {
      // A counter resets to near zero; a modest drop means a rising gauge fooled us.
      counter_ = false;
      reset_models();
    }
    if (counter_) {
      // A drop is a counter reset: the new value is the increase since the reset.
      x = v >= last_v_ ? v - last_v_ : v;
    }
  }
  last_v_ = v;
  // A gap is a silence of many typical intervals; the typical interval ignores gaps.
  bool gap = false;
  if (n_ > 0 && t_ms > last_t_) {
    const double dt = static_cast<double>(t_ms - last_t_);
    gap = interval_ms_ > 0.0 && dt > gap_intervals * interval_ms_;
    if (interval_ms_ == 0.0) interval_ms_ = dt;
    else if (!gap) interval_ms_ += 0.05 * (dt - interval_ms_);
  }
  last_t_ = std::max(last_t_, t_ms);
  ++n_;
  const double s = surprise(t_ms, x, gap);
  ++model_n_;
  const double score = relative_score(s);
  if (!std::isfinite(score) || !std::isfinite(mean_ + trend_ + hw_level_ + err_plain_ + err_season_)) {
    // Values near the double range overflowed the models: start over rather than emit NaN.
    reset_models();
    return 0.0;
  }
  // Models restarted (counter decision, overflow) warm up again.
  return model_n_ <= opt_.warmup_samples ? 0.0 : score;
}

double detector::surprise(std::int64_t t_ms, double x, bool gap) {
  const std::size_t slot = slot_of(t_ms);
  if (model_n_ == 0) {
    mean_ = x;
    hw_level_ = x;
    return 0.0;
  }
  // A slot predicts only once it holds a previous day: within its first pass it merely echoes
  // the samples just seen, which would make the seasonal model look better than it is.
  // (visits > round(samples per slot pass), written without a division.)
  constexpr double slot_ms = static_cast<double>(day_ms) / static_cast<double>(season_slots);
  const auto visits = static_cast<double>(season_visits_[slot]);
  const bool seasoned = visits >= 2.0 && (interval_ms_ <= 0.0 ||
                                          visits * interval_ms_ > slot_ms + 0.5 * interval_ms_);
  const double profile = seasoned ? season_[slot] : 0.0;
  const double r_plain = x - (mean_ + trend_);
  const double r_season = x - (hw_level_ + profile);
  // An unvisited slot knows nothing yet (first day, or first sample at this time of day).
  // Across a gap only the daily profile can judge; the plain level restarts from here.
  const bool use_season = seasoned && (gap || err_season_ < err_plain_);
  const double r = use_season ? r_season : (gap ? 0.0 : r_plain);
  const double err = use_season ? err_season_ : err_plain_;
  // The floor keeps flat series finite: a change on a flat line is still very surprising.
  const double floor = 1e-9 + 1e-6 * std::fabs(mean_);
  const double s = model_n_ < opt_.warmup_samples / 3
                       ? 0.0
                       : std::min(std::fabs(r) / (err + floor), max_surprise);

  // Errors are clipped relative to their own scale so one outlier does not blind the model.
  const auto clip = [](double e, double scale) {
    return scale > 0.0 ? std::min(e, 6.0 * scale) : e;
  };
  const double e_season = std::fabs(seasoned ? r_season : r_plain);
  if (gap) {
    mean_ = x;
    trend_ = 0.0;
  } else {
    err_plain_ += opt_.scale_alpha * (clip(std::fabs(r_plain), err_plain_) - err_plain_);
    // Holt's linear method: the level follows its own trend, so a ramp is not a residual.
    const double prev = mean_;
    mean_ += trend_ + opt_.level_alpha * r_plain;
    trend_ += opt_.trend_beta * (mean_ - prev - trend_);
  }
  err_season_ += opt_.scale_alpha * (clip(e_season, err_season_) - err_season_);

  hw_level_ += opt_.season_level_alpha * (x - profile - hw_level_);
  const double offset = x - hw_level_;
  // The daily profile learns only plausible deviations: a level shift belongs to the level,
  // and must not echo from the profile a day later.
  const double bound = 3.0 * err_season_;
  const double innovation = std::clamp(offset - season_[slot], -bound, bound);
  season_[slot] = season_visits_[slot] == 0 ? offset : season_[slot] + opt_.season_gamma * innovation;
  if (season_visits_[slot] < UINT32_MAX) ++season_visits_[slot];
  return s;
}

double detector::relative_score(double s) {
  const double ratio = std::min(1.0, s / (record_ + 1e-9));
  const double scaled = s / opt_.surprise_scale;
  // Fourth power: sharp gate, so ordinary noise records stay low and real outliers pass.
  const double gate = 1.0 - std::exp(-(scaled * scaled) * (scaled * scaled));
  const double score = ratio * gate;
  // Young models have unsettled errors: they may not set a record.
  if (model_n_ > opt_.warmup_samples / 3) {
    record_ = s > record_ ? s * opt_.record_margin : record_ * opt_.record_decay;
  }
  return score;
}

}  // namespace wk::anomaly
