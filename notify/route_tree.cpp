#include "notify/route_tree.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <tuple>

#include <yaml-cpp/yaml.h>

namespace wk::notify {
namespace {

constexpr int max_depth = 32;
constexpr std::int64_t max_duration_ms = 10LL * 366 * 86400 * 1000;

class route_parser {
 public:
  route_parser(std::vector<std::string>& errors, std::string_view file)
      : errors_(errors), file_(file) {}

  route parse(const YAML::Node& node, const route* parent, const std::string& path, int depth) {
    route r;
    if (parent) {
      r.receiver = parent->receiver;
      r.group_by = parent->group_by;
      r.group_by_all = parent->group_by_all;
      r.group_wait_ms = parent->group_wait_ms;
      r.group_interval_ms = parent->group_interval_ms;
      r.repeat_interval_ms = parent->repeat_interval_ms;
    }
    if (!node.IsMap()) {
      error(node, path, "must be a mapping");
      return r;
    }
    for (const auto& kv : node) {
      std::string key = kv.first.Scalar();
      const YAML::Node& value = kv.second;
      std::string at = path + "." + key;
      if (key == "receiver") {
        if (auto s = scalar(value, at))
          r.receiver = *s;
      } else if (key == "continue") {
        if (auto s = scalar(value, at)) {
          if (*s == "true")
            r.continue_ = true;
          else if (*s == "false")
            r.continue_ = false;
          else
            error(value, at, "must be true or false");
        }
      } else if (key == "group_by") {
        parse_group_by(value, at, r);
      } else if (key == "matchers") {
        for_each_item(value, at, [&](const YAML::Node& item, const std::string& item_at) {
          if (auto s = scalar(item, item_at))
            if (auto err = parse_matchers(*s, r.matchers))
              error(item, item_at, *err);
        });
      } else if (key == "match" || key == "match_re") {
        parse_legacy(value, at, key == "match_re" ? match_op::regex : match_op::equal, r);
      } else if (key == "group_wait" || key == "group_interval" || key == "repeat_interval") {
        auto s = scalar(value, at);
        if (!s)
          continue;
        auto ms = parse_duration_ms(*s);
        if (!ms) {
          error(value, at, "invalid duration \"" + *s + "\" (use e.g. 500ms, 30s, 4h)");
          continue;
        }
        if (key != "group_wait" && *ms == 0) {
          error(value, at, "must be greater than zero");
          continue;
        }
        (key == "group_wait"       ? r.group_wait_ms
         : key == "group_interval" ? r.group_interval_ms
                                   : r.repeat_interval_ms) = *ms;
      } else if (key == "routes") {
        // Children come after the whole mapping is read, so they inherit this route's values
        // whatever the key order.
      } else if (key == "mute_time_intervals" || key == "active_time_intervals") {
        error(kv.first, at, "not supported here: use silences and maintenance windows instead");
      } else {
        error(kv.first, at, "unknown key");
      }
    }
    std::sort(r.matchers.begin(), r.matchers.end(), [](const matcher& a, const matcher& b) {
      return std::tie(a.name(), a.value()) < std::tie(b.name(), b.value());
    });
    std::string own = "{";
    for (std::size_t i = 0; i < r.matchers.size(); ++i)
      own += (i ? "," : "") + r.matchers[i].str();
    own += "}";
    r.key = parent ? parent->key + "/" + own : own;

    if (const YAML::Node children = node["routes"]) {
      if (depth >= max_depth) {
        error(children, path + ".routes", "routes nested deeper than 32 levels");
      } else {
        for_each_item(children, path + ".routes",
                      [&](const YAML::Node& child, const std::string& child_at) {
                        r.routes.push_back(parse(child, &r, child_at, depth + 1));
                      });
      }
    }
    return r;
  }

