#pragma once

// The on-call part of the configuration: users, schedules and escalation policies.
//
//   users:
//     - id: alice
//       name: Alice Example
//       contacts: [{type: email, address: alice@example.com}, {type: slack, address: "@alice"}]
//   schedules:
//     - name: primary
//       layers:
//         - name: weekdays
//           users: [alice, bob]
//           start: 2026-01-05T09:00:00+01:00     # RFC 3339
//           rotation: weekly                      # daily | weekly | custom (then turn_length)
//           turn_length: 12h                      # custom only; at least 1h
//           handoff_time: "09:00"
//           time_zone: Europe/Berlin
//           restrictions: [{days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}]
//       overrides: [{user: carol, start: 2026-02-01T00:00:00Z, end: 2026-02-02T00:00:00Z}]
//   escalation_policies:
//     - name: default
//       repeat: 2
//       levels:
//         - delay: 10m
//           targets: [{schedule: primary}, {channel: slack-ops}]
//         - delay: 15m
//           targets: [{user: bob}]
//
// Other top-level keys of the node are left to their own parsers. Errors read
// "<file>:<line>:<column>: <path>: <message>" and name every problem, not just the first.

#include <string>
#include <string_view>
#include <vector>

#include "oncall/escalation.hpp"
#include "oncall/schedule.hpp"

namespace YAML {
class Node;
}

namespace wk::oncall {

struct oncall_config {
  std::vector<user> users;
  std::vector<schedule> schedules;
  std::vector<escalation_policy> escalation_policies;
};

oncall_config parse_oncall(const YAML::Node& root, std::vector<std::string>& errors,
                           std::string_view file = {});

// RFC 3339 ("2026-01-05T09:00:00Z", "...+01:00", fractional seconds allowed) as unix ms.
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view text);

}  // namespace wk::oncall
