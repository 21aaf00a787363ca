#pragma once

// Anomaly events (a score crossing the threshold), kept for GET /api/anomalies.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wk::persistence {

struct anomaly_row {
  std::string service;
  std::string metric;
  std::map<std::string, std::string> labels;
  double value = 0;
  double score = 0;
  std::int64_t at_ms = 0;
};

// One connection, opened on first use and reopened after a failure; used from one thread.
// Every call either succeeds or throws persistence::error.
class anomaly_store {
 public:
  static constexpr std::size_t max_rows = 10000;

  explicit anomaly_store(std::string url);
  ~anomaly_store();
  anomaly_store(anomaly_store&&) noexcept;
  anomaly_store& operator=(anomaly_store&&) noexcept;

  void record(const std::vector<anomaly_row>& rows);  // one transaction
  // Newest first; service "" = any; since_ms 0 = any time.
  std::vector<anomaly_row> list(const std::string& service, std::int64_t since_ms, std::size_t limit);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wk::persistence
