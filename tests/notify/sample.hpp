#pragma once

// The notifications the payload tests render, and golden-file helpers.

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "notify/notification.hpp"

namespace wk::notify::testing {

// 2026-03-29T07:00:00Z, the morning of Europe's spring DST change.
inline constexpr std::int64_t t0_ms = 1774767600000;

inline notification sample() {
  notification n;
  n.incident_id = "inc-42";
  n.title = "checkout is down";
  n.service = "checkout";
  n.severity = "critical";
  n.transition = "triggered";
  n.status = "triggered";
  n.external_url = "https://wk.example.com/";
  n.receiver = "team-payments";
  n.group_key = "{}/{team=\"payments\"}:{alertname=\"ServiceDown\"}";
  n.at_ms = t0_ms + 1500;
  n.group_labels = {{"alertname", "ServiceDown"}};
  n.common_labels = {{"alertname", "ServiceDown"}, {"service", "checkout"}, {"team", "payments"}};
  n.common_annotations = {{"summary", "checkout has been down for 1 minute"}};
  alert_info a;
  a.status = "firing";
  a.labels = {{"alertname", "ServiceDown"},
              {"instance", "10.0.0.1:8080"},
              {"service", "checkout"},
              {"team", "payments"}};
  a.annotations = {{"summary", "checkout has been down for 1 minute"}};
  a.starts_at_ms = t0_ms - 60000;
  a.generator_url = "https://wk.example.com/graph?g0.expr=up%3D%3D0";
  a.fingerprint = "5f3c8a1e2b4d6f70";
  alert_info b = a;
  b.status = "resolved";
  b.labels["instance"] = "10.0.0.2:8080";
  b.starts_at_ms = t0_ms - 120000;
  b.ends_at_ms = t0_ms - 30250;
  b.fingerprint = "9a8b7c6d5e4f3021";
  n.alerts = {a, b};
  return n;
}

inline std::string fixture_path(const std::string& name) {
  return std::string(WK_SOURCE_DIR) + "/tests/testdata/notify/" + name;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The golden file's bytes; with WK_UPDATE_FIXTURES=1 in the environment it is (re)written from
// actual first, so a deliberate format change is one run plus a reviewed diff.
inline std::string golden(const std::string& name, const std::string& actual) {
  if (const char* update = std::getenv("WK_UPDATE_FIXTURES");
      update && std::string(update) == "1") {
    std::ofstream out(fixture_path(name), std::ios::binary);
    out << actual;
  }
  return read_file(fixture_path(name));
}

}  // namespace wk::notify::testing
