#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace wk::config {

// Looks up one environment variable; nullopt when it is not set.
using env_lookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (getenv).
std::optional<std::string> process_env(const std::string& name);

struct expansion {
  std::string text;
  std::string error;  // empty on success
};

// Expands ${VAR} and ${VAR:-default} (the default applies when VAR is unset or empty);
// "$$" is a literal "$", and a "$" followed by anything else stays as it is. An unset variable
// without a default, a bad name or a missing "}" is an error naming the problem.
expansion expand_env(std::string_view text, const env_lookup& lookup);

}  // namespace wk::config
