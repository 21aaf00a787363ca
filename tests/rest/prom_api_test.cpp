#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "promql/engine.hpp"
#include "protocol/http/uri.hpp"
#include "protocol/rest/prom_api.hpp"

using namespace wk::rest;

TEST_CASE("Prometheus API times: unix seconds and RFC 3339") {
  CHECK(parse_prom_time("1435781451.781") == 1435781451781);
  CHECK(parse_prom_time("1435781451") == 1435781451000);
  CHECK(parse_prom_time("2015-07-01T20:10:51.781Z") == 1435781451781);
  CHECK(parse_prom_time("2015-07-01T22:10:51.781+02:00") == 1435781451781);
  CHECK(parse_prom_time("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_prom_time("2024-02-29T12:00:00-00:30") == 1709209800000);
  CHECK_FALSE(parse_prom_time(""));
  CHECK_FALSE(parse_prom_time("yesterday"));
  CHECK_FALSE(parse_prom_time("2015-13-01T00:00:00Z"));
  CHECK_FALSE(parse_prom_time("2015-07-01T20:10:51"));  // no zone
  CHECK_FALSE(parse_prom_time("1e300"));
  CHECK_FALSE(parse_prom_time("nan"));
}

TEST_CASE("Prometheus API durations: seconds or PromQL durations") {
  CHECK(parse_prom_duration("15") == 15000);
  CHECK(parse_prom_duration("0.5") == 500);
  CHECK(parse_prom_duration("1m30s") == 90000);
  CHECK_FALSE(parse_prom_duration("1 minute"));
}

TEST_CASE("range query parameters are checked with Prometheus's messages") {
  auto p = parse_range_query(wk::http::parse_query("query=up&start=100&end=200&step=10"));
  CHECK(p.error.empty());
  CHECK(p.start_ms == 100000);
  CHECK(p.end_ms == 200000);
  CHECK(p.step_ms == 10000);
  CHECK(parse_range_query(wk::http::parse_query("query=up&start=200&end=100&step=10")).error.find("before start") != std::string::npos);
  CHECK(parse_range_query(wk::http::parse_query("query=up&start=0&end=100&step=0")).error.find("positive") != std::string::npos);
  CHECK(parse_range_query(wk::http::parse_query("query=up&start=0&end=100000&step=1")).error.find("11000 points") != std::string::npos);
  CHECK(parse_range_query(wk::http::parse_query("start=0&end=1&step=1")).error.find("query") != std::string::npos);
  CHECK(parse_range_query(wk::http::parse_query("query=up&end=1&step=1")).error.find("\"start\"") != std::string::npos);

  auto i = parse_instant_query(wk::http::parse_query("query=up"), 42);
  CHECK(i.error.empty());
  CHECK(i.time_ms == 42);
  CHECK(parse_instant_query(wk::http::parse_query("query=up&time=x"), 0).error.find("\"time\"") != std::string::npos);
}

TEST_CASE("series parameters keep every match[]") {
  auto p = parse_series_params(wk::http::parse_query_pairs("match%5B%5D=up&match[]=process_start_time_seconds&start=10"), 60000);
  CHECK(p.error.empty());
  CHECK(p.match == std::vector<std::string>{"up", "process_start_time_seconds"});
  CHECK(p.start_ms == 10000);
  CHECK(p.end_ms == 60000);
}

TEST_CASE("values are written as Prometheus writes them") {
  CHECK(prom_value(1) == "1");
  CHECK(prom_value(0.1) == "0.1");
  CHECK(prom_value(-2.5) == "-2.5");
  CHECK(prom_value(1e21) == "1000000000000000000000");
  CHECK(prom_value(std::nan("")) == "NaN");
  CHECK(prom_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(prom_value(-std::numeric_limits<double>::infinity()) == "-Inf");
}

TEST_CASE("query results have Prometheus's response shape") {
  wk::tsdb::head head;
  auto ref = head.get_or_create(wk::tsdb::label_set({{"__name__", "up"}, {"job", "a"}}));
  head.append(ref, 1000, 1);
  head.append(ref, 2500, 0);
  wk::promql::engine eng(head);

  CHECK(prom_query_json(eng.instant_query("up", 3000)) ==
        R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[3,"0"]}]}})");
  CHECK(prom_query_json(eng.range_query("up", 1000, 3000, 1500)) ==
        R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"a"},"values":[[1,"1"],[2.5,"0"]]}]}})");
  CHECK(prom_query_json(eng.instant_query("1/4", 1234)) ==
        R"({"status":"success","data":{"resultType":"scalar","result":[1.234,"0.25"]}})");
  CHECK(prom_query_json(eng.instant_query("\"hi\"", 1000)) ==
        R"({"status":"success","data":{"resultType":"string","result":[1,"hi"]}})");
  CHECK(prom_error_json("bad_data", "parse \"error\"") ==
        R"({"status":"error","errorType":"bad_data","error":"parse \"error\""})");
  CHECK(prom_strings_json({"a", "b"}) == R"({"status":"success","data":["a","b"]})");
  CHECK(prom_series_json(head.series({wk::tsdb::matcher("job", wk::tsdb::match_op::equal, "a")})) ==
        R"({"status":"success","data":[{"__name__":"up","job":"a"}]})");
}

