#include "protocol/rest/prom_api.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <type_traits>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "promql/error.hpp"
#include "promql/lexer.hpp"
#include "promql/parser.hpp"
#include "protocol/http/uri.hpp"
#include "protocol/rest/json_string.hpp"

namespace wk::rest {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second))
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  std::size_t pos = 19;
  std::int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    int scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  std::int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  return seconds * 1000 + millis;
}

// A decimal number of seconds, as Prometheus accepts it (no exponent needed in practice, but
// strtod's forms are accepted). Bounded so the millisecond value fits comfortably.
std::optional<std::int64_t> parse_seconds(std::string_view s) {
  if (s.empty() || s.size() > 64) return std::nullopt;
  const std::string text(s);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v) || std::fabs(v) > 9.2e12)
    return std::nullopt;
  return static_cast<std::int64_t>(std::llround(v * 1000.0));
}

const std::string* find(const std::map<std::string, std::string>& params, const char* key) {
  const auto it = params.find(key);
  return it == params.end() ? nullptr : &it->second;
}

void write_labels(writer& w, const tsdb::label_set& labels) {
  w.StartObject();
  for (const auto& l : labels.labels()) {
    write_string(w, l.name);
    write_string(w, l.value);
  }
  w.EndObject();
}

// [seconds, "value"]: a sample, or the text of a string result.
template <class Value>
void write_point(writer& w, std::int64_t t_ms, const Value& v) {
  w.StartArray();
  // Seconds with up to three decimals, as a JSON number.
  char buf[64];
  const std::int64_t whole = t_ms / 1000;
  std::int64_t frac = t_ms % 1000;
  int n;
  if (frac == 0) {
    n = std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(whole));
  } else {
    const bool negative = t_ms < 0;
    if (negative) frac = -frac;
    n = std::snprintf(buf, sizeof buf, "%s%lld.%03lld", negative && whole == 0 ? "-" : "",
                      static_cast<long long>(whole), static_cast<long long>(frac));
    while (buf[n - 1] == '0') --n;
  }
  w.RawValue(buf, static_cast<std::size_t>(n), rapidjson::kNumberType);
  if constexpr (std::is_same_v<Value, double>)
    write_string(w, prom_value(v));
  else
    write_string(w, *v);
  w.EndArray();
}

void start_success(writer& w) {
  w.StartObject();
  w.Key("status");
  w.String("success");
  w.Key("data");
}

}  // namespace

std::optional<std::int64_t> parse_prom_time(std::string_view text) {
  if (auto seconds = parse_seconds(text)) return seconds;
  return parse_rfc3339(text);
}

std::optional<std::int64_t> parse_prom_duration(std::string_view text) {
  if (auto seconds = parse_seconds(text)) return seconds;
  std::int64_t ms = 0;
  if (promql::parse_duration(text, ms)) return ms;
  return std::nullopt;
}

instant_query_params parse_instant_query(const std::map<std::string, std::string>& params,
                                         std::int64_t now_ms) {
  instant_query_params out;
  out.time_ms = now_ms;
  const auto* query = find(params, "query");
  if (query == nullptr || query->empty()) {
    out.error = "invalid parameter \"query\": missing or empty";
    return out;
  }
  out.query = *query;
  if (const auto* time = find(params, "time"); time != nullptr && !time->empty()) {
    const auto t = parse_prom_time(*time);
    if (!t) {
      out.error = "invalid parameter \"time\": cannot parse \"" + *time + "\" to a valid timestamp";
      return out;
    }
    out.time_ms = *t;
  }
  return out;
}

