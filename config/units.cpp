#include "config/units.hpp"

#include <array>
#include <cctype>
#include <limits>

namespace wk::config {

namespace {

// Largest duration whose nanosecond count still fits an int64.
constexpr std::uint64_t max_duration_ms =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / 1'000'000;

struct duration_unit {
  std::string_view suffix;
  std::uint64_t ms;
};
// In the order Prometheus requires them.
constexpr std::array<duration_unit, 7> duration_units = {{
    {"y", 365ULL * 24 * 3600 * 1000},
    {"w", 7ULL * 24 * 3600 * 1000},
    {"d", 24ULL * 3600 * 1000},
    {"h", 3600ULL * 1000},
    {"m", 60ULL * 1000},
    {"s", 1000},
    {"ms", 1},
}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads a run of digits at text[pos]; false when there is none or it overflows.
bool read_digits(std::string_view text, std::size_t& pos, std::uint64_t& value) {
  const std::size_t start = pos;
  value = 0;
  while (pos < text.size() && is_digit(text[pos])) {
    const auto digit = static_cast<std::uint64_t>(text[pos] - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
    value = value * 10 + digit;
    ++pos;
  }
  return pos > start;
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

struct size_unit {
  std::string_view suffix;
  std::uint64_t bytes;
};
// Binary units first so format_size prefers them when both divide exactly.
constexpr std::array<size_unit, 13> size_units = {{
    {"EiB", 1ULL << 60},
    {"PiB", 1ULL << 50},
    {"TiB", 1ULL << 40},
    {"GiB", 1ULL << 30},
    {"MiB", 1ULL << 20},
    {"KiB", 1ULL << 10},
    {"EB", 1'000'000'000'000'000'000ULL},
    {"PB", 1'000'000'000'000'000ULL},
    {"TB", 1'000'000'000'000ULL},
    {"GB", 1'000'000'000ULL},
    {"MB", 1'000'000ULL},
    {"KB", 1'000ULL},
    {"B", 1},
}};

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text == "0") return std::chrono::milliseconds{0};
  if (text.empty()) return std::nullopt;
  std::uint64_t total = 0;
  std::size_t next_unit = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::uint64_t count = 0;
    if (!read_digits(text, pos, count)) return std::nullopt;
    // "ms" must win over "m" followed by a stray "s".
    std::size_t unit = duration_units.size();
    for (std::size_t i = next_unit; i < duration_units.size(); ++i) {
      const auto suffix = duration_units[i].suffix;
      if (text.substr(pos, suffix.size()) != suffix) continue;
      if (suffix == "m" && text.substr(pos, 2) == "ms") continue;
      unit = i;
      break;
    }
    if (unit == duration_units.size()) return std::nullopt;
    pos += duration_units[unit].suffix.size();
    next_unit = unit + 1;
    if (count > max_duration_ms / duration_units[unit].ms) return std::nullopt;
    total += count * duration_units[unit].ms;
    if (total > max_duration_ms) return std::nullopt;
  }
  return std::chrono::milliseconds{static_cast<std::int64_t>(total)};
}

std::string format_duration(std::chrono::milliseconds value) {
  if (value.count() <= 0) return "0s";
  auto rest = static_cast<std::uint64_t>(value.count());
  std::string out;
  for (const auto& unit : duration_units) {
    if (rest < unit.ms) continue;
    out += std::to_string(rest / unit.ms);
    out += unit.suffix;
    rest %= unit.ms;
  }
  return out;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::size_t pos = 0;
  std::uint64_t count = 0;
  if (!read_digits(text, pos, count)) return std::nullopt;
  std::string_view suffix = text.substr(pos);
  if (suffix.empty()) return count;
  if (suffix.front() == ' ') suffix.remove_prefix(1);
  for (const auto& unit : size_units) {
    if (!equals_ignore_case(suffix, unit.suffix)) continue;
    if (count > std::numeric_limits<std::uint64_t>::max() / unit.bytes) return std::nullopt;
    return count * unit.bytes;
  }
  return std::nullopt;
}

std::string format_size(std::uint64_t bytes) {
  if (bytes == 0) return "0";
  for (const auto& unit : size_units) {
    if (unit.bytes > 1 && bytes % unit.bytes == 0) {
      return std::to_string(bytes / unit.bytes) + std::string(unit.suffix);
    }
  }
  return std::to_string(bytes);
}

bool operator==(const status_range& a, const status_range& b) {
  return a.first == b.first && a.last == b.last;
}

bool operator!=(const status_range& a, const status_range& b) { return !(a == b); }

std::optional<status_range> parse_status_range(std::string_view text) {
  constexpr int lowest = 100;
  constexpr int highest = 599;
  if (text.size() == 3 && is_digit(text[0]) && (text[1] == 'x' || text[1] == 'X') &&
      (text[2] == 'x' || text[2] == 'X')) {
    const int hundreds = (text[0] - '0') * 100;
    if (hundreds < lowest || hundreds > highest) return std::nullopt;
    return status_range{hundreds, hundreds + 99};
  }
  const auto read_code = [](std::string_view part) -> std::optional<int> {
    if (part.size() != 3) return std::nullopt;
    int code = 0;
    for (const char c : part) {
      if (!is_digit(c)) return std::nullopt;
      code = code * 10 + (c - '0');
    }
    if (code < lowest || code > highest) return std::nullopt;
    return code;
  };
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) {
    const auto code = read_code(text);
    if (!code) return std::nullopt;
    return status_range{*code, *code};
  }
  const auto first = read_code(text.substr(0, dash));
  const auto last = read_code(text.substr(dash + 1));
  if (!first || !last || *first > *last) return std::nullopt;
  return status_range{*first, *last};
}

std::string format_status_range(const status_range& range) {
  if (range.first == range.last) return std::to_string(range.first);
  if (range.first % 100 == 0 && range.last == range.first + 99) {
    return std::to_string(range.first / 100) + "xx";
  }
  return std::to_string(range.first) + "-" + std::to_string(range.last);
}

bool status_matches(const std::vector<status_range>& ranges, int status) {
  for (const auto& range : ranges) {
    if (status >= range.first && status <= range.last) return true;
  }
  return false;
}

}  // namespace wk::config
