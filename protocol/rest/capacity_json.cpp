#include "protocol/rest/capacity_json.hpp"

#include <cmath>

#include "protocol/http/http_types.hpp"

namespace wk::rest {

std::string capacity_json(const std::vector<capacity_view>& rows) {
  auto num = [](double v) {
    if (!std::isfinite(v)) return std::string("null");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string(buf);
  };
  std::string out = "{\"predictions\":[";
  bool first = true;
  for (const auto& r : rows) {
    if (!first) out += ',';
    first = false;
    out += "{\"prediction\":\"" + http::json_escape(r.prediction) + "\",\"labels\":{";
    bool first_label = true;
    for (const auto& [k, v] : r.labels) {
      if (!first_label) out += ',';
      first_label = false;
      out += "\"" + http::json_escape(k) + "\":\"" + http::json_escape(v) + "\"";
    }
    out += "},\"method\":\"" + http::json_escape(r.method) + "\",\"seconds_to_threshold\":";
    out += r.seconds_to_threshold ? num(*r.seconds_to_threshold) : "null";
    out += ",\"crosses_at_ms\":";
    out += r.seconds_to_threshold && std::isfinite(*r.seconds_to_threshold)
             ? std::to_string(r.at_ms + static_cast<std::int64_t>(*r.seconds_to_threshold * 1000))
             : "null";
    out += ",\"value_at_horizon\":" + num(r.value_at_horizon) + ",\"at_ms\":" + std::to_string(r.at_ms) + "}";
  }
  out += "]}";
  return out;
}

}  // namespace wk::rest