TEST_CASE("answer_prom_api: endpoints, POST forms and error types") {
  wk::tsdb::head head;
  for (const char* job : {"a", "b"}) {
    auto ref = head.get_or_create(wk::tsdb::label_set({{"__name__", "up"}, {"job", job}}));
    head.append(ref, 1000, 1);
  }
  wk::promql::engine eng(head);
  auto ask = [&](std::string endpoint, std::string method, std::string query, std::string body = "") {
    wk::http::http_request req;
    req.method = std::move(method);
    req.raw_query = std::move(query);
    req.body = std::move(body);
    if (!req.body.empty()) req.headers.push_back({"content-type", "application/x-www-form-urlencoded"});
    return answer_prom_api(endpoint, req, eng, head, 2000);
  };
  auto r = ask("query", "GET", "query=sum(up)");
  CHECK(r.status == 200);
  CHECK(r.body.find(R"("value":[2,"2"])") != std::string::npos);
  r = ask("query_range", "POST", "", "query=count(up)&start=1&end=2&step=1");
  CHECK(r.status == 200);
  CHECK(r.body.find(R"("values":[[1,"2"],[2,"2"]])") != std::string::npos);
  r = ask("query", "GET", "query=sum(");
  CHECK(r.status == 400);
  CHECK(r.body.find(R"("errorType":"bad_data")") != std::string::npos);
  r = ask("query", "GET", "query=" + wk::http::percent_encode("up + on() up"));
  CHECK(r.status == 422);
  CHECK(r.body.find(R"("errorType":"execution")") != std::string::npos);
  r = ask("series", "GET", "match[]=up&start=0&end=5");
  CHECK(r.status == 200);
  CHECK(r.body == R"({"status":"success","data":[{"__name__":"up","job":"a"},{"__name__":"up","job":"b"}]})");
  CHECK(ask("series", "GET", "").status == 400);
  CHECK(ask("series", "GET", "match[]=sum(up)").status == 400);
  CHECK(ask("labels", "GET", "").body == R"({"status":"success","data":["__name__","job"]})");
  CHECK(ask("label/job/values", "GET", "").body == R"({"status":"success","data":["a","b"]})");
  CHECK(ask("label/job/values", "GET", "match[]={job=\"b\"}").body == R"({"status":"success","data":["b"]})");
  wk::http::http_request json_post;
  json_post.method = "POST";
  json_post.body = "{}";
  json_post.headers.push_back({"content-type", "application/json"});
  CHECK(answer_prom_api("query", json_post, eng, head, 0).status == 400);
}
