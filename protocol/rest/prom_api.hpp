#pragma once

// Prometheus's HTTP API (/api/v1/query, /query_range, /series, /labels, /label/<name>/values):
// parameters and response bodies in exactly Prometheus's shape, so Grafana's Prometheus data
// source and promtool can read Watchkeeper.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "promql/engine.hpp"
#include "protocol/http/http_types.hpp"
#include "tsdb/labels.hpp"

namespace wk::rest {

// Unix seconds with an optional fraction ("1435781451.781") or RFC 3339
// ("2015-07-01T20:10:51.781Z", "2015-07-01T22:10:51+02:00"); milliseconds since the epoch.
std::optional<std::int64_t> parse_prom_time(std::string_view text);
// Seconds with an optional fraction ("15", "0.5") or a PromQL duration ("1m30s"); milliseconds.
std::optional<std::int64_t> parse_prom_duration(std::string_view text);

struct instant_query_params {
  std::string query;
  std::int64_t time_ms = 0;
  std::string error;  // bad_data message when set
};
// `time` defaults to now.
instant_query_params parse_instant_query(const std::map<std::string, std::string>& params,
                                         std::int64_t now_ms);

struct range_query_params {
  std::string query;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::int64_t step_ms = 0;
  std::string error;
};
// Refuses end before start, a step that is not positive, and more than max_points points per
// series, with Prometheus's messages.
range_query_params parse_range_query(const std::map<std::string, std::string>& params,
                                     std::int64_t max_points = 11000);

// Selectors of /api/v1/series (`match[]`, repeated) and an optional start/end.
struct series_params {
  std::vector<std::string> match;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  std::string error;
};
// Defaults: the last 5 minutes before now (Prometheus defaults to all time; the head holds only
// the retention window anyway).
series_params parse_series_params(const std::vector<std::pair<std::string, std::string>>& pairs,
                                  std::int64_t now_ms);

// {"status":"success","data":{"resultType":...,"result":...}}
std::string prom_query_json(const promql::query_result& result);
// {"status":"success","data":[{labels},...]}
std::string prom_series_json(const std::vector<tsdb::label_set>& series);
// {"status":"success","data":["a","b"]}
std::string prom_strings_json(const std::vector<std::string>& values);
// {"status":"error","errorType":"bad_data","error":"..."}
std::string prom_error_json(std::string_view error_type, std::string_view message);

// A sample value as Prometheus writes it: shortest round-trip decimal, "NaN", "+Inf", "-Inf".
std::string prom_value(double v);

// Answers one Prometheus API request (GET query string, or a POST form body merged with it):
// endpoint is "query", "query_range", "series", "labels" or "label/<name>/values". Bad
// parameters get 400 bad_data, a query failing on the data 422 execution, an unsupported
// feature 422 with errorType "unsupported". Runs the query; call it off the gateway thread.
http::http_response answer_prom_api(std::string_view endpoint, const http::http_request& req,
                                    const promql::engine& engine, const tsdb::head& head,
                                    std::int64_t now_ms);

}  // namespace wk::rest
