#pragma once

#include <string>

#include "config/spec.hpp"

namespace wk::config {

// One line of JSON (which is YAML) holding every field of the service, defaults resolved, so
// that parse_service gives back an equal service whatever defaults it is given. Holds header
// values as they are: treat the text as secret wherever headers may carry credentials.
std::string service_to_yaml(const service_spec& service);

}  // namespace wk::config
