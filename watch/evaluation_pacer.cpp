#include "watch/evaluation_pacer.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace wk::watch {

namespace {
constexpr std::int64_t never = std::numeric_limits<std::int64_t>::min();
}

evaluation_pacer::evaluation_pacer(std::vector<std::int64_t> intervals_ms, std::int64_t min_gap_ms)
    : min_gap_ms_(std::max<std::int64_t>(0, min_gap_ms)) {
  for (auto interval : intervals_ms) {
    if (interval <= 0) throw std::invalid_argument("rule group interval must be positive");
    groups_.push_back({interval, never, false});
  }
}

std::vector<std::size_t> evaluation_pacer::on_data(std::int64_t now_ms) {
  std::vector<std::size_t> due;
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    auto& g = groups_[i];
    if (g.last_ms == never || now_ms - g.last_ms >= min_gap_ms_) {
      g.last_ms = now_ms;
      g.deferred = false;
      due.push_back(i);
    } else {
      g.deferred = true;
    }
  }
  return due;
}

std::vector<std::size_t> evaluation_pacer::on_timer(std::int64_t now_ms) {
  std::vector<std::size_t> due;
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    auto& g = groups_[i];
    const bool by_interval = g.last_ms == never || now_ms - g.last_ms >= g.interval_ms;
    const bool by_deferral = g.deferred && now_ms - g.last_ms >= min_gap_ms_;
    if (by_interval || by_deferral) {
      g.last_ms = now_ms;
      g.deferred = false;
      due.push_back(i);
    }
  }
  return due;
}

std::int64_t evaluation_pacer::next_due_ms() const {
  std::int64_t next = std::numeric_limits<std::int64_t>::max();
  for (const auto& g : groups_) {
    if (g.last_ms == never) return never;
    next = std::min(next, g.last_ms + (g.deferred ? min_gap_ms_ : g.interval_ms));
  }
  return next;
}

}  // namespace wk::watch
