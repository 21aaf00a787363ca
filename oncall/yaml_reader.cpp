#include "oncall/yaml_reader.hpp"

#include <cctype>

#include "oncall/config.hpp"

namespace wk::oncall {
namespace {

constexpr std::int64_t max_duration_ms = 10LL * 366 * 86400 * 1000;

// Prometheus-style duration: "30s", "1h30m", "1w"; units largest first, each at most once.
std::optional<std::int64_t> parse_duration_ms(std::string_view text) {
  struct unit {
    std::string_view name;
    std::int64_t ms;
    int rank;
  };
  // "ms" before "m" so it is not read as minutes.
  static constexpr unit units[] = {{"w", 7 * 86400000LL, 1}, {"d", 86400000, 2},
                                   {"h", 3600000, 3},        {"ms", 1, 6},
                                   {"m", 60000, 4},          {"s", 1000, 5}};
  if (text == "0")
    return 0;
  if (text.empty())
    return std::nullopt;
  std::int64_t total = 0;
  std::size_t pos = 0;
  int last_rank = 0;
  while (pos < text.size()) {
    std::int64_t n = 0;
    std::size_t start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])) &&
           n <= max_duration_ms)
      n = n * 10 + (text[pos++] - '0');
    if (pos == start || n > max_duration_ms)
      return std::nullopt;
    const unit* u = nullptr;
    for (const auto& candidate : units)
      if (text.substr(pos, candidate.name.size()) == candidate.name) {
        u = &candidate;
        break;
      }
    if (!u || u->rank <= last_rank || n > max_duration_ms / u->ms)
      return std::nullopt;
    last_rank = u->rank;
    pos += u->name.size();
    total += n * u->ms;
    if (total > max_duration_ms)
      return std::nullopt;
  }
  return total;
}

}  // namespace

void yaml_reader::error(const YAML::Node& node, const std::string& path, const std::string& message) {
  std::string where;
  if (!file_.empty())
    where += std::string(file_) + ":";
  YAML::Mark mark = node.Mark();
  if (!mark.is_null())
    where += std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + ": ";
  else if (!where.empty())
    where += " ";
  errors_.push_back(where + path + ": " + message);
}

std::optional<std::string> yaml_reader::text(const YAML::Node& node, const std::string& path,
                                             bool allow_empty) {
  if (allow_empty && node.IsNull())
    return std::string();
  if (!node.IsScalar() || (!allow_empty && node.Scalar().empty())) {
    error(node, path, allow_empty ? "must be a text value" : "must be a non-empty value");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<std::int64_t> yaml_reader::rfc3339(const YAML::Node& node, const std::string& path) {
  auto s = text(node, path);
  if (!s)
    return std::nullopt;
  auto t = parse_rfc3339_ms(*s);
  if (!t)
    error(node, path, "invalid time \"" + *s + "\" (RFC 3339, e.g. 2026-01-05T09:00:00Z)");
  return t;
}

std::optional<std::int64_t> yaml_reader::duration(const YAML::Node& node, const std::string& path) {
  auto s = text(node, path);
  if (!s)
    return std::nullopt;
  auto d = parse_duration_ms(*s);
  if (!d)
    error(node, path, "invalid duration \"" + *s + "\" (e.g. 10m, 1h30m, 1w)");
  return d;
}

}  // namespace wk::oncall
