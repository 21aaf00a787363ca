#include "oncall/schedule.hpp"

#include <algorithm>
#include <limits>

#include "oncall/time_zone.hpp"

namespace wk::oncall {
namespace {

constexpr std::int64_t day_ms = 86400000;
constexpr std::int64_t no_boundary = std::numeric_limits<std::int64_t>::max();
// About 17,000 years either side of 1970 (half the time zone's own range): instants beyond are
// read as these, which keeps the hand-off arithmetic far from overflow.
constexpr std::int64_t limit_ms = (1LL << 39) * 1000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// A layer with its zone resolved and its hand-off anchor in local milliseconds.
class layer_view {
 public:
  explicit layer_view(const rotation_layer& l) : layer_(l) {
    zone_ = time_zone::get(l.time_zone.empty() ? "UTC" : l.time_zone, nullptr);
    if (!zone_ || l.turn_length_ms <= 0 || l.users.empty())
      return;
    std::int64_t start_local = to_local(l.start_ms);
    anchor_local_ = start_local;
    if (auto minute = parse_clock(l.handoff_time)) {
      anchor_local_ = floor_div(start_local, day_ms) * day_ms + *minute * 60000LL;
      if (anchor_local_ > start_local)
        anchor_local_ -= day_ms;
    }
    usable_ = true;
  }

  // The layer's user at t, or nullptr.
  const std::string* user_at(std::int64_t t) const {
    t = std::clamp(t, -limit_ms, limit_ms);
    if (!usable_ || t < layer_.start_ms || !within_restrictions(t))
      return nullptr;
    std::int64_t k = turn_at(t);
    return &layer_.users[static_cast<std::size_t>(k %
                                                  static_cast<std::int64_t>(layer_.users.size()))];
  }

  // The first instant after t at which user_at may change.
  std::int64_t next_boundary(std::int64_t t) const {
    if (!usable_)
      return no_boundary;
    t = std::clamp(t, -limit_ms, limit_ms);
    if (t < layer_.start_ms)
      return layer_.start_ms;
    std::int64_t next = handoff(turn_at(t) + 1);
    if (!layer_.restrictions.empty()) {
      std::int64_t day = floor_div(to_local(t), day_ms);
      for (std::int64_t d = day - 1; d <= day + 8; ++d) {
        for (const auto& r : layer_.restrictions) {
          if (!(r.weekdays >> weekday_of_days(d) & 1u))
            continue;
          auto [open, close] = window(r, d);
          for (std::int64_t edge : {to_utc(open), to_utc(close)})
            if (edge > t)
              next = std::min(next, edge);
        }
      }
    }
    return next;
  }

 private:
  std::int64_t to_local(std::int64_t utc_ms) const {
    std::int64_t s = floor_div(utc_ms, 1000);
    return utc_ms + zone_->offset_at(s) * 1000;
  }
  std::int64_t to_utc(std::int64_t local_ms) const {
    std::int64_t s = floor_div(local_ms, 1000);
    return zone_->to_utc(s) * 1000 + (local_ms - s * 1000);
  }
  std::int64_t handoff(std::int64_t k) const {
    return to_utc(anchor_local_ + k * layer_.turn_length_ms);
  }
  // Turn index at t >= start: the last hand-off at or before t.
  std::int64_t turn_at(std::int64_t t) const {
    std::int64_t k =
        std::max<std::int64_t>(0, floor_div(to_local(t) - anchor_local_, layer_.turn_length_ms));
    // The local clock is not monotonic across a fall-back; settle on the UTC hand-offs, which
    // are at most a step or two away (bounded, should a zone's data be odd).
    for (int step = 0; step < 8 && handoff(k + 1) <= t; ++step)
      ++k;
    for (int step = 0; step < 8 && k > 0 && handoff(k) > t; ++step)
      --k;
    return k;
  }
  static std::pair<std::int64_t, std::int64_t> window(const restriction& r, std::int64_t day) {
    std::int64_t open = day * day_ms + r.from_minute * 60000LL;
    std::int64_t minutes = r.to_minute > r.from_minute ? r.to_minute - r.from_minute
                                                       : r.to_minute + 1440 - r.from_minute;
    return {open, open + minutes * 60000LL};
  }
  bool within_restrictions(std::int64_t t) const {
    if (layer_.restrictions.empty())
      return true;
    std::int64_t day = floor_div(to_local(t), day_ms);
    for (std::int64_t d = day - 1; d <= day; ++d) {
      for (const auto& r : layer_.restrictions) {
        if (!(r.weekdays >> weekday_of_days(d) & 1u))
          continue;
        auto [open, close] = window(r, d);
        if (to_utc(open) <= t && t < to_utc(close))
          return true;
      }
    }
    return false;
  }

  const rotation_layer& layer_;
  std::shared_ptr<const time_zone> zone_;
  std::int64_t anchor_local_ = 0;
  bool usable_ = false;
};

struct schedule_view {
  explicit schedule_view(const schedule& s) : s_(s) {
    for (const auto& l : s.layers)
      layers_.emplace_back(l);
  }

  std::optional<std::string> at(std::int64_t t) const {
    for (auto it = s_.overrides.rbegin(); it != s_.overrides.rend(); ++it)
      if (it->start_ms <= t && t < it->end_ms)
        return it->user;
    for (auto it = layers_.rbegin(); it != layers_.rend(); ++it)
      if (const std::string* u = it->user_at(t))
        return *u;
    return std::nullopt;
  }

  std::int64_t next_boundary(std::int64_t t) const {
    std::int64_t next = no_boundary;
    for (const auto& o : s_.overrides)
      for (std::int64_t edge : {o.start_ms, o.end_ms})
        if (edge > t)
          next = std::min(next, edge);
    for (const auto& l : layers_)
      next = std::min(next, l.next_boundary(t));
    return next;
  }

  const schedule& s_;
  std::vector<layer_view> layers_;
};

}  // namespace

std::optional<int> parse_clock(const std::string& text, bool allow_24) {
  if (text.size() != 5 || text[2] != ':')
    return std::nullopt;
  for (std::size_t i : {0, 1, 3, 4})
    if (text[i] < '0' || text[i] > '9')
      return std::nullopt;
  int h = (text[0] - '0') * 10 + (text[1] - '0');
  int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (allow_24 && h == 24 && m == 0)
    return 1440;
  if (h > 23 || m > 59)
    return std::nullopt;
  return h * 60 + m;
}

std::optional<std::string> on_call(const schedule& s, std::int64_t at_ms) {
  return schedule_view(s).at(at_ms);
}

std::vector<shift> shifts(const schedule& s, std::int64_t from_ms, std::int64_t to_ms,
                          std::size_t max_shifts) {
  std::vector<shift> out;
  schedule_view view(s);
  std::int64_t t = from_ms;
  // Boundaries that do not change the user (restriction edges, hand-offs to the same user)
  // cost an iteration without a new shift; bound those too.
  std::size_t budget = max_shifts * 8 + 64;
  while (t < to_ms && out.size() <= max_shifts && budget-- > 0) {
    std::int64_t next = std::min(to_ms, view.next_boundary(t));
    if (next <= t)
      break;
    if (auto u = view.at(t)) {
      if (!out.empty() && out.back().user == *u && out.back().end_ms == t)
        out.back().end_ms = next;
      else
        out.push_back({*u, t, next});
    }
    t = next;
  }
  if (out.size() > max_shifts)
    out.resize(max_shifts);
  return out;
}

}  // namespace wk::oncall
