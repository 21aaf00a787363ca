#pragma once

#include <string>
#include <vector>

namespace wk::config {

struct config_error {
  std::string file;
  int line = 0;     // 1-based; 0 when the error has no place in the file
  int column = 0;   // 1-based; 0 when unknown
  std::string key;  // dotted path, e.g. services[2].health[0].timeout; empty for syntax errors
  std::string message;
  // "file:line:col: key: message", leaving out the parts that are unknown.
  std::string to_string() const;
};

// One error per line, each ending in '\n'.
std::string config_error_report(const std::vector<config_error>& errors);

}  // namespace wk::config
