#include <doctest/doctest.h>

#include <chrono>

#include <yaml-cpp/yaml.h>

#include "notify/route_tree.hpp"
#include "tests/notify/sample.hpp"

using namespace wk::notify;
using labels = std::map<std::string, std::string>;

namespace {

route load(const std::string& name, std::vector<std::string>& errors) {
  std::string path = testing::fixture_path(name);
  YAML::Node doc = YAML::LoadFile(path);
  return parse_route(doc["route"], errors, name);
}

std::vector<std::string> receivers(const route& root, const labels& l) {
  std::vector<std::string> out;
  for (const route* r : match_routes(root, l))
    out.push_back(r->receiver);
  return out;
}

const route& only(const route& root, const labels& l) {
  auto m = match_routes(root, l);
  REQUIRE(m.size() == 1);
  return *m[0];
}

}  // namespace

// The routing tree of Alertmanager's dispatch/route_test.go, with its expectations.
TEST_CASE("route: Alertmanager's routing test tree") {
  std::vector<std::string> errors;
  route root = load("routes_am.good.yml", errors);
  REQUIRE(errors.empty());

  const route& a = only(root, {{"owner", "team-A"}});
  CHECK(a.receiver == "notify-A");
  CHECK(a.group_wait_ms == default_group_wait_ms);
  CHECK(a.group_interval_ms == default_group_interval_ms);
  CHECK(a.repeat_interval_ms == default_repeat_interval_ms);
  CHECK(a.group_by.empty());
  CHECK(a.key == "{}/{owner=\"team-A\"}");

  CHECK(receivers(root, {{"owner", "team-A"}, {"env", "production"}}) ==
        std::vector<std::string>{"notify-productionA", "notify-productionB"});
  auto prod = match_routes(root, {{"owner", "team-A"}, {"env", "production"}});
  CHECK(prod[0]->continue_);
  CHECK(prod[0]->group_wait_ms == 60000);
  CHECK(prod[1]->group_wait_ms == 30000);
  CHECK(prod[1]->group_interval_ms == 300000);
  CHECK(prod[1]->repeat_interval_ms == 3600000);
  CHECK(prod[1]->group_by == std::vector<std::string>{"job"});
  CHECK(prod[1]->key == "{}/{owner=\"team-A\"}/{env=~\"produ.*\",job=~\".*\"}");

  const route& bc = only(root, {{"owner", "team-C"}});
  CHECK(bc.receiver == "notify-BC");
  CHECK(bc.group_by == std::vector<std::string>{"foo", "bar"});
  CHECK(bc.group_wait_ms == 120000);

  const route& role = only(root, {{"group_by", "role"}});
  CHECK(role.receiver == "notify-def");
  CHECK(role.group_by == std::vector<std::string>{"role"});

  const route& testing = only(root, {{"group_by", "role"}, {"env", "testing"}});
  CHECK(testing.receiver == "notify-testing");
  CHECK(testing.group_by == std::vector<std::string>{"role"});

  const route& wait = only(root, {{"group_by", "role"}, {"env", "testing"}, {"wait", "long"}});
  CHECK(wait.receiver == "notify-testing");
  CHECK(wait.group_wait_ms == 120000);
  CHECK(wait.group_by == std::vector<std::string>{"role"});

  const route& all = only(root, {{"owner", "team-A"}, {"env", "testing"}});
  CHECK(all.receiver == "notify-testing");
  CHECK(all.group_by_all);

  CHECK(receivers(root, {{"owner", "team-X"}}) == std::vector<std::string>{"notify-def"});
  CHECK(receivers(root, {}) == std::vector<std::string>{"notify-def"});
}