range_query_params parse_range_query(const std::map<std::string, std::string>& params,
                                     std::int64_t max_points) {
  range_query_params out;
  const auto* query = find(params, "query");
  if (query == nullptr || query->empty()) {
    out.error = "invalid parameter \"query\": missing or empty";
    return out;
  }
  out.query = *query;
  for (const char* key : {"start", "end"}) {
    const auto* text = find(params, key);
    const auto t = text == nullptr ? std::nullopt : parse_prom_time(*text);
    if (!t) {
      out.error = std::string("invalid parameter \"") + key + "\": cannot parse \"" +
                  (text ? *text : std::string()) + "\" to a valid timestamp";
      return out;
    }
    (key[0] == 's' ? out.start_ms : out.end_ms) = *t;
  }
  if (out.end_ms < out.start_ms) {
    out.error = "invalid parameter \"end\": end timestamp must not be before start time";
    return out;
  }
  const auto* step = find(params, "step");
  const auto d = step == nullptr ? std::nullopt : parse_prom_duration(*step);
  if (!d) {
    out.error = "invalid parameter \"step\": cannot parse \"" + (step ? *step : std::string()) +
                "\" to a valid duration";
    return out;
  }
  if (*d <= 0) {
    out.error = "invalid parameter \"step\": zero or negative query resolution step widths are "
                "not accepted. Try a positive integer";
    return out;
  }
  out.step_ms = *d;
  if ((out.end_ms - out.start_ms) / out.step_ms >= max_points) {
    out.error = "exceeded maximum resolution of " + std::to_string(max_points) +
                " points per timeseries. Try decreasing the query resolution (?step=XX)";
  }
  return out;
}

series_params parse_series_params(const std::vector<std::pair<std::string, std::string>>& pairs,
                                  std::int64_t now_ms) {
  series_params out;
  out.start_ms = now_ms - 5 * 60 * 1000;
  out.end_ms = now_ms;
  for (const auto& [key, value] : pairs) {
    if (key == "match[]") {
      out.match.push_back(value);
    } else if (key == "start" || key == "end") {
      const auto t = parse_prom_time(value);
      if (!t) {
        out.error = "invalid parameter \"" + key + "\": cannot parse \"" + value +
                    "\" to a valid timestamp";
        return out;
      }
      (key == "start" ? out.start_ms : out.end_ms) = *t;
    }
  }
  if (out.end_ms < out.start_ms)
    out.error = "invalid parameter \"end\": end timestamp must not be before start time";
  return out;
}

std::string prom_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[512];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

std::string prom_query_json(const promql::query_result& result) {
  rapidjson::StringBuffer sb;
  writer w(sb);
  start_success(w);
  w.StartObject();
  w.Key("resultType");
  // The API's names, not PromQL's type names ("instant vector", "range vector").
  static const char* const names[] = {"scalar", "vector", "matrix", "string"};
  w.String(names[static_cast<int>(result.type)]);
  w.Key("result");
  switch (result.type) {
    case promql::value_type::scalar:
      write_point(w, result.t, result.scalar);
      break;
    case promql::value_type::string:
      write_point(w, result.t, &result.str);
      break;
    case promql::value_type::vector:
      w.StartArray();
      for (const auto& e : result.vector) {
        w.StartObject();
        w.Key("metric");
        write_labels(w, e.labels);
        w.Key("value");
        write_point(w, result.t, e.v);
        w.EndObject();
      }
      w.EndArray();
      break;
    case promql::value_type::matrix:
      w.StartArray();
      for (const auto& s : result.matrix) {
        w.StartObject();
        w.Key("metric");
        write_labels(w, s.labels);
        w.Key("values");
        w.StartArray();
        for (const auto& p : s.samples) write_point(w, p.t, p.v);
        w.EndArray();
        w.EndObject();
      }
      w.EndArray();
      break;
  }
  w.EndObject();
  w.EndObject();
  return sb.GetString();
}

std::string prom_series_json(const std::vector<tsdb::label_set>& series) {
  rapidjson::StringBuffer sb;
  writer w(sb);
  start_success(w);
  w.StartArray();
  for (const auto& s : series) write_labels(w, s);
  w.EndArray();
  w.EndObject();
  return sb.GetString();
}

std::string prom_strings_json(const std::vector<std::string>& values) {
  rapidjson::StringBuffer sb;
  writer w(sb);
  start_success(w);
  w.StartArray();
  for (const auto& v : values) write_string(w, v);
  w.EndArray();
  w.EndObject();
  return sb.GetString();
}

