#include "anomaly/detector.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace wk::anomaly {

namespace {

constexpr std::int64_t day_ms = 86'400'000;
constexpr std::int64_t week_ms = 7 * day_ms;
constexpr std::int64_t week_slot_ms = week_ms / static_cast<std::int64_t>(detector::week_slots);
// Surprise is capped so one absurd sample cannot set a record that silences the series for good.
constexpr double max_surprise = 1000.0;
// A silence longer than this many typical intervals is a gap (scrape outage, restart).
constexpr double gap_intervals = 12.0;

// b - a for b > a, without signed overflow however far apart hostile timestamps are.
std::uint64_t elapsed_ms(std::int64_t a, std::int64_t b) {
  return b > a ? static_cast<std::uint64_t>(b) - static_cast<std::uint64_t>(a) : 0;
}

std::size_t slot_of(std::int64_t t_ms) {
  std::int64_t tod = t_ms % day_ms;
  if (tod < 0) tod += day_ms;
  return static_cast<std::size_t>(tod / (day_ms / static_cast<std::int64_t>(detector::season_slots)));
}

std::int64_t time_of_week(std::int64_t t_ms) {
  const std::int64_t tow = t_ms % week_ms;
  return tow < 0 ? tow + week_ms : tow;
}

std::size_t week_slot_of(std::int64_t t_ms) {
  return static_cast<std::size_t>(time_of_week(t_ms) / week_slot_ms);
}

// The two weekly slots whose centres bracket t, and the weight of the later one: the weekly
// profile is read and learned by linear interpolation, so a steep ramp (office hours start)
// is not a staircase of half-hour steps.
struct week_bracket {
  std::size_t lo, hi;
  double w;
};

week_bracket week_bracket_of(std::int64_t t_ms) {
  const std::int64_t from_centre = time_of_week(t_ms) - week_slot_ms / 2;
  const std::int64_t shifted = from_centre < 0 ? from_centre + week_ms : from_centre;
  const auto lo = static_cast<std::size_t>(shifted / week_slot_ms);
  const double w = static_cast<double>(shifted % week_slot_ms) / static_cast<double>(week_slot_ms);
  return {lo, (lo + 1) % detector::week_slots, w};
}

}  // namespace

detector::detector(detector_options options) : opt_(options) {
  const auto unit = [](double a) { return a > 0.0 && a <= 1.0; };
  const bool ok = unit(opt_.level_alpha) && opt_.trend_beta >= 0.0 && opt_.trend_beta <= 1.0 &&
                  unit(opt_.season_level_alpha) && unit(opt_.season_gamma) &&
                  unit(opt_.scale_alpha) && unit(opt_.record_decay) &&
                  opt_.record_margin >= 1.0 && opt_.record_margin < 1e6 &&
                  opt_.surprise_scale > 0.0 && opt_.surprise_scale < 1e6 &&
                  opt_.recurrence_surprise > 0.0 && opt_.recurrence_surprise < 1e6 &&
                  opt_.recurrence_ratio >= 1.0 && opt_.recurrence_ratio < 1e6 &&
                  opt_.recurrence_window >= 0.0 && opt_.recurrence_window < 1e9 &&
                  unit(opt_.recurrence_alpha);
  if (!ok) {
    throw std::invalid_argument(
        "detector_options: alphas, gamma and record_decay must lie in (0, 1], trend_beta in "
        "[0, 1], record_margin and recurrence_ratio in [1, 1e6), surprise_scale and "
        "recurrence_surprise in (0, 1e6), recurrence_window in [0, 1e9)");
  }
  week_.fill(std::numeric_limits<float>::quiet_NaN());
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
  week_level_ = 0.0;
  err_week_ = 0.0;
  long_season_ = 0.0;
  long_week_ = 0.0;
  week_.fill(std::numeric_limits<float>::quiet_NaN());
  week_passes_.fill(0);
  record_ = 0.0;
  event_rate_ = 0.0;
  last_event_ = 0.0;
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
  // A weekly slot starts a new pass when time moves on into it, or back to it after a silence
  // at least one slot long (a gap of whole weeks lands in the same slot). A late sample
  // (older than the newest) starts none, so out-of-order data cannot fake weeks of history.
  const std::uint64_t since_last = elapsed_ms(last_t_, t_ms);
  const std::size_t week_slot = week_slot_of(t_ms);
  const bool new_pass =
      model_n_ == 0 ||
      (since_last > 0 && (week_slot != newest_week_slot_ ||
                          since_last >= static_cast<std::uint64_t>(week_slot_ms)));
  if (n_ == 0 || since_last > 0) newest_week_slot_ = static_cast<std::uint16_t>(week_slot);
  if (n_ > 0 && t_ms > last_t_) {
    const auto dt = static_cast<double>(since_last);
    gap = interval_ms_ > 0.0 && dt > gap_intervals * interval_ms_;
    if (interval_ms_ == 0.0) interval_ms_ = dt;
    else if (!gap) interval_ms_ += 0.05 * (dt - interval_ms_);
  }
  last_t_ = std::max(last_t_, t_ms);
  ++n_;
  const double s = surprise(t_ms, x, gap, week_slot, new_pass);
  ++model_n_;
  const double score = relative_score(s);
  if (!std::isfinite(score) ||
      !std::isfinite(mean_ + trend_ + hw_level_ + err_plain_ + err_season_ + week_level_ +
                     err_week_ + long_season_ + long_week_)) {
    // Values near the double range overflowed the models: start over rather than emit NaN.
    reset_models();
    return 0.0;
  }
  // Models restarted (counter decision, overflow) warm up again.
  return model_n_ <= opt_.warmup_samples ? 0.0 : score;
}

