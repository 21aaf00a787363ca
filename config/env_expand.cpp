#include "config/env_expand.hpp"

#include <cstdlib>

namespace wk::config {

namespace {

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

expansion expand_env(std::string_view text, const env_lookup& lookup) {
  expansion out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto dollar = text.find('$', pos);
    if (dollar == std::string_view::npos || dollar + 1 == text.size()) {
      out.text.append(text.substr(pos));
      break;
    }
    out.text.append(text.substr(pos, dollar - pos));
    const char next = text[dollar + 1];
    if (next == '$') {
      out.text.push_back('$');
      pos = dollar + 2;
      continue;
    }
    if (next != '{') {
      out.text.push_back('$');
      pos = dollar + 1;
      continue;
    }
    const auto close = text.find('}', dollar + 2);
    if (close == std::string_view::npos) {
      out.error = "\"${\" without a closing \"}\" (write \"$$\" for a literal \"$\")";
      return out;
    }
    const std::string_view inner = text.substr(dollar + 2, close - dollar - 2);
    const auto default_at = inner.find(":-");
    const std::string name(inner.substr(0, default_at));
    if (!valid_name(name)) {
      out.error = "\"${" + std::string(inner.substr(0, 64)) +
                  "}\" does not name an environment variable ([A-Za-z_][A-Za-z0-9_]*)";
      return out;
    }
    const auto value = lookup(name);
    if (default_at != std::string_view::npos && (!value || value->empty())) {
      out.text.append(inner.substr(default_at + 2));
    } else if (value) {
      out.text.append(*value);
    } else {
      out.error = "environment variable \"" + name + "\" is not set (write ${" + name +
                  ":-default} to give a default)";
      return out;
    }
    pos = close + 1;
  }
  return out;
}

}  // namespace wk::config