std::string prom_error_json(std::string_view error_type, std::string_view message) {
  rapidjson::StringBuffer sb;
  writer w(sb);
  w.StartObject();
  w.Key("status");
  w.String("error");
  w.Key("errorType");
  write_string(w, error_type);
  w.Key("error");
  write_string(w, message);
  w.EndObject();
  return sb.GetString();
}

namespace {

http::http_response prom_response(int status, std::string body) {
  http::http_response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

http::http_response bad_data(std::string_view message) {
  return prom_response(400, prom_error_json("bad_data", message));
}

// Matchers of a series selector (match[] of /series and /labels).
std::vector<tsdb::matcher> selector_matchers(const std::string& text) {
  const auto e = promql::parse(text);
  if (e->kind != promql::expr_kind::vector_selector)
    throw promql::error(promql::error_kind::parse, "match[] must be a series selector, got: " + text);
  return e->matchers;
}

}  // namespace

http::http_response answer_prom_api(std::string_view endpoint, const http::http_request& req,
                                    const promql::engine& engine, const tsdb::head& head,
                                    std::int64_t now_ms) {
  auto pairs = http::parse_query_pairs(req.raw_query);
  if (req.method == "POST") {
    const auto type = req.header_value("content-type");
    if (!type.empty() && type.find("application/x-www-form-urlencoded") == std::string_view::npos)
      return bad_data("POST bodies must be application/x-www-form-urlencoded");
    for (auto& p : http::parse_query_pairs(req.body)) pairs.push_back(std::move(p));
  }
  std::map<std::string, std::string> params;
  for (const auto& [k, v] : pairs) params.emplace(k, v);
  try {
    if (endpoint == "query") {
      const auto p = parse_instant_query(params, now_ms);
      if (!p.error.empty()) return bad_data(p.error);
      return prom_response(200, prom_query_json(engine.instant_query(p.query, p.time_ms)));
    }
    if (endpoint == "query_range") {
      const auto p = parse_range_query(params);
      if (!p.error.empty()) return bad_data(p.error);
      return prom_response(200, prom_query_json(engine.range_query(p.query, p.start_ms, p.end_ms, p.step_ms)));
    }
    const auto s = parse_series_params(pairs, now_ms);
    if (!s.error.empty()) return bad_data(s.error);
    std::vector<std::vector<tsdb::matcher>> selectors;
    for (const auto& m : s.match) selectors.push_back(selector_matchers(m));
    if (endpoint == "series") {
      if (selectors.empty()) return bad_data("no match[] parameter provided");
      std::vector<tsdb::label_set> out;
      for (const auto& sel : selectors) {
        for (auto& series : head.select(sel, s.start_ms, s.end_ms)) out.push_back(std::move(series.labels));
      }
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
      return prom_response(200, prom_series_json(out));
    }
    std::string label;
    if (endpoint == "labels") {
      label.clear();
    } else if (endpoint.size() > 13 && endpoint.substr(0, 6) == "label/" &&
               endpoint.substr(endpoint.size() - 7) == "/values") {
      label = std::string(endpoint.substr(6, endpoint.size() - 13));
    } else {
      return prom_response(404, prom_error_json("not_found", "unknown endpoint"));
    }
    std::vector<std::string> out;
    if (selectors.empty()) {
      out = label.empty() ? head.label_names() : head.label_values(label);
    } else {
      for (const auto& sel : selectors) {
        for (const auto& series : head.series(sel)) {
          for (const auto& l : series.labels()) {
            if (label.empty())
              out.push_back(l.name);
            else if (l.name == label)
              out.push_back(l.value);
          }
        }
      }
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
    }
    return prom_response(200, prom_strings_json(out));
  } catch (const promql::error& e) {
    switch (e.kind()) {
      case promql::error_kind::parse:
        return bad_data(e.what());
      case promql::error_kind::unsupported:
        return prom_response(422, prom_error_json("unsupported", e.what()));
      case promql::error_kind::execution:
        break;
    }
    return prom_response(422, prom_error_json("execution", e.what()));
  } catch (const std::invalid_argument& e) {
    return bad_data(e.what());
  }
}

}  // namespace wk::rest