double detector::surprise(std::int64_t t_ms, double x, bool gap, std::size_t wslot,
                          bool new_pass) {
  const std::size_t slot = slot_of(t_ms);
  if (new_pass && week_passes_[wslot] < UINT8_MAX) ++week_passes_[wslot];
  if (model_n_ == 0) {
    mean_ = x;
    hw_level_ = x;
    week_level_ = x;
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
  // A weekly slot predicts from its second week on (its error is tracked from then), and may
  // explain a sample only once it has seen `week_trust_passes` earlier weeks.
  const week_bracket b = week_bracket_of(t_ms);
  const double week_lo = week_[b.lo];
  const double week_hi = week_[b.hi];
  const bool week_learned = !std::isnan(week_lo) && !std::isnan(week_hi);
  // Passes are those of the slot holding t: with hourly samples the neighbour slot may never
  // hold one, and learns only through the interpolation.
  const std::uint8_t passes = week_passes_[wslot];
  const bool week_predicts = week_learned && passes >= 2;
  const bool week_trusted = week_predicts && passes > week_trust_passes;
  const double week_profile = week_predicts ? (1.0 - b.w) * week_lo + b.w * week_hi : 0.0;
  const double r_plain = x - (mean_ + trend_);
  const double r_season = x - (hw_level_ + profile);
  const double r_week = x - (week_level_ + week_profile);
  // Of the plain, daily and weekly models, the one with the smallest recent error explains
  // the sample. An unvisited slot knows nothing yet (first day, or first sample at this time
  // of day). Across a gap only the seasonal profiles can judge; the plain level restarts here.
  bool judged = !gap;
  double r = gap ? 0.0 : r_plain;
  double err = err_plain_;
  // The weekly model is the daily one that also knows the day of the week; the two take turns
  // by their errors over days, not samples: a daily profile looks as good as the weekly one on
  // any quiet night and fails on Saturday morning.
  const bool weekly = week_trusted && (!seasoned || long_week_ < long_season_);
  if ((weekly || seasoned) && (!judged || (weekly ? err_week_ : err_season_) < err)) {
    r = weekly ? r_week : r_season;
    err = weekly ? err_week_ : err_season_;
  }
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
  // Until its slot has a week behind it, the weekly model's error is the daily one's, so it
  // starts level with the daily model rather than ahead of it.
  const double e_week = week_predicts ? std::fabs(r_week) : e_season;
  err_week_ += opt_.scale_alpha * (clip(e_week, err_week_) - err_week_);
  // The long-run errors that choose between the daily and weekly models span about a week
  // (at most 1e5 samples) whatever the interval: the daily model misses once or twice a week.
  constexpr double per_week_ms = 1.0 / static_cast<double>(week_ms);
  const double long_alpha =
      interval_ms_ > 0.0 ? std::clamp(interval_ms_ * per_week_ms, 1e-5, 0.05) : 0.05;
  long_season_ += long_alpha * (clip(e_season, long_season_) - long_season_);
  long_week_ += long_alpha * (clip(e_week, long_week_) - long_week_);

  hw_level_ += opt_.season_level_alpha * (x - profile - hw_level_);
  const double offset = x - hw_level_;
  // The daily profile learns only plausible deviations: a level shift belongs to the level,
  // and must not echo from the profile a day later.
  const double bound = 3.0 * err_season_;
  const double innovation = std::clamp(offset - season_[slot], -bound, bound);
  season_[slot] = season_visits_[slot] == 0 ? offset : season_[slot] + opt_.season_gamma * innovation;
  if (season_visits_[slot] < UINT32_MAX) ++season_visits_[slot];

  week_level_ += opt_.season_level_alpha * (x - week_profile - week_level_);
  const double week_offset = x - week_level_;
  // Offsets beyond the float range cannot be stored; the model then predicts badly and loses.
  const auto store = [](double v) {
    return static_cast<float>(
        std::clamp(v, -static_cast<double>(FLT_MAX), static_cast<double>(FLT_MAX)));
  };
  if (!week_learned) {
    // First sight of a slot: it starts from the offset seen nearest to it.
    if (std::isnan(week_lo)) week_[b.lo] = store(week_offset);
    if (std::isnan(week_hi)) week_[b.hi] = store(week_offset);
  } else {
    const double predicted = (1.0 - b.w) * week_lo + b.w * week_hi;
    const double week_bound = 3.0 * err_week_;
    // A slot sees its time of the week only once a week: with few samples per pass (hourly
    // data) it averages its first weeks before settling to `season_gamma`, or what it learned
    // in the first week would linger for months. The step is split so the prediction at t
    // moves by `rate`.
    const double per_pass =
        interval_ms_ > 0.0 ? std::max(1.0, static_cast<double>(week_slot_ms) / interval_ms_)
                           : 1.0;
    const double rate =
        std::max(opt_.season_gamma, 1.0 / (std::max<double>(1.0, passes) * per_pass));
    const double norm = (1.0 - b.w) * (1.0 - b.w) + b.w * b.w;
    const double step =
        rate * std::clamp(week_offset - predicted, -week_bound, week_bound) / norm;
    week_[b.lo] = store(week_lo + (1.0 - b.w) * step);
    week_[b.hi] = store(week_hi + b.w * step);
  }
  return s;
}

double detector::relative_score(double s) {
  const double ratio = std::min(1.0, s / (record_ + 1e-9));
  const double scaled = s / opt_.surprise_scale;
  // Fourth power: sharp gate, so ordinary noise records stay low and real outliers pass.
  const double gate = 1.0 - std::exp(-(scaled * scaled) * (scaled * scaled));
  // A surprise the series keeps producing (regular spikes) beats the decaying record each time
  // it comes back; how often such surprises happen tells it apart from news.
  const bool recurring = last_event_ > 0.0 && s <= opt_.recurrence_ratio * last_event_;
  const double discount = recurring ? std::exp(-event_rate_ * opt_.recurrence_window) : 1.0;
  const double score = ratio * gate * discount;
  // Young models have unsettled errors: they may not set a record.
  if (model_n_ > opt_.warmup_samples / 3) {
    record_ = s > record_ ? s * opt_.record_margin : record_ * opt_.record_decay;
    const bool event = s >= opt_.recurrence_surprise;
    event_rate_ += opt_.recurrence_alpha * ((event ? 1.0 : 0.0) - event_rate_);
    if (event) last_event_ = s;
  }
  return score;
}

}  // namespace wk::anomaly