TEST_CASE("route: group keys as Alertmanager builds them") {
  std::vector<std::string> errors;
  route root = load("routes_am.good.yml", errors);
  REQUIRE(errors.empty());
  labels l = {{"owner", "team-A"}, {"env", "production"}, {"job", "api \"x\""}, {"other", "1"}};
  auto m = match_routes(root, l);
  CHECK(group_key(*m[1], l) ==
        "{}/{owner=\"team-A\"}/{env=~\"produ.*\",job=~\".*\"}:{job=\"api \\\"x\\\"\"}");
  CHECK(group_key(*m[0], l) == "{}/{owner=\"team-A\"}/{env=\"production\"}:{}");
  labels t = {{"owner", "team-A"}, {"env", "testing"}, {"b", "2"}};
  CHECK(group_key(only(root, t), t) ==
        "{}/{owner=\"team-A\"}/{env=\"testing\"}:{b=\"2\", env=\"testing\", owner=\"team-A\"}");
  labels bc = {{"owner", "team-B"}, {"foo", "x"}};
  CHECK(group_key(only(root, bc), bc) == "{}/{owner=~\"team-(B|C)\"}:{foo=\"x\"}");
}

TEST_CASE("route: Alertmanager documentation example with legacy match and match_re") {
  std::vector<std::string> errors;
  route root = load("routes_docs.good.yml", errors);
  REQUIRE(errors.empty());
  CHECK(root.group_by == std::vector<std::string>{"cluster", "alertname"});
  const route& db = only(root, {{"service", "mysql"}});
  CHECK(db.receiver == "database-pager");
  CHECK(db.group_wait_ms == 10000);
  CHECK(db.group_interval_ms == 300000);  // inherited from the root
  CHECK(db.group_by == std::vector<std::string>{"cluster", "alertname"});
  CHECK(only(root, {{"service", "cassandra"}}).receiver == "database-pager");
  CHECK(only(root, {{"service", "mysql-proxy"}}).receiver == "default-receiver");  // anchored
  const route& fe = only(root, {{"team", "frontend"}});
  CHECK(fe.receiver == "frontend-pager");
  CHECK(fe.group_by == std::vector<std::string>{"product", "environment"});
  CHECK(only(root, {{"service", "files"}, {"severity", "critical"}}).receiver == "team-X-pager");
  CHECK(only(root, {{"service", "files"}, {"severity", "warning"}}).receiver == "team-X-mails");
  CHECK(only(root, {{"service", "foo1"}, {"severity", "page"}}).receiver == "team-Y-pager");
  CHECK(only(root, {{"service", "foo1"}}).receiver == "team-Y-mails");
}

TEST_CASE("route: matcher strings") {
  std::vector<matcher> m;
  CHECK_FALSE(parse_matchers("severity=\"critical\"", m));
  CHECK_FALSE(parse_matchers("team=~\"a|b\"", m));
  CHECK_FALSE(parse_matchers("env != prod", m));
  CHECK_FALSE(parse_matchers("{x!~\"d.*\", y=\"q\\\"uote\"}", m));
  REQUIRE(m.size() == 5);
  CHECK(m[0].matches("critical"));
  CHECK_FALSE(m[0].matches("critical2"));
  CHECK(m[1].matches("a"));
  CHECK(m[1].matches("b"));
  CHECK_FALSE(m[1].matches("ab"));
  CHECK_FALSE(m[1].matches("xa"));
  CHECK(m[2].value() == "prod");
  CHECK(m[2].matches(""));
  CHECK_FALSE(m[2].matches("prod"));
  CHECK(m[3].matches("xyz"));
  CHECK_FALSE(m[3].matches("dev"));
  CHECK(m[4].value() == "q\"uote");
  CHECK(m[4].str() == "y=\"q\\\"uote\"");

  for (const char* bad : {"", "=x", "1abc=\"x\"", "a ~ b", "a=\"unterminated", "a=~\"(\"",
                          "{a=\"b\"", "a=\"b\" junk", "a=~\"\\\\d+\\\\\""}) {
    std::size_t before = m.size();
    CHECK_MESSAGE(parse_matchers(bad, m).has_value(), bad);
    CHECK(m.size() == before);
  }
}

TEST_CASE("route: regex matching on a hostile label value does not crash") {
  std::vector<matcher> m;
  REQUIRE_FALSE(parse_matchers("msg=~\"(a|aa)*b\"", m));
  std::string value(1 << 20, 'a');
  CHECK_FALSE(m[0].matches(value));
  CHECK(m[0].matches(value + "b"));
  std::string with_nul("a\0b", 3);
  CHECK(m[0].matches(with_nul) == false);
}

