#pragma once

// The live-metrics WebSocket topic: `metrics:<service>` for every series a scrape of the
// service wrote, or `metrics:<service>{<PromQL label matchers>}` for the ones the selector
// matches, e.g. `metrics:api{__name__=~"http_requests_total|up",code!="200"}`. Each distinct
// topic is a stream of its own, serialized once for all its subscribers.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tsdb/matcher.hpp"

namespace wk::events {

inline constexpr std::string_view metrics_topic_prefix = "metrics:";

struct metrics_topic {
  std::string service;
  std::string selector;                // "" or the "{...}" part as written
  std::vector<tsdb::matcher> matchers;  // the selector's; empty without one
};

// Parses a topic of that form. Returns nullopt for any other topic; *error (when given) then
// says what is wrong with a metrics topic ("" for topics that are not metrics topics at all).
std::optional<metrics_topic> parse_metrics_topic(std::string_view topic,
                                                 std::string* error = nullptr);

}  // namespace wk::events
