#include <doctest/doctest.h>

#include <string>

#include "rules/unit_test.hpp"

namespace {

const std::string dir = std::string(WK_SOURCE_DIR) + "/tests/testdata/rules";

std::string failures(const wk::promql::test_report& r) {
  std::string out;
  for (const auto& f : r.failures) out += f + "\n";
  return out;
}


}  // namespace

TEST_CASE("rule unit tests: the promtool-format fixture passes") {
  const auto r = wk::rules::run_rule_test_file(dir + "/promtool_test.good.yml");
  INFO(failures(r));
  CHECK(r.failed == 0);
  CHECK(r.passed == 10);
  CHECK(r.failures.empty());
}

TEST_CASE("rule unit tests: wrong expectations fail with promtool's exp/got detail") {
  const std::string f = dir + "/promtool_test.bad.yml";
  const auto r = wk::rules::run_rule_test_file(f);
  INFO(failures(r));
  CHECK(r.passed == 1);
  CHECK(r.failed == 2);
  REQUIRE(r.failures.size() == 2);
  CHECK(r.failures[0] ==
        f + ":12: test \"wrong expectations\": alertname: InstanceDown, time: 10m, "
            "exp: [0: Labels:{alertname=\"InstanceDown\", instance=\"localhost:9090\", job=\"prometheus\", "
            "severity=\"ticket\"} Annotations:{}], "
            "got: [0: Labels:{alertname=\"InstanceDown\", instance=\"localhost:9090\", job=\"prometheus\", "
            "severity=\"page\"} Annotations:{description=\"localhost:9090 of job prometheus has been down for more "
            "than 5 minutes.\", summary=\"Instance localhost:9090 down\"}]");
  CHECK(r.failures[1] ==
        f + ":21: test \"wrong expectations\": expr: \"go_goroutines > 5\", time: 4m, "
            "exp: [go_goroutines{instance=\"localhost:9090\",job=\"prometheus\"} 51], "
            "got: [go_goroutines{instance=\"localhost:9090\",job=\"prometheus\"} 50]");
}

TEST_CASE("rule unit tests: broken inputs are reported, never thrown") {
  CHECK(wk::rules::run_rule_test_file(dir + "/missing.yml").failures.at(0) == dir + "/missing.yml: cannot open file");

  auto r = wk::rules::run_rule_test("rule_files: [nothing.yml]\nfoo: 1\n", "t.yml", dir);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0] == "t.yml:2: unknown key \"foo\" in the test file");

  r = wk::rules::run_rule_test("rule_files: [alerts.bad.yml]\ntests:\n  - alert_rule_test:\n      - eval_time: 1m\n"
                               "        alertname: X\n",
                               "t.yml", dir);
  CHECK(r.failed == 1);
  CHECK(r.failures.size() == 14);
  CHECK(r.failures[0].find("t.yml: rule file: " + dir + "/alerts.bad.yml:") == 0);

  r = wk::rules::run_rule_test("tests:\n  - input_series:\n      - series: 'up{'\n        values: '1'\n"
                               "    promql_expr_test:\n      - expr: up\n",
                               "t.yml", dir);
  CHECK(r.failed == 1);
  CHECK(r.failures.at(0).find("t.yml:3: input series \"up{\":") == 0);

  r = wk::rules::run_rule_test("tests:\n  - input_series:\n      - series: 'up'\n        values: '1+1xabc'\n", "t.yml", dir);
  CHECK(r.failed == 1);

  r = wk::rules::run_rule_test("evaluation_interval: 1s\ntests:\n  - alert_rule_test:\n      - eval_time: 100y\n"
                               "        alertname: X\n",
                               "t.yml", dir);
  CHECK(r.failed == 1);
  CHECK(r.failures.at(0).find("needs more than 1000000 evaluations") != std::string::npos);

  r = wk::rules::run_rule_test("tests:\n  - alert_rule_test:\n      - eval_time: 1m\n", "t.yml", dir);
  CHECK(r.failures.at(0) == "t.yml:3: alert_rule_test: alertname must not be empty");

  r = wk::rules::run_rule_test("rule_files: [promtool_rules.good.yml]\ngroup_eval_order: [example]\ntests: []\n", "t.yml", dir);
  CHECK(r.failures.at(0) == "t.yml: group_eval_order: group \"context\" is missing from group_eval_order");

  r = wk::rules::run_rule_test("tests:\n  - promql_expr_test:\n      - expr: 'sum('\n", "t.yml", dir);
  CHECK(r.failed == 1);
  CHECK(r.failures.at(0).find("t.yml:3: expr: \"sum(\", time: 0s, err:") == 0);
}
