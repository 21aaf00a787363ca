#pragma once

// Reading a YAML section with every problem reported as "<file>:<line>:<column>: <path>:
// <message>": the common ground of the on-call and silence parsers. Derive and add the
// section's own rules.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace wk::oncall {

class yaml_reader {
 public:
  static constexpr std::size_t max_items = 10000;  // per list: a hostile file stays cheap

  yaml_reader(std::vector<std::string>& errors, std::string_view file)
      : errors_(errors), file_(file) {}

  void error(const YAML::Node& node, const std::string& path, const std::string& message);
  std::size_t error_count() const { return errors_.size(); }

  // Calls f(key, value, path) for each entry of a mapping, rejecting keys not in allowed.
  template <typename F>
  bool each_key(const YAML::Node& node, const std::string& path,
                std::initializer_list<std::string_view> allowed, F f) {
    if (!node.IsMap()) {
      error(node, path, "must be a mapping");
      return false;
    }
    for (const auto& kv : node) {
      std::string key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        error(kv.first, path + "." + key, "unknown key");
        continue;
      }
      f(key, kv.second, path + "." + key);
    }
    return true;
  }

  // Calls f(item, path) or f(item, path, index) for each item of a list.
  template <typename F>
  void each_item(const YAML::Node& node, const std::string& path, F f) {
    if (!node.IsSequence()) {
      error(node, path, "must be a list");
      return;
    }
    if (node.size() > max_items) {
      error(node, path, "more than " + std::to_string(max_items) + " entries");
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string at = path + "[" + std::to_string(i) + "]";
      if constexpr (std::is_invocable_v<F&, const YAML::Node&, const std::string&, std::size_t>)
        f(node[i], at, i);
      else
        f(node[i], at);
    }
  }

  // A scalar; empty text only when allow_empty (a null node then reads as empty text).
  std::optional<std::string> text(const YAML::Node& node, const std::string& path,
                                  bool allow_empty = false);
  // RFC 3339 as unix ms.
  std::optional<std::int64_t> rfc3339(const YAML::Node& node, const std::string& path);
  // "10m", "1h30m", "1w" as ms.
  std::optional<std::int64_t> duration(const YAML::Node& node, const std::string& path);

 private:
  std::vector<std::string>& errors_;
  std::string_view file_;
};

}  // namespace wk::oncall
