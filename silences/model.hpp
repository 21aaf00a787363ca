#pragma once

// Silences and maintenance windows: label matchers over an alert's labels (service included)
// that suppress notifications, never evaluation.

#include <cstdint>
#include <string>
#include <vector>

#include "notify/matcher.hpp"

namespace wk::silences {

struct silence {
  std::string id;  // "cfg-<name or index>" for configured ones, a random 32-hex id from the API
  std::vector<notify::matcher> matchers;  // all must match; at least one
  std::int64_t starts_at_ms = 0, ends_at_ms = 0;  // active in [starts_at_ms, ends_at_ms)
  std::string created_by, comment;
  std::int64_t created_at_ms = 0;
  std::string source = "api";  // api | config
};

// One-off (recurrence none) or repeating windows, in a time zone so "Sundays 02:00-04:00
// Europe/Berlin" stays at 02:00 local across DST.
struct maintenance_window {
  std::string name;
  std::vector<notify::matcher> matchers;  // all must match; empty = every alert
  enum class recurrence { none, daily, weekly, monthly } repeat = recurrence::none;
  std::int64_t start_ms = 0;     // first occurrence (absolute); later ones keep its local time
  std::int64_t duration_ms = 0;  // > 0
  std::string time_zone = "UTC";
  std::int64_t until_ms = 0;     // no occurrence starts at or after it; 0 = forever
  std::string comment;
};

}  // namespace wk::silences
