#pragma once

// The `silences:` and `maintenance_windows:` parts of the configuration.
//
//   silences:                       # read-only over REST; ids "cfg-<index>"
//     - matchers: ['service="db"']  # at least one; not all of them may match an empty label
//       starts_at: 2026-01-01T00:00:00Z
//       ends_at: 2027-01-01T00:00:00Z
//       created_by: ops             # optional, default "config"
//       comment: migration          # optional
//   maintenance_windows:
//     - name: sunday-patch          # unique
//       matchers: ['service=~"db|cache"']   # optional; empty = every alert
//       start: "2026-01-04T02:00:00"        # RFC 3339 with offset, or YYYY-MM-DDTHH:MM[:SS]
//                                           # local in time_zone (must exist there)
//       time_zone: Europe/Berlin            # IANA, default UTC
//       duration: 2h                        # > 0 and shorter than the repeat period
//       repeat: weekly                      # none (default) | daily | weekly | monthly
//       until: ""                           # optional, same formats as start; after start
//       comment: ""
//
// A configured silence gets source "config" and created_at_ms = starts_at (it has no creation
// time of its own). Either key may be absent. Other top-level keys are left to their own
// parsers. Errors read "<file>:<line>:<column>: <path>: <message>" and name every problem, not
// just the first; only entries without errors are returned.

#include <string>
#include <string_view>
#include <vector>

#include "silences/model.hpp"

namespace YAML {
class Node;
}

namespace wk::silences {

struct silence_config {
  std::vector<silence> silences;
  std::vector<maintenance_window> maintenance_windows;
};

silence_config parse_silence_config(const YAML::Node& root, std::vector<std::string>& errors,
                                    std::string_view file = {});

}  // namespace wk::silences
