#include <doctest/doctest.h>

#include <string>

#include "events/event_hub.hpp"
#include "events/metrics_topic.hpp"
#include "tsdb/labels.hpp"

using wk::events::parse_metrics_topic;

TEST_CASE("metrics topic: a service alone, or a service and a selector") {
  const auto plain = parse_metrics_topic("metrics:checkout-api");
  REQUIRE(plain);
  CHECK(plain->service == "checkout-api");
  CHECK(plain->selector.empty());
  CHECK(plain->matchers.empty());

  const auto selected = parse_metrics_topic(R"(metrics:api{__name__=~"http_.*",code!="200"})");
  REQUIRE(selected);
  CHECK(selected->service == "api");
  CHECK(selected->selector == R"({__name__=~"http_.*",code!="200"})");
  REQUIRE(selected->matchers.size() == 2);
  using wk::tsdb::label;
  const wk::tsdb::label_set match({label{"__name__", "http_requests_total"}, label{"code", "500"}});
  const wk::tsdb::label_set ok({label{"__name__", "http_requests_total"}, label{"code", "200"}});
  const wk::tsdb::label_set other({label{"__name__", "up"}, label{"code", "500"}});
  auto matches = [&](const wk::tsdb::label_set& ls) {
    for (const auto& m : selected->matchers)
      if (!m.matches(ls.get(m.name())))
        return false;
    return true;
  };
  CHECK(matches(match));
  CHECK_FALSE(matches(ok));
  CHECK_FALSE(matches(other));
}

TEST_CASE("metrics topic: other topics are not metrics topics and carry no error") {
  std::string error = "stale";
  CHECK_FALSE(parse_metrics_topic("health", &error));
  CHECK(error.empty());
  CHECK_FALSE(parse_metrics_topic("metric:api", &error));
  CHECK(error.empty());
}

TEST_CASE("metrics topic: bad services and selectors are refused with a reason") {
  std::string error;
  CHECK_FALSE(parse_metrics_topic("metrics:", &error));
  CHECK(error.find("service name") != std::string::npos);
  CHECK_FALSE(parse_metrics_topic("metrics:{up=\"1\"}", &error));
  CHECK(error.find("service name") != std::string::npos);
  CHECK_FALSE(parse_metrics_topic("metrics:a b", &error));
  CHECK_FALSE(parse_metrics_topic(R"(metrics:api{__name__=~"("})", &error));
  CHECK(error.find("invalid selector") != std::string::npos);
  CHECK_FALSE(parse_metrics_topic(R"(metrics:api{code=""})", &error));  // matches everything
  CHECK(error.find("invalid selector") != std::string::npos);
  CHECK_FALSE(parse_metrics_topic(R"(metrics:api{code="1"} offset 5m)", &error));
  CHECK(error.find("label matchers in braces") != std::string::npos);
  CHECK_FALSE(parse_metrics_topic(R"(metrics:api{code="1"}[5m])", &error));
  CHECK_FALSE(parse_metrics_topic(R"(metrics:api{code="1"} + 1)", &error));
  CHECK_FALSE(parse_metrics_topic("metrics:api{", &error));
  CHECK_FALSE(parse_metrics_topic(
    "metrics:api{a=\"" + std::string(wk::events::event_hub::max_topic_bytes, 'x') + "\"}", &error));
  CHECK(error.find("at most") != std::string::npos);
}

TEST_CASE("event hub lists subscribed topics by prefix") {
  wk::events::event_hub hub;
  hub.add_subscriber("metrics:api");
  hub.add_subscriber(R"(metrics:api{__name__="up"})");
  hub.add_subscriber("metrics:api2");
  hub.add_subscriber("metrics:ap");
  hub.add_subscriber("health");
  CHECK(hub.subscribed_topics("metrics:api") ==
        std::vector<std::string>{"metrics:api", "metrics:api2", R"(metrics:api{__name__="up"})"});
  hub.remove_subscriber("metrics:api2");
  CHECK(hub.subscribed_topics("metrics:api").size() == 2);
  CHECK(hub.subscribed_topics("nothing").empty());
}
