#pragma once

// GET /api/capacity: the latest recorded estimate of every configured prediction's series.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wk::rest {

struct capacity_view {
  std::string prediction;
  std::map<std::string, std::string> labels;
  std::string method;
  std::optional<double> seconds_to_threshold;  // none: not within the horizon
  double value_at_horizon = 0;
  std::int64_t at_ms = 0;
};

// {"predictions":[{"prediction","labels","method","seconds_to_threshold"|null,
//  "crosses_at_ms"|null,"value_at_horizon","at_ms"}]}
std::string capacity_json(const std::vector<capacity_view>& rows);

}  // namespace wk::rest
