#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wk::config {

// Prometheus duration syntax: units y w d h m s ms, each at most once and in that order
// ("1m30s", "500ms", "2h", "1d"); "0" alone is zero. Rejects values past int64 nanoseconds so
// callers can convert freely.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// The canonical spelling parse_duration accepts back ("90000" ms -> "1m30s", zero -> "0s").
std::string format_duration(std::chrono::milliseconds value);

// Byte sizes: a plain integer is bytes; units B, KB MB GB TB PB EB (powers of 1000) and
// KiB MiB GiB TiB PiB EiB (powers of 1024), case-insensitive, optionally after one space.
std::optional<std::uint64_t> parse_size(std::string_view text);
// The shortest exact spelling parse_size accepts back ("10MiB", "1GB", "1500").
std::string format_size(std::uint64_t bytes);

// An inclusive range of HTTP status codes; 2xx by default.
struct status_range {
  int first = 200;
  int last = 299;
};
bool operator==(const status_range& a, const status_range& b);
bool operator!=(const status_range& a, const status_range& b);

// "204", "2xx" or "200-299"; codes 100..599.
std::optional<status_range> parse_status_range(std::string_view text);
// The spelling parse_status_range accepts back: "204", "2xx" or "200-299".
std::string format_status_range(const status_range& range);
// True when status lies in any of the ranges (an empty list matches nothing).
bool status_matches(const std::vector<status_range>& ranges, int status);

}  // namespace wk::config
