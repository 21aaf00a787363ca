#pragma once

// Alertmanager's routing tree: label matchers select receivers, `continue` lets an alert match
// later siblings too, group_by and the three timers are inherited from the parent when unset.
// Defaults are tuned for paging rather than Alertmanager's: group_wait 1 s, group_interval
// 30 s, repeat_interval 4 h.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "notify/matcher.hpp"

namespace YAML {
class Node;
}

namespace wk::notify {

inline constexpr std::int64_t default_group_wait_ms = 1000;
inline constexpr std::int64_t default_group_interval_ms = 30 * 1000;
inline constexpr std::int64_t default_repeat_interval_ms = 4 * 3600 * 1000;

struct route {
  std::vector<matcher> matchers;
  std::string receiver;
  bool continue_ = false;
  std::vector<std::string> group_by;
  bool group_by_all = false;  // group_by: ['...']
  std::int64_t group_wait_ms = default_group_wait_ms;
  std::int64_t group_interval_ms = default_group_interval_ms;
  std::int64_t repeat_interval_ms = default_repeat_interval_ms;
  std::vector<route> routes;
  // Alertmanager's route key: the parent's key, '/', and this route's matchers, e.g.
  // `{}/{severity="critical"}`. Part of every group key.
  std::string key;
};

// Parses Alertmanager's `route:` mapping (receiver, group_by, continue, matchers, match,
// match_re, group_wait, group_interval, repeat_interval, routes), filling unset fields from the
// parent. Errors read "<file>:<line>:<column>: <path>: <message>" (file omitted when empty) and
// are appended to errors; the returned tree is only meaningful when none were added. Nesting is
// limited to 32 levels.
route parse_route(const YAML::Node& node, std::vector<std::string>& errors,
                  std::string_view file = {});

// Alertmanager's Route.Match: the deepest matching routes in order; a matching child without
// `continue` stops its siblings after it; a route none of whose children match is itself the
// result. Empty when the root's own matchers reject the labels.
std::vector<const route*> match_routes(const route& root,
                                       const std::map<std::string, std::string>& labels);

// "<route key>:{name=\"value\", ...}" over the route's group_by labels present in labels (all
// labels for group_by_all), sorted by name, as Alertmanager builds group keys.
std::string group_key(const route& r, const std::map<std::string, std::string>& labels);

// Prometheus duration ("500ms", "30s", "1h30m", "1d", "2w"); nullopt for anything else or
// more than ten years.
std::optional<std::int64_t> parse_duration_ms(std::string_view text);

}  // namespace wk::notify
