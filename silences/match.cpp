#include "silences/match.hpp"

#include <algorithm>

namespace wk::silences {
namespace {

// Measured: glibc compiles a{1,100} in about 2 ms, a{1,1000} in 80 ms, a{1,32767} in over a minute.
constexpr std::int64_t max_repetition_product = 100;

}  // namespace

std::optional<std::string> matcher_hazard(std::string_view raw) {
  if (raw.find('~') == std::string_view::npos)
    return std::nullopt;
  std::int64_t product = 1;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size() && raw[i + 1] >= '1' && raw[i + 1] <= '9')
      return std::string("back-references (\\1 ... \\9) are not allowed");
    if (raw[i] != '{')
      continue;
    // {m}, {m,} or {m,n}; a braced matcher list ({a="b"}) is not digits and is skipped.
    std::size_t j = i + 1;
    std::int64_t bound = 0;
    bool digits = false;
    while (j < raw.size() && ((raw[j] >= '0' && raw[j] <= '9') || raw[j] == ',')) {
      if (raw[j] != ',') {
        std::int64_t n = 0;
        while (j < raw.size() && raw[j] >= '0' && raw[j] <= '9' && n <= 1000000)
          n = n * 10 + (raw[j++] - '0');
        bound = std::max(bound, n);
        digits = true;
      } else {
        ++j;
      }
    }
    if (!digits || j >= raw.size() || raw[j] != '}')
      continue;
    product *= std::max<std::int64_t>(bound, 1);
    if (product > max_repetition_product)
      return "regex repetition counts multiply to more than " +
             std::to_string(max_repetition_product) + "; use * or + instead";
  }
  return std::nullopt;
}

bool matches(const std::vector<notify::matcher>& ms,
             const std::map<std::string, std::string>& labels) {
  for (const auto& m : ms) {
    auto it = labels.find(m.name());
    if (!m.matches(it == labels.end() ? std::string_view{} : std::string_view{it->second}))
      return false;
  }
  return true;
}

bool active(const silence& s, std::int64_t now_ms) {
  return s.starts_at_ms <= now_ms && now_ms < s.ends_at_ms;
}

std::vector<std::string> silenced_by(const std::vector<silence>& all,
                                     const std::map<std::string, std::string>& labels,
                                     std::int64_t now_ms) {
  std::vector<std::string> ids;
  for (const auto& s : all)
    if (!s.matchers.empty() && active(s, now_ms) && matches(s.matchers, labels))
      ids.push_back(s.id);
  return ids;
}

}  // namespace wk::silences
