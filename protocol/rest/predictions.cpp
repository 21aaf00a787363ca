#include "protocol/rest/predictions.hpp"

#include <cmath>
#include <cstdlib>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "forecast/eta.hpp"
#include "forecast/forecast.hpp"
#include "promql/error.hpp"
#include "promql/parser.hpp"
#include "protocol/http/uri.hpp"
#include "protocol/rest/prom_api.hpp"
#include "rules/group_evaluator.hpp"
#include "protocol/rest/json_string.hpp"

namespace wk::rest {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::int64_t max_horizon_ms = 366LL * 24 * 3600 * 1000;
constexpr std::int64_t max_history_ms = 31LL * 24 * 3600 * 1000;
constexpr std::size_t max_service_bytes = 256;
constexpr std::string_view all_series_query = "{__name__=~\".+\"}";
constexpr std::size_t max_series = 100;
constexpr std::size_t max_points_out = 500;

void number(writer& w, double v) {
  if (std::isfinite(v))
    w.Double(v);
  else
    w.Null();
}

}  // namespace

http::http_response answer_predictions(const http::http_request& req, const promql::engine& engine,
                                       std::int64_t now_ms) {
  const auto params = http::parse_query(req.raw_query);
  auto bad = [](const std::string& detail) {
    return http::problem(400, "Invalid prediction request", detail);
  };
  for (const auto& [k, v] : params) {
    if (k != "query" && k != "service" && k != "history" && k != "step" && k != "horizon" &&
        k != "threshold" && k != "method")
      return bad("unknown parameter \"" + k +
                 "\" (known: query, service, history, step, horizon, threshold, method)");
  }
  auto get = [&](const char* k) -> const std::string* {
    auto it = params.find(k);
    return it == params.end() ? nullptr : &it->second;
  };
  const auto* service = get("service");
  if (service && (service->empty() || service->size() > max_service_bytes))
    return bad("service must be a service name of 1-" + std::to_string(max_service_bytes) +
               " bytes");
  const auto* given = get("query");
  if (given && given->empty()) given = nullptr;
  if (!given && !service)
    return bad("query or service is required, e.g. query=node_filesystem_avail_bytes or "
               "service=api");
  // A service alone forecasts each of its series (up to the series limit).
  const std::string query = given ? *given : std::string(all_series_query);
  auto duration = [&](const char* k, std::int64_t def, std::int64_t max, std::int64_t& out) -> std::string {
    out = def;
    if (const auto* v = get(k)) {
      const auto d = parse_prom_duration(*v);
      if (!d || *d <= 0 || *d > max)
        return std::string(k) + " must be a positive duration (\"1h\", \"30m\", seconds) of at most " +
               std::to_string(max / 86'400'000) + " days";
      out = *d;
    }
    return {};
  };
  std::int64_t history = 0, horizon = 0, step = 0;
  if (auto e = duration("history", 3'600'000, max_history_ms, history); !e.empty()) return bad(e);
  if (auto e = duration("horizon", 3'600'000, max_horizon_ms, horizon); !e.empty()) return bad(e);
  if (auto e = duration("step", std::max<std::int64_t>(1000, history / 240), history, step); !e.empty())
    return bad(e);
  if (history / step > 11000) return bad("history / step gives more than 11000 points; raise step");
  std::optional<double> threshold;
  if (const auto* t = get("threshold")) {
    char* end = nullptr;
    const double v = std::strtod(t->c_str(), &end);
    if (t->empty() || end != t->c_str() + t->size() || !std::isfinite(v))
      return bad("threshold must be a number, got \"" + *t + "\"");
    threshold = v;
  }
  bool linear = false;
  if (const auto* m = get("method")) {
    if (*m != "auto" && *m != "linear") return bad("method must be auto or linear");
    linear = *m == "linear";
  }

  promql::query_result result;
  try {
    // With a service, every selector of the query is limited to it, as in its rule files.
    const auto parsed = promql::parse(query);
    const auto scoped = service ? rules::with_matcher(*parsed, "service", *service) : nullptr;
    result = engine.range_query(scoped ? *scoped : *parsed, now_ms - history, now_ms, step);
  } catch (const promql::error& e) {
    if (e.kind() == promql::error_kind::parse) return bad(e.what());
    return http::problem(422, "Query failed", e.what());
  }

  forecast::forecast_options o;
  o.horizon_ms = horizon;
  // Enough points to draw; never more than max_points_out.
  o.step_ms = std::max<std::int64_t>(step, horizon / static_cast<std::int64_t>(max_points_out));

  rapidjson::StringBuffer sb;
  writer w(sb);
  w.StartObject();
  w.Key("query");
  write_string(w, query);
  if (service) {
    w.Key("service");
    write_string(w, *service);
  }
  w.Key("generated_at_ms");
  w.Int64(now_ms);
  w.Key("predictions");
  w.StartArray();
  std::size_t n = 0;
  for (const auto& s : result.matrix) {
    if (n++ == max_series) break;
    std::vector<forecast::point> points;
    points.reserve(s.samples.size());
    for (const auto& p : s.samples) points.push_back({p.t, p.v});
    const auto f = linear ? forecast::forecast_linear(points, o) : forecast::forecast(points, o);
    w.StartObject();
    w.Key("metric");
    w.StartObject();
    for (const auto& l : s.labels.labels()) {
      w.Key(l.name.data(), static_cast<rapidjson::SizeType>(l.name.size()));
      write_string(w, l.value);
    }
    w.EndObject();
    if (!f.error.empty()) {
      w.Key("error");
      write_string(w, f.error);
      w.EndObject();
      continue;
    }
    w.Key("method");
    write_string(w, f.method);
    w.Key("mae");
    number(w, f.mae);
    w.Key("last");
    w.StartArray();
    w.Int64(f.last_t_ms);
    number(w, f.last_value);
    w.EndArray();
    w.Key("points");  // [t_ms, mean, lower, upper]
    w.StartArray();
    for (const auto& p : f.points) {
      w.StartArray();
      w.Int64(p.t_ms);
      number(w, p.mean);
      number(w, p.lower);
      number(w, p.upper);
      w.EndArray();
    }
    w.EndArray();
    if (threshold) {
      const auto eta = forecast::time_to_threshold(f, *threshold);
      w.Key("threshold");
      w.StartObject();
      w.Key("value");
      number(w, *threshold);
      w.Key("reached");
      w.Bool(eta.reached);
      w.Key("rising");
      w.Bool(eta.rising);
      if (eta.reached) {
        w.Key("at_ms");
        w.Int64(eta.at_ms);
        w.Key("text");
        write_string(w, forecast::humanize_eta(now_ms, eta.at_ms));
      }
      if (eta.band_reached) {
        w.Key("earliest_ms");
        w.Int64(eta.earliest_ms);
      }
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("truncated");
  w.Bool(result.matrix.size() > max_series);
  w.EndObject();
  return http::json_response(200, sb.GetString());
}

}  // namespace wk::rest
