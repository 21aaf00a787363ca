#pragma once

// Text helpers shared by the renderers: UTF-8 repair, length limits by code point, RFC 3339.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wk::notify {

// Appended where a text was cut to fit a receiver's limit.
inline constexpr std::string_view truncation_marker = "…[truncated]";

// Copy of s with every invalid UTF-8 sequence replaced by U+FFFD, so JSON and MIME output stay
// well-formed whatever bytes labels carry.
std::string sanitize_utf8(std::string_view s);

// Number of code points of valid UTF-8 s.
std::size_t utf8_length(std::string_view s);

// s (valid UTF-8) cut to at most max_code_points code points, ending in truncation_marker when
// cut; the marker counts towards the limit. Never splits a code point.
std::string truncate_utf8(std::string_view s, std::size_t max_code_points);

// truncate_utf8(sanitize_utf8(raw), max_code_points), without reading more of a huge raw
// than the result needs.
std::string clip_utf8(std::string_view raw, std::size_t max_code_points);

// RFC 3339 UTC with milliseconds only when non-zero ("2026-03-29T07:00:00Z",
// "2026-03-29T07:00:00.25Z", like Go's RFC3339Nano). Years outside 0001-9999 are clamped.
std::string format_rfc3339(std::int64_t unix_ms);

// Alertmanager's zero time, sent for an unset timestamp.
inline constexpr std::string_view zero_time = "0001-01-01T00:00:00Z";

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);
void civil_from_days(std::int64_t days, std::int64_t& year, unsigned& month, unsigned& day);

}  // namespace wk::notify
