#pragma once

// GET /api/predictions: forecasts of the series a PromQL expression selects, with confidence
// bands, and when each will cross a threshold ("disk full in 3.2 days").
//
//   query      PromQL evaluated over the history as a range query
//   service    limits every selector of the query to this service; alone (no query), forecasts
//              each series of the service (the first 100)
//   history    how far back to fit (default 1h; at most the head's retention holds data)
//   step       resolution of the history (default history / 240, at least 1 s)
//   horizon    how far ahead (default 1h)
//   threshold  optional number: time until each series crosses it
//   method     auto (Holt-Winters / damped Holt) | linear (predict_linear's least squares)

#include <cstdint>

#include "promql/engine.hpp"
#include "protocol/http/http_types.hpp"

namespace wk::rest {

// Runs the query and the fits; call it off the gateway thread. 400 problem for bad parameters
// or a query that does not parse, 422 when it fails on the data.
http::http_response answer_predictions(const http::http_request& req, const promql::engine& engine,
                                       std::int64_t now_ms);

}  // namespace wk::rest
