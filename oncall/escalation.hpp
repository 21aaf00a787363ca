#pragma once

// Escalation policies as a pure step function: the incident actor stores which (level,
// repetition) pairs it has paged and asks plan_escalation what is due; timers then survive a
// restart because only triggered_ms and acked_ms need to be persisted.
//
// Timing follows PagerDuty: level 0 is paged when the incident triggers; each level's delay_ms
// is how long it has to acknowledge before the next level is paged. After the last level's
// delay the policy starts over at level 0, `repeat` more times. An acknowledgement stops
// everything due at or after it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wk::oncall {

struct target {
  enum class kind { user, schedule, channel };
  kind type = kind::user;
  std::string id;  // user id, schedule name or notification channel (receiver) name
};

struct escalation_level {
  std::int64_t delay_ms = 0;
  std::vector<target> targets;
};

struct escalation_policy {
  std::string name;
  std::vector<escalation_level> levels;
  int repeat = 0;  // extra passes over all levels; clamped to [0, 100]
};

struct due_level {
  std::size_t level = 0;
  int repetition = 0;  // 0 for the first pass
  std::int64_t due_ms = 0;
};

struct escalation_plan {
  std::vector<due_level> due;               // every level due by now (and before any ack), in order
  std::optional<std::int64_t> next_due_ms;  // when the next level becomes due; none when done
};

escalation_plan plan_escalation(const escalation_policy& p, std::int64_t triggered_ms,
                                std::optional<std::int64_t> acked_ms, std::int64_t now_ms);

}  // namespace wk::oncall
