#pragma once

// JSON bodies of /api/services.

#include <string>
#include <vector>

#include "watch/service_status.hpp"

namespace wk::rest {

std::string service_json(const watch::service_status& s);
std::string services_json(const std::vector<watch::service_status>& all);

}  // namespace wk::rest
