#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/error.hpp"
#include "config/spec.hpp"

namespace wk::config {

// Inputs larger than this are refused before parsing.
constexpr std::size_t max_config_bytes = 16 * 1024 * 1024;

// config is set only when errors is empty; errors are in file order.
struct load_result {
  std::optional<watchkeeper_config> config;
  std::vector<config_error> errors;
};

// Loads and validates a whole configuration. ${VAR} and ${VAR:-default} in values are expanded
// from the process environment; WATCHKEEPER_DATABASE_URL, when set and non-empty, replaces
// database.url; tokens given by `env:` are read from the environment and kept only as SHA-256.
load_result load_config_file(const std::string& path);
load_result load_config_string(std::string_view yaml, const std::string& source_name);

// Whether parse_service expands ${VAR}. Off by default: a service posted over REST must not be
// able to pull the server's secrets (say WATCHKEEPER_DATABASE_URL) into a header or URL.
enum class env_expansion { off, on };

struct service_result {
  std::optional<service_spec> service;
  std::vector<config_error> errors;
};

// Validates one service (YAML or JSON) on its own: unset keys take scrape_defaults and
// health_defaults from defaults_from. Whether depends_on names existing services, and whether
// they form a cycle, depends on the services around it: check_dependencies tells.
service_result parse_service(std::string_view yaml_or_json, const std::string& source_name,
                             const watchkeeper_config& defaults_from,
                             env_expansion env = env_expansion::off);

// Problems in the dependencies among a set of services (say the configuration's together with
// those added at run time): names defined twice, a service depending on itself or on an
// unknown service, and every cycle, e.g. "dependency cycle: a -> b -> a". Empty when sound.
std::vector<std::string> check_dependencies(const std::vector<service_spec>& services);

}  // namespace wk::config