TEST_CASE("route: regexes that would stall regcomp are refused before compiling") {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<matcher> m;
  const auto nested = parse_matchers(R"(host=~"((x{1,255}){1,255}){1,255}")", m);
  REQUIRE(nested);
  CHECK(nested->find("regex for host: repetition counts multiply to more than 100; use * or + "
                     "instead") == 0);
  CHECK(parse_matchers(R"(x=~"(a*)*\\1")", m).value_or("").find("back-references") !=
        std::string::npos);
  std::string error;
  CHECK_FALSE(matcher::make("x", match_op::not_regex, "a{50000}", &error));
  CHECK(error.find("repetition counts") != std::string::npos);
  // Legacy match_re goes through the same gate.
  std::vector<std::string> errors;
  parse_route(YAML::Load("receiver: r\nroutes:\n  - receiver: r\n    match_re: {host: 'a{1,99}b{1,99}'}\n"),
              errors, "inline.yml");
  CHECK(errors.size() == 1);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(200));
  CHECK(m.empty());
  CHECK_FALSE(parse_matchers(R"(host=~"x{2,5}(ab){1,10}")", m));  // small counts stay allowed
}

TEST_CASE("route: configuration errors name file, line and key") {
  std::vector<std::string> errors;
  load("routes.bad.yml", errors);
  auto has = [&](const std::string& needle) {
    for (const auto& e : errors)
      if (e.find(needle) != std::string::npos)
        return true;
    return false;
  };
  CAPTURE(errors);
  CHECK(has("routes.bad.yml:2:15: route.group_wait: invalid duration \"soon\""));
  CHECK(has("routes.bad.yml:3:19: route.group_interval: must be greater than zero"));
  CHECK(has("routes.bad.yml:4:3: route.bogus: unknown key"));
  CHECK(has("routes.bad.yml:6:16: route.routes[0].matchers[0]: invalid regex for team"));
  CHECK(has("routes.bad.yml:7:15: route.routes[0].continue: must be true or false"));
  CHECK(has("routes.bad.yml:8:5: route.routes[0].mute_time_intervals: not supported here"));
  CHECK(has("routes.bad.yml:9:15: route.routes[1].group_by: '...' must be the only entry"));
  CHECK(has("routes.bad.yml:11:7: route.routes[2].match.1bad: invalid label name \"1bad\""));
  CHECK(has("routes.bad.yml:2:3: route.receiver: the root route must name a receiver"));
  CHECK(errors.size() == 9);
}

TEST_CASE("route: durations") {
  CHECK(parse_duration_ms("0") == 0);
  CHECK(parse_duration_ms("500ms") == 500);
  CHECK(parse_duration_ms("1h30m") == 5400000);
  CHECK(parse_duration_ms("1d") == 86400000);
  CHECK(parse_duration_ms("2w") == 14 * 86400000LL);
  CHECK(parse_duration_ms("1m1s1ms") == 61001);
  CHECK_FALSE(parse_duration_ms(""));
  CHECK_FALSE(parse_duration_ms("5"));
  CHECK_FALSE(parse_duration_ms("1s1m"));
  CHECK_FALSE(parse_duration_ms("-1s"));
  CHECK_FALSE(parse_duration_ms("1.5s"));
  CHECK_FALSE(parse_duration_ms("99999999999999999999s"));
  CHECK_FALSE(parse_duration_ms("20y"));
}

TEST_CASE("route: nesting deeper than 32 levels is refused, not recursed into") {
  std::string yaml = "receiver: root\n";
  std::string indent;
  for (int i = 0; i < 40; ++i) {
    yaml += indent + "routes:\n" + indent + "- receiver: r" + std::to_string(i) + "\n";
    indent += "  ";
  }
  std::vector<std::string> errors;
  route root = parse_route(YAML::Load(yaml), errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("routes nested deeper than 32 levels") != std::string::npos);
  const route* r = &root;
  int depth = 0;
  while (!r->routes.empty()) {
    r = &r->routes[0];
    ++depth;
  }
  CHECK(depth == 32);
}
