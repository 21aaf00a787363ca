#pragma once

// JSON bodies of /api/silences and /api/maintenance.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "notify/matcher.hpp"
#include "silences/model.hpp"

namespace wk::rest {

// POST /api/silences: {"matchers":["service=\"x\""],"starts_at":..,"ends_at":..,"comment":..}
struct silence_request {
  std::vector<notify::matcher> matchers;
  std::int64_t starts_at_ms = 0, ends_at_ms = 0;
  std::string comment;
};

inline constexpr std::size_t max_silence_body_bytes = 1 << 20;
inline constexpr std::size_t max_silence_matchers = 50;
inline constexpr std::size_t max_silence_comment_chars = 1000;

// Parses the POST /api/silences body; on error returns nullopt and sets *detail to a precise
// message ("matchers[1]: invalid regex ...", "ends_at must be after starts_at", "unknown field
// \"x\"", "body is not valid JSON at offset 12: ..."). starts_at defaults to now_ms; ends_at is
// required and must be after now_ms; times are unix ms integers or RFC 3339 strings within years
// 0000-9999; comment <= 1000 characters (null = absent); 1 to 50 matchers after expanding
// braced lists; a silence whose every matcher matches the empty string is refused because it
// would mute everything. detail may be null.
std::optional<silence_request> parse_silence_request(std::string_view body, std::int64_t now_ms,
                                                     std::string* detail);

// One object: id, matchers (as Alertmanager prints them), starts_at_ms, ends_at_ms, created_by,
// created_at_ms, comment, source, state (pending|active|expired) and active.
std::string silence_json(const silences::silence& s, std::int64_t now_ms);
// {"silences":[...]}
std::string silences_json(const std::vector<silences::silence>& v, std::int64_t now_ms);
// {"maintenance_windows":[{name, matchers, repeat, start_ms, duration_ms, time_zone,
// until_ms|null, comment, active, current_end_ms|null, next_start_ms|null}]}
std::string maintenance_json(const std::vector<silences::maintenance_window>& v,
                             std::int64_t now_ms);

}  // namespace wk::rest
