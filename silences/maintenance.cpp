#include "silences/maintenance.hpp"

#include <algorithm>
#include <memory>

#include "oncall/time_zone.hpp"
#include "silences/match.hpp"

namespace wk::silences {
namespace {

constexpr std::int64_t day_s = 86400;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

unsigned days_in_month(std::int64_t year, unsigned month) {
  static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : days[month - 1];
}

// A window's first start taken apart into local calendar fields, from which occurrence k is
// rebuilt; estimates of k are refined by checking a few neighbours, which covers offset changes
// and skipped months (no two consecutive months both lack a day).
class occurrence_plan {
 public:
  static std::optional<occurrence_plan> make(const maintenance_window& w) {
    if (w.duration_ms <= 0 || w.duration_ms > max_time_ms - min_time_ms ||
        w.start_ms < min_time_ms || w.start_ms >= max_time_ms ||
        (w.until_ms != 0 && w.until_ms <= w.start_ms))
      return std::nullopt;
    auto tz = oncall::time_zone::get(w.time_zone, nullptr);
    if (!tz)
      return std::nullopt;
    occurrence_plan s(w, std::move(tz));
    std::int64_t start_s = floor_div(w.start_ms, 1000);
    s.sub_ms_ = w.start_ms - start_s * 1000;
    std::int64_t local = s.tz_->to_local(start_s);
    s.local_days_ = floor_div(local, day_s);
    s.second_of_day_ = local - s.local_days_ * day_s;
    oncall::civil_from_days(s.local_days_, s.year_, s.month_, s.day_);
    return s;
  }

  // Start of occurrence k >= 0; nullopt for a skipped month or beyond max_time_ms.
  std::optional<std::int64_t> start_of(std::int64_t k) const {
    if (k == 0)
      return w_.start_ms;
    std::int64_t days;
    switch (w_.repeat) {
      case maintenance_window::recurrence::none: return std::nullopt;
      case maintenance_window::recurrence::daily: days = local_days_ + k; break;
      case maintenance_window::recurrence::weekly: days = local_days_ + 7 * k; break;
      case maintenance_window::recurrence::monthly: {
        std::int64_t index = year_ * 12 + (month_ - 1) + k;
        std::int64_t year = floor_div(index, 12);
        auto month = static_cast<unsigned>(index - year * 12 + 1);
        if (day_ > days_in_month(year, month))
          return std::nullopt;
        days = oncall::days_from_civil(year, month, day_);
        break;
      }
      default: return std::nullopt;
    }
    std::int64_t ms = tz_->to_utc(days * day_s + second_of_day_) * 1000 + sub_ms_;
    if (ms >= max_time_ms)
      return std::nullopt;
    return ms;
  }

  // The index of the occurrence whose local date is nearest t_ms, never negative.
  std::int64_t index_near(std::int64_t t_ms) const {
    t_ms = std::clamp(t_ms, min_time_ms, max_time_ms);
    std::int64_t days = floor_div(tz_->to_local(floor_div(t_ms, 1000)), day_s);
    std::int64_t k = 0;
    switch (w_.repeat) {
      case maintenance_window::recurrence::none: break;
      case maintenance_window::recurrence::daily: k = days - local_days_; break;
      case maintenance_window::recurrence::weekly: k = floor_div(days - local_days_, 7); break;
      case maintenance_window::recurrence::monthly: {
        std::int64_t year;
        unsigned month, day;
        oncall::civil_from_days(days, year, month, day);
        k = (year * 12 + month) - (year_ * 12 + month_);
        break;
      }
    }
    return std::max<std::int64_t>(k, 0);
  }

  // The latest occurrence start at or before t_ms (until not considered).
  std::optional<std::int64_t> last_start_at_or_before(std::int64_t t_ms) const {
    if (t_ms < w_.start_ms)
      return std::nullopt;
    std::int64_t k0 = index_near(t_ms);
    for (std::int64_t k = k0 + 1; k >= std::max<std::int64_t>(0, k0 - 3); --k)
      if (auto s = start_of(k); s && *s <= t_ms)
        return s;
    return std::nullopt;
  }

  // The first occurrence start strictly after t_ms (until not considered).
  std::optional<std::int64_t> first_start_after(std::int64_t t_ms) const {
    if (t_ms < w_.start_ms)
      return w_.start_ms;
    std::int64_t k0 = index_near(t_ms);
    for (std::int64_t k = std::max<std::int64_t>(0, k0 - 1); k <= k0 + 3; ++k)
      if (auto s = start_of(k); s && *s > t_ms)
        return s;
    return std::nullopt;
  }

  bool before_until(std::int64_t start_ms) const {
    return w_.until_ms == 0 || start_ms < w_.until_ms;
  }

 private:
  occurrence_plan(const maintenance_window& w, std::shared_ptr<const oncall::time_zone> tz)
      : w_(w), tz_(std::move(tz)) {}

  const maintenance_window& w_;
  std::shared_ptr<const oncall::time_zone> tz_;
  std::int64_t local_days_ = 0, second_of_day_ = 0, sub_ms_ = 0;
  std::int64_t year_ = 0;
  unsigned month_ = 1, day_ = 1;
};

}  // namespace

std::int64_t repeat_period_ms(maintenance_window::recurrence r) {
  switch (r) {
    case maintenance_window::recurrence::daily: return day_s * 1000;
    case maintenance_window::recurrence::weekly: return 7 * day_s * 1000;
    case maintenance_window::recurrence::monthly: return 28 * day_s * 1000;
    default: return 0;
  }
}

std::string_view recurrence_name(maintenance_window::recurrence r) {
  switch (r) {
    case maintenance_window::recurrence::daily: return "daily";
    case maintenance_window::recurrence::weekly: return "weekly";
    case maintenance_window::recurrence::monthly: return "monthly";
    default: return "none";
  }
}

std::optional<maintenance_window::recurrence> parse_recurrence(std::string_view name) {
  for (auto r : {maintenance_window::recurrence::none, maintenance_window::recurrence::daily,
                 maintenance_window::recurrence::weekly, maintenance_window::recurrence::monthly})
    if (recurrence_name(r) == name)
      return r;
  return std::nullopt;
}

std::optional<occurrence> current_occurrence(const maintenance_window& w, std::int64_t now_ms) {
  auto s = occurrence_plan::make(w);
  if (!s)
    return std::nullopt;
  // No occurrence starts at or after until, so the latest candidate starts before it.
  std::int64_t limit = w.until_ms == 0 ? now_ms : std::min(now_ms, w.until_ms - 1);
  // Occurrences share one duration, so if the latest start does not cover now_ms, none does.
  auto start = s->last_start_at_or_before(limit);
  if (!start || now_ms >= *start + w.duration_ms)
    return std::nullopt;
  return occurrence{*start, *start + w.duration_ms};
}

std::optional<occurrence> next_occurrence(const maintenance_window& w, std::int64_t after_ms) {
  auto s = occurrence_plan::make(w);
  if (!s)
    return std::nullopt;
  auto start = s->first_start_after(after_ms);
  if (!start || !s->before_until(*start))
    return std::nullopt;
  return occurrence{*start, *start + w.duration_ms};
}

std::vector<std::string> in_maintenance(const std::vector<maintenance_window>& ws,
                                        const std::map<std::string, std::string>& labels,
                                        std::int64_t now_ms) {
  std::vector<std::string> names;
  for (const auto& w : ws)
    if (matches(w.matchers, labels) && current_occurrence(w, now_ms))
      names.push_back(w.name);
  return names;
}

}  // namespace wk::silences
