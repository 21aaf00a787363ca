#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

// Online anomaly detector: one parameter set for every series, O(1) time and memory per sample;
// learns daily and weekly seasonality from the sample timestamps (UTC).
namespace wk::anomaly {

struct detector_options {
  // Samples scored 0 while the models settle.
  std::size_t warmup_samples = 150;
  // Plain model: Holt level (EWMA weight per sample) and trend weight (0 turns the trend off).
  double level_alpha = 0.05;
  double trend_beta = 0.01;
  // Seasonal model: its level is slower than the plain one, so the daily profile carries the
  // daily swing; a time-of-day slot learns with `season_gamma` per visit.
  double season_level_alpha = 0.01;
  double season_gamma = 0.15;
  // EWMA weight of the mean absolute residual that scales the surprise.
  double scale_alpha = 0.02;
  // Relative component: a surprise counts fully only when it beats the series' own recent
  // record. The record decays per sample and is raised by `record_margin` when broken, so a
  // burst of anomalous samples alarms once, not on every sample.
  double record_decay = 0.997;
  double record_margin = 1.25;
  // Absolute component: surprise (residual / mean absolute residual) at which the score
  // reaches 1 - 1/e; keeps records on clean, quiet series from alarming.
  double surprise_scale = 6.0;
  // Recurrence: a surprise of at least `recurrence_surprise` is an event. A surprise no bigger
  // than `recurrence_ratio` times the last event is old news on a series that has such events
  // often: its score is multiplied by exp(-events expected within `recurrence_window` samples),
  // the event rate being an average over about 1 / `recurrence_alpha` samples.
  double recurrence_surprise = 24.0;
  double recurrence_ratio = 2.0;
  double recurrence_window = 50.0;
  double recurrence_alpha = 0.002;
};

class detector {
 public:
  // Time-of-day slots of the daily seasonal model (fixed: constant memory per series).
  static constexpr std::size_t season_slots = 48;
  // Day-of-week x half-hour slots of the weekly seasonal model, and the number of weeks a
  // slot must have seen before that model may explain a sample.
  static constexpr std::size_t week_slots = 7 * season_slots;
  static constexpr std::uint8_t week_trust_passes = 2;

  // Throws std::invalid_argument when an option is out of range.
  explicit detector(detector_options options = {});

  // Feeds one sample; returns the anomaly score in [0, 1]. Non-finite values are ignored
  // (score 0); timestamps may have gaps and repeat.
  double update(std::int64_t t_ms, double v);

  std::size_t memory_bytes() const { return sizeof(*this); }
  std::size_t samples_seen() const { return n_; }

 private:
  double surprise(std::int64_t t_ms, double x, bool gap, std::size_t wslot, bool new_pass);
  double relative_score(double s);
  void reset_models();

  detector_options opt_;
  std::size_t n_ = 0;
  // Samples since the residual models (re)started; they are trusted after a third of warm-up.
  std::size_t model_n_ = 0;
  double last_v_ = 0.0;
  std::int64_t last_t_ = 0;
  double interval_ms_ = 0.0;
  // Counter detection: a series that never decreased during warm-up is modelled by its rate.
  bool counter_ = false;
  bool decreased_ = false;
  // Weekly slot of the newest timestamp seen (a new pass starts when time leaves it).
  std::uint16_t newest_week_slot_ = 0;
  double first_v_ = 0.0;
  // Plain level model and Holt-Winters-style level + time-of-day offsets; the one with the
  // smaller recent error explains the sample (the weekly model below competes in its turn).
  double mean_ = 0.0;
  double trend_ = 0.0;
  double hw_level_ = 0.0;
  double err_plain_ = 0.0;
  double err_season_ = 0.0;
  std::array<double, season_slots> season_{};
  std::array<std::uint32_t, season_slots> season_visits_{};
  // Weekly model: its own level and day-of-week x time-of-day offsets (NaN: never seen).
  // Offsets are floats (half the memory; a weekly swing needs no more precision), and a slot
  // counts the weeks (passes) it has seen rather than samples, so irregular intervals and gaps
  // do not fool it. The daily and weekly models take turns by their errors over about a week.
  double week_level_ = 0.0;
  double err_week_ = 0.0;
  double long_season_ = 0.0;
  double long_week_ = 0.0;
  std::array<float, week_slots> week_{};
  std::array<std::uint8_t, week_slots> week_passes_{};
  double record_ = 0.0;
  // Events (surprises >= recurrence_surprise) per sample, and the surprise of the last one.
  double event_rate_ = 0.0;
  double last_event_ = 0.0;
};

}  // namespace wk::anomaly
