#include <doctest/doctest.h>

#include <cmath>

#include "protocol/http/uri.hpp"
#include "protocol/rest/alert_json.hpp"

using namespace wk::rest;

TEST_CASE("alert filters are validated") {
  CHECK(parse_alert_filter(wk::http::parse_query("state=firing&service=api&limit=5")).error.empty());
  CHECK(parse_alert_filter(wk::http::parse_query("state=burning")).error.find("state") != std::string::npos);
  CHECK(parse_alert_filter(wk::http::parse_query("limit=0")).error.find("limit") != std::string::npos);
  CHECK(parse_alert_filter(wk::http::parse_query("limit=99999999999")).error.find("limit") != std::string::npos);
  CHECK(parse_alert_filter(wk::http::parse_query("colour=red")).error.find("colour") != std::string::npos);
}

TEST_CASE("alerts_json filters, limits, counts and writes non-finite values as null") {
  alert_entry a{"Down", "api", "firing", "g", {{"alertname", "Down"}, {"service", "api"}}, {{"summary", "api \"down\""}}, 1, 1000, 2000, 0, "f1"};
  alert_entry b = a;
  b.service = "db";
  b.state = "pending";
  b.value = std::nan("");
  alert_entry c = a;
  c.state = "resolved";
  const std::vector<alert_entry> all{a, b, c};
  auto body = alerts_json(all, {});
  CHECK(body.find(R"("total":2)") != std::string::npos);
  CHECK(body.find(R"("value":null)") != std::string::npos);
  CHECK(body.find(R"("summary":"api \"down\"")") != std::string::npos);
  alert_filter f;
  f.state = "resolved";
  CHECK(alerts_json(all, f).find(R"("total":1)") != std::string::npos);
  f = {};
  f.service = "db";
  body = alerts_json(all, f);
  CHECK(body.find(R"("alertname":"Down","service":"db")") != std::string::npos);
  CHECK(body.find(R"("total":1)") != std::string::npos);
  f = {};
  f.limit = 1;
  body = alerts_json(all, f);
  CHECK(body.find(R"("total":2)") != std::string::npos);
  CHECK(body.find("\"db\"") == std::string::npos);
  CHECK(alert_json(a) == R"({"alertname":"Down","service":"api","state":"firing","group":"g","labels":{"alertname":"Down","service":"api"},"annotations":{"summary":"api \"down\""},"value":1.0,"active_at_ms":1000,"fired_at_ms":2000,"resolved_at_ms":0,"fingerprint":"f1"})");
}

#include "protocol/rest/anomaly_json.hpp"

TEST_CASE("anomaly JSON carries the series and writes non-finite numbers as null") {
  wk::rest::anomaly_entry a{"api", "probe_duration_seconds", {{"check", "http"}}, 2.5, 0.97, 1000};
  CHECK(wk::rest::anomaly_json(a) ==
        R"({"service":"api","metric":"probe_duration_seconds","labels":{"check":"http"},"value":2.5,"score":0.97,"at_ms":1000})");
  a.value = std::nan("");
  CHECK(wk::rest::anomalies_json({a}).find(R"("value":null)") != std::string::npos);
  CHECK(wk::rest::anomalies_json({}) == R"({"anomalies":[]})");
}

#include "protocol/rest/samples_json.hpp"

TEST_CASE("samples events carry the newest sample of each series and say when they were cut") {
  using wk::tsdb::label_set;
  std::vector<wk::tsdb::series_data> series{
    {label_set({{"__name__", "up"}, {"service", "api"}}), {{1000, 0}, {2000, 1}}},
    {label_set(std::vector<wk::tsdb::label>{{"__name__", "empty"}}), {}},
    {label_set(std::vector<wk::tsdb::label>{{"__name__", "nan"}}), {{2000, std::nan("")}}},
  };
  CHECK(wk::rest::samples_event_json("api", 2000, series) ==
        R"({"service":"api","t_ms":2000,"series":[{"labels":{"__name__":"up","service":"api"},"value":1.0},{"labels":{"__name__":"nan"},"value":null}],"truncated":false})");
  CHECK(wk::rest::samples_event_json("api", 2000, series, 1).find(R"("truncated":true)") != std::string::npos);
}
