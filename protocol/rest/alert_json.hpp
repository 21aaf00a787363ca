#pragma once

// JSON bodies of /api/alerts and of alert events on the WebSocket.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wk::rest {

struct alert_entry {
  std::string alertname;
  std::string service;  // "" when the alert has no service label
  std::string state;    // pending | firing | resolved
  std::string rule_group;
  std::map<std::string, std::string> labels, annotations;
  double value = 0;
  std::int64_t active_at_ms = 0, fired_at_ms = 0, resolved_at_ms = 0;
  std::string fingerprint;
};

// GET /api/alerts?state=firing&service=api&alertname=X&limit=100
struct alert_filter {
  std::string state;  // pending | firing | resolved; empty: pending and firing
  std::string service;
  std::string alertname;
  std::size_t limit = 500;
  std::string error;
};
alert_filter parse_alert_filter(const std::map<std::string, std::string>& query);

std::string alert_json(const alert_entry& a);
// {"alerts":[...],"total":N} of the entries matching the filter, at most limit of them.
std::string alerts_json(const std::vector<alert_entry>& all, const alert_filter& filter);

}  // namespace wk::rest
