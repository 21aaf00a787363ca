#include "silences/match.hpp"

namespace wk::silences {

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
