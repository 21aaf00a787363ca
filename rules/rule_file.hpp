#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "promql/ast.hpp"

namespace wk::rules {

struct rule {
  enum class kind { alerting, recording } type = kind::alerting;
  std::string name;  // alert or record name
  std::string expr_text;
  std::shared_ptr<const promql::expr> expr;  // parsed once at load
  std::int64_t for_ms = 0, keep_firing_for_ms = 0;
  std::map<std::string, std::string> labels, annotations;  // templates, validated at load
  std::string file;
  int line = 0;
};

struct rule_group {
  std::string name;
  std::int64_t interval_ms = 0;  // 0 = caller's default
  std::size_t limit = 0;         // 0 = no limit
  std::vector<rule> rules;
  std::string file;
  int line = 0;
};

// errors: "file:line:col: group \"g\": rule 2: message" (1-based line, column and rule index).
struct load_result {
  std::vector<rule_group> groups;
  std::vector<std::string> errors;
};

// Rule files larger than this are refused before parsing.
inline constexpr std::size_t max_rule_file_bytes = 32 * 1024 * 1024;

load_result load_rule_file(const std::string& path);
load_result load_rule_text(const std::string& text, const std::string& name);
// Glob patterns relative to base_dir; a pattern matching nothing is NOT an error (Prometheus).
// Files matched by several patterns are loaded once.
load_result load_rule_globs(const std::vector<std::string>& patterns, const std::string& base_dir);

// Prometheus's duration syntax: units y w d h m s ms, each at most once and in that order, or
// "0". False on anything else or on overflow.
bool parse_prometheus_duration(std::string_view text, std::int64_t& ms);
// The inverse, as Prometheus prints durations: "1h30m", "5m", "0s".
std::string format_prometheus_duration(std::int64_t ms);

bool is_valid_metric_name(std::string_view name);
bool is_valid_label_name(std::string_view name);

}  // namespace wk::rules
