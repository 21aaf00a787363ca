#include "config/error.hpp"

namespace wk::config {

std::string config_error::to_string() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) out += ':' + std::to_string(column);
  }
  out += ": ";
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

std::string config_error_report(const std::vector<config_error>& errors) {
  std::string out;
  for (const auto& error : errors) {
    out += error.to_string();
    out += '\n';
  }
  return out;
}

}  // namespace wk::config
