#pragma once

// JSON bodies of /api/services.

#include <map>
#include <string>
#include <vector>

#include "watch/service_status.hpp"

namespace wk::rest {

// GET /api/services?state=down&source=api&label=team:payments&limit=50&offset=100
struct service_filter {
  std::string state;   // up | down | degraded | unknown; empty: any
  std::string source;  // config | api; empty: any
  std::string label_name, label_value;
  std::size_t limit = 500;
  std::size_t offset = 0;
  std::string error;   // set when the query is invalid
};
service_filter parse_service_filter(const std::map<std::string, std::string>& query);

std::string service_json(const watch::service_status& s);
// The services matching the filter, sorted by name, one page of them; "total" counts all
// matches so a client can page.
std::string services_json(const std::vector<watch::service_status>& all,
                          const service_filter& filter = {});

}  // namespace wk::rest
