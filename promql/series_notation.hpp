#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace wk::promql {

// Loads of this many points per series or more are refused: a typo like 1+1x1e9 must not
// exhaust memory.
inline constexpr std::size_t max_points_per_series = 1'000'000;

// One point of the expanding notation; nullopt = omitted ("_").
using series_point = std::optional<double>;

// A malformed value list. unsupported() is set for valid notation this project does not load
// (native histogram samples), so callers can skip instead of failing.
class series_notation_error : public std::runtime_error {
 public:
  series_notation_error(const std::string& message, bool unsupported)
      : std::runtime_error(message), unsupported_(unsupported) {}
  bool unsupported() const { return unsupported_; }

 private:
  bool unsupported_;
};

// A decimal number as the notation writes it (never hexadecimal), or "stale" (the staleness
// marker).
bool parse_series_value(const std::string& text, double& out);

// Expands promqltest's / promtool's value notation: "1 2 _ stale 1+1x3 5-1x2 _x4".
// Throws series_notation_error.
std::vector<series_point> expand_series_values(const std::string& text);

// Splits `name{a="b"} 1 2 3` into the series description and the values text.
std::pair<std::string, std::string> split_series_line(const std::string& line);

}  // namespace wk::promql
