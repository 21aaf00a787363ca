#pragma once

// Health checks as series, so rules and anomaly detectors see them like scraped data
// (names as the Blackbox exporter's): probe_success, probe_duration_seconds,
// probe_http_status_code (HTTP checks that got an answer) and probe_tls_days_left (HTTPS),
// labelled service, check and the service's own labels.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tsdb/head.hpp"

namespace wk::watch {

struct probe_result {
  bool ok = false;
  double latency_seconds = 0;
  std::optional<int> http_status;       // absent for TCP checks and transport failures
  std::optional<double> tls_days_left;  // absent when no certificate was seen
};

class probe_recorder {
 public:
  probe_recorder(std::string service, std::string check,
                 const std::map<std::string, std::string>& service_labels);

  // Appends one sample per series at t_ms. Series refs are kept between calls and created again
  // when the head dropped them. Returns the samples the head refused (out of order, too old).
  std::size_t record(tsdb::head& head, std::int64_t t_ms, const probe_result& r);

 private:
  struct series {
    tsdb::label_set labels;
    std::optional<tsdb::series_ref> ref;
  };
  series& named(const char* name);
  bool append(tsdb::head& head, series& s, std::int64_t t_ms, double v);

  std::vector<tsdb::label> base_;
  std::map<std::string, series> series_;
};

}  // namespace wk::watch
