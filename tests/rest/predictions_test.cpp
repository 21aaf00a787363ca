#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "promql/engine.hpp"
#include "protocol/http/uri.hpp"
#include "protocol/rest/predictions.hpp"

namespace {

wk::http::http_response ask(const wk::promql::engine& eng, const std::string& query, std::int64_t now) {
  wk::http::http_request req;
  req.method = "GET";
  req.raw_query = query;
  return wk::rest::answer_predictions(req, eng, now);
}

}  // namespace

TEST_CASE("predictions: a filling disk says when it is full") {
  wk::tsdb::head head;
  const std::int64_t now = 10'000'000;
  auto ref = head.get_or_create(wk::tsdb::label_set({{"__name__", "disk_free_bytes"}, {"service", "db"}}));
  // 1000 GB free, losing 1 GB per minute: empty 1000 minutes after t = 0.
  for (std::int64_t t = now - 3'600'000; t <= now; t += 15'000)
    head.append(ref, t, 1000.0 - double(t) / 60'000.0);
  wk::promql::engine eng(head);
  auto r = ask(eng, "query=disk_free_bytes&history=1h&horizon=1d&threshold=0&method=linear", now);
  REQUIRE(r.status == 200);
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  REQUIRE(d["predictions"].Size() == 1);
  const auto& p = d["predictions"][0];
  CHECK(std::string(p["metric"]["service"].GetString()) == "db");
  CHECK(std::string(p["method"].GetString()) == "linear");
  CHECK(p["threshold"]["reached"].GetBool());
  CHECK_FALSE(p["threshold"]["rising"].GetBool());
  // Truth: 1000 minutes = 60,000,000 ms.
  CHECK(p["threshold"]["at_ms"].GetInt64() == doctest::Approx(60'000'000).epsilon(0.01));
  CHECK(std::string(p["threshold"]["text"].GetString()).rfind("in ", 0) == 0);
  CHECK(p["points"].Size() > 10);
  CHECK(p["points"][0].Size() == 4);
}

TEST_CASE("predictions: bad parameters are 400 problems with the reason") {
  wk::tsdb::head head;
  wk::promql::engine eng(head);
  CHECK(ask(eng, "", 0).status == 400);
  CHECK(ask(eng, "query=up&horizon=forever", 0).body.find("horizon") != std::string::npos);
  CHECK(ask(eng, "query=up&threshold=lots", 0).status == 400);
  CHECK(ask(eng, "query=up&method=magic", 0).status == 400);
  CHECK(ask(eng, "query=up&colour=red", 0).status == 400);
  CHECK(ask(eng, "query=sum(", 0).status == 400);
  CHECK(ask(eng, "query=up&history=30d&step=1s", 0).status == 400);
  // No data: an empty list, not an error.
  auto r = ask(eng, "query=up", 1'000'000);
  CHECK(r.status == 200);
  CHECK(r.body.find(R"("predictions":[])") != std::string::npos);
}

TEST_CASE("predictions: service= limits the query to one service, or forecasts all its series") {
  wk::tsdb::head head;
  const std::int64_t now = 10'000'000;
  for (const char* service : {"db", "web"}) {
    for (const char* name : {"disk_free_bytes", "connections"}) {
      auto ref = head.get_or_create(wk::tsdb::label_set({{"__name__", name}, {"service", service}}));
      for (std::int64_t t = now - 3'600'000; t <= now; t += 15'000)
        head.append(ref, t, 100.0);
    }
  }
  wk::promql::engine eng(head);
  auto services_of = [](const wk::http::http_response& r) {
    REQUIRE(r.status == 200);
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    std::vector<std::string> out;
    for (const auto& p : d["predictions"].GetArray())
      out.push_back(std::string(p["metric"]["service"].GetString()) + "/" +
                    p["metric"]["__name__"].GetString());
    std::sort(out.begin(), out.end());
    return out;
  };
  CHECK(services_of(ask(eng, "query=disk_free_bytes", now)) ==
        std::vector<std::string>{"db/disk_free_bytes", "web/disk_free_bytes"});
  CHECK(services_of(ask(eng, "query=disk_free_bytes&service=web", now)) ==
        std::vector<std::string>{"web/disk_free_bytes"});
  CHECK(services_of(ask(eng, "service=db", now)) ==
        std::vector<std::string>{"db/connections", "db/disk_free_bytes"});
  CHECK(services_of(ask(eng, "service=nobody", now)).empty());
  CHECK(ask(eng, "service=", now).status == 400);
  CHECK(ask(eng, "service=" + std::string(300, 'x'), now).status == 400);
}
