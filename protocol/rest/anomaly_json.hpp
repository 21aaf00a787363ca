#pragma once

// JSON of anomaly events: GET /api/anomalies and the WebSocket's anomalies topic.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wk::rest {

struct anomaly_entry {
  std::string service;
  std::string metric;
  std::map<std::string, std::string> labels;
  double value = 0;
  double score = 0;
  std::int64_t at_ms = 0;
};

std::string anomaly_json(const anomaly_entry& a);
std::string anomalies_json(const std::vector<anomaly_entry>& all);  // {"anomalies":[...]}

}  // namespace wk::rest
