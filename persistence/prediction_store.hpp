#pragma once

// Capacity predictions as they change, kept for GET /api/capacity.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wk::persistence {

struct prediction_row {
  std::string prediction;
  std::map<std::string, std::string> labels;
  std::string method;
  std::optional<double> seconds_to_threshold;  // none: not within the horizon
  double value_at_horizon = 0;
  std::int64_t at_ms = 0;
};

// One connection, opened on first use and reopened after a failure; used from one thread.
// Every call either succeeds or throws persistence::error.
class prediction_store {
 public:
  static constexpr std::size_t max_rows = 10000;

  explicit prediction_store(std::string url);
  ~prediction_store();
  prediction_store(prediction_store&&) noexcept;
  prediction_store& operator=(prediction_store&&) noexcept;

  void record(const std::vector<prediction_row>& rows);  // one transaction
  // The latest row of every (prediction, labels), soonest crossing first; prediction "" = any.
  std::vector<prediction_row> latest(const std::string& prediction, std::size_t limit);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wk::persistence
