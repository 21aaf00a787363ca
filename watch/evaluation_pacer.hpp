#pragma once

// When a service's rule groups run: as soon as a scrape or probe of the service lands (so
// detection never waits for a timer), on each group's interval when no data arrives, and never
// more often than min_gap per group (several checks landing together cost one evaluation; the
// later ones are folded into one deferred run).

#include <cstdint>
#include <vector>

namespace wk::watch {

class evaluation_pacer {
 public:
  // intervals_ms: one per group, each > 0. min_gap_ms >= 0.
  evaluation_pacer(std::vector<std::int64_t> intervals_ms, std::int64_t min_gap_ms);

  // Data landed: the groups to evaluate now (their run is recorded as done at now).
  std::vector<std::size_t> on_data(std::int64_t now_ms);
  // A timer fired: the groups due by interval or deferred by min_gap.
  std::vector<std::size_t> on_timer(std::int64_t now_ms);
  // When on_timer has something to do next; INT64_MAX without groups.
  std::int64_t next_due_ms() const;
  std::size_t groups() const { return groups_.size(); }

 private:
  struct group {
    std::int64_t interval_ms;
    std::int64_t last_ms;  // last evaluation; INT64_MIN before the first
    bool deferred = false;
  };
  std::vector<group> groups_;
  std::int64_t min_gap_ms_;
};

}  // namespace wk::watch