  void error(const YAML::Node& node, const std::string& path, const std::string& message) {
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

 private:
  std::optional<std::string> scalar(const YAML::Node& node, const std::string& at) {
    if (!node.IsScalar()) {
      error(node, at, "must be a single value");
      return std::nullopt;
    }
    return node.Scalar();
  }

  template <typename F>
  void for_each_item(const YAML::Node& node, const std::string& at, F f) {
    if (!node.IsSequence()) {
      error(node, at, "must be a list");
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i)
      f(node[i], at + "[" + std::to_string(i) + "]");
  }

  void parse_group_by(const YAML::Node& value, const std::string& at, route& r) {
    r.group_by.clear();
    r.group_by_all = false;
    for_each_item(value, at, [&](const YAML::Node& item, const std::string& item_at) {
      auto s = scalar(item, item_at);
      if (!s)
        return;
      if (*s == "...") {
        r.group_by_all = true;
        return;
      }
      std::string err;
      if (!matcher::make(*s, match_op::equal, "", &err))
        error(item, item_at, err);
      else if (std::find(r.group_by.begin(), r.group_by.end(), *s) == r.group_by.end())
        r.group_by.push_back(*s);
    });
    if (r.group_by_all && !r.group_by.empty())
      error(value, at, "'...' must be the only entry");
  }

  void parse_legacy(const YAML::Node& value, const std::string& at, match_op op, route& r) {
    if (!value.IsMap()) {
      error(value, at, "must be a mapping of label name to value");
      return;
    }
    for (const auto& kv : value) {
      std::string name = kv.first.Scalar();
      auto v = scalar(kv.second, at + "." + name);
      if (!v)
        continue;
      std::string err;
      auto m = matcher::make(name, op, *v, &err);
      if (m)
        r.matchers.push_back(std::move(*m));
      else
        error(kv.first, at + "." + name, err);
    }
  }

  std::vector<std::string>& errors_;
  std::string_view file_;
};

std::string label_value(const std::map<std::string, std::string>& labels, const std::string& name) {
  auto it = labels.find(name);
  return it == labels.end() ? std::string() : it->second;
}

bool matches_all(const route& r, const std::map<std::string, std::string>& labels) {
  return std::all_of(r.matchers.begin(), r.matchers.end(),
                     [&](const matcher& m) { return m.matches(label_value(labels, m.name())); });
}

void collect(const route& r, const std::map<std::string, std::string>& labels,
             std::vector<const route*>& out) {
  std::size_t before = out.size();
  for (const auto& child : r.routes) {
    if (!matches_all(child, labels))
      continue;
    collect(child, labels, out);
    if (!child.continue_)
      break;
  }
  if (out.size() == before)
    out.push_back(&r);
}

}  // namespace

route parse_route(const YAML::Node& node, std::vector<std::string>& errors, std::string_view file) {
  route_parser parser(errors, file);
  if (!node.IsDefined() || node.IsNull()) {
    parser.error(node, "route", "missing");
    return route{};
  }
  route root = parser.parse(node, nullptr, "route", 0);
  if (root.receiver.empty())
    parser.error(node, "route.receiver", "the root route must name a receiver");
  if (!root.matchers.empty())
    parser.error(node, "route", "the root route must not have matchers");
  return root;
}

std::vector<const route*> match_routes(const route& root,
                                       const std::map<std::string, std::string>& labels) {
  std::vector<const route*> out;
  if (matches_all(root, labels))
    collect(root, labels, out);
  return out;
}

std::string group_key(const route& r, const std::map<std::string, std::string>& labels) {
  std::string out = r.key + ":{";
  bool first = true;
  auto add = [&](const std::string& name, const std::string& value) {
    out += (first ? "" : ", ") + name + "=" + go_quote(value);
    first = false;
  };
  if (r.group_by_all) {
    for (const auto& [name, value] : labels)
      add(name, value);
  } else {
    std::vector<std::string> names = r.group_by;
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      auto it = labels.find(name);
      if (it != labels.end())
        add(name, it->second);
    }
  }
  return out + "}";
}

std::optional<std::int64_t> parse_duration_ms(std::string_view text) {
  if (text.empty())
    return std::nullopt;
  if (text == "0")
    return 0;
  struct unit {
    std::string_view name;
    std::int64_t ms;
  };
  // Longest names first so "ms" is not read as "m".
  static constexpr unit units[] = {{"ms", 1},       {"y", 365LL * 86400000}, {"w", 7 * 86400000LL},
                                   {"d", 86400000}, {"h", 3600000},          {"m", 60000},
                                   {"s", 1000}};
  std::int64_t total = 0;
  std::size_t pos = 0;
  std::size_t last_unit = 0;
  while (pos < text.size()) {
    std::int64_t n = 0;
    std::size_t start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      n = n * 10 + (text[pos] - '0');
      if (n > max_duration_ms)
        return std::nullopt;
      ++pos;
    }
    if (pos == start)
      return std::nullopt;
    std::size_t which = 0;
    for (; which < std::size(units); ++which)
      if (text.substr(pos, units[which].name.size()) == units[which].name)
        break;
    if (which == std::size(units))
      return std::nullopt;
    // Units must go from larger to smaller, each at most once (Prometheus's rule).
    std::size_t rank = which == 0 ? 7 : which;
    if (rank <= last_unit)
      return std::nullopt;
    last_unit = rank;
    pos += units[which].name.size();
    if (n > max_duration_ms / units[which].ms)
      return std::nullopt;
    total += n * units[which].ms;
    if (total > max_duration_ms)
      return std::nullopt;
  }
  return total;
}

}  // namespace wk::notify
