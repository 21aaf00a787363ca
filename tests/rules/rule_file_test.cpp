#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "rules/rule_file.hpp"

namespace {

const std::string dir = std::string(WK_SOURCE_DIR) + "/tests/testdata/rules";

bool has(const wk::rules::load_result& r, const std::string& error) {
  return std::find(r.errors.begin(), r.errors.end(), error) != r.errors.end();
}

std::string all(const wk::rules::load_result& r) {
  std::string out;
  for (const auto& e : r.errors) out += e + "\n";
  return out;
}

}  // namespace

TEST_CASE("rule_file: the good fixture loads with every field") {
  const auto r = wk::rules::load_rule_file(dir + "/alerts.good.yml");
  INFO(all(r));
  REQUIRE(r.errors.empty());
  REQUIRE(r.groups.size() == 2);
  const auto& api = r.groups[0];
  CHECK(api.name == "api");
  CHECK(api.interval_ms == 30'000);
  CHECK(api.limit == 10);
  CHECK(api.line == 2);
  REQUIRE(api.rules.size() == 2);
  CHECK(api.rules[0].type == wk::rules::rule::kind::recording);
  CHECK(api.rules[0].name == "job:http_errors:rate5m");
  CHECK(api.rules[0].labels.at("team") == "web");
  REQUIRE(api.rules[0].expr);
  const auto& high = api.rules[1];
  CHECK(high.type == wk::rules::rule::kind::alerting);
  CHECK(high.for_ms == 600'000);
  CHECK(high.keep_firing_for_ms == 5'400'000);
  CHECK(high.line == 10);
  CHECK(high.labels.at("instance_group") == "{{ $labels.job }}");
  CHECK(high.annotations.at("summary") == "High error rate on {{ $labels.job }}");
  const auto& hosts = r.groups[1];
  CHECK(hosts.interval_ms == 0);
  REQUIRE(hosts.rules.size() == 3);
  CHECK(hosts.rules[0].for_ms == 0);
  CHECK(hosts.rules[2].expr_text == "1");
}

TEST_CASE("rule_file: the bad fixture reports every error at its line and column") {
  const std::string f = dir + "/alerts.bad.yml";
  const auto r = wk::rules::load_rule_file(f);
  INFO(all(r));
  CHECK(has(r, f + ":4:9: group \"g1\": rule 1: only one of 'record' and 'alert' must be set"));
  CHECK(has(r, f + ":7:9: group \"g1\": rule 2: one of 'record' or 'alert' must be set"));
  CHECK(has(r, f + ":8:17: group \"g1\": rule 3: invalid recording rule name: \"bad-name\""));
  CHECK(has(r, f + ":12:14: group \"g1\": rule 4: for: not a valid duration string: \"5 minutes\""));
  CHECK(has(r, f + ":17:9: group \"g1\": rule 6: invalid field 'for' in recording rule"));
  CHECK(has(r, f + ":18:9: group \"g1\": rule 6: invalid field 'annotations' in recording rule"));
  CHECK(has(r, f + ":25:11: group \"g1\": rule 7: invalid label name: \"0bad\""));
  CHECK(has(r, f + ":28:9: group \"g1\": rule 8: unknown key \"severity\" in rule"));
  CHECK(has(r, f + ":30:15: group \"g1\": rule 9: recording rule expression must be of type vector or scalar, got range vector"));
  CHECK(has(r, f + ":31:9: group \"g1\": rule 10: field 'expr' must be set in rule"));
  CHECK(has(r, f + ":32:5: groupname: \"g1\" is repeated in the same file"));
  CHECK(has(r, f + ":33:15: group \"g1\": interval: not a valid duration string: \"1m5\""));
  bool parse_error = false, template_error = false;
  for (const auto& e : r.errors) {
    parse_error |= e.rfind(f + ":14:", 0) == 0 && e.find("rule 5: could not parse expression:") != std::string::npos;
    template_error |= e.rfind(f + ":23:11: group \"g1\": rule 7: annotation \"summary\": template: __alert_BadTemplate:", 0) == 0;
  }
  CHECK(parse_error);
  CHECK(template_error);
  CHECK(r.errors.size() == 14);
  // Groups are returned even when rules in them are invalid; the bad rules are left out.
  for (const auto& g : r.groups) CHECK(g.rules.empty());
}

TEST_CASE("rule_file: durations in Prometheus syntax") {
  std::int64_t ms = -1;
  CHECK(wk::rules::parse_prometheus_duration("1h30m", ms));
  CHECK(ms == 5'400'000);
  CHECK(wk::rules::parse_prometheus_duration("0", ms));
  CHECK(ms == 0);
  CHECK(wk::rules::parse_prometheus_duration("0s", ms));
  CHECK(wk::rules::parse_prometheus_duration("1d2h3m4s5ms", ms));
  CHECK(ms == 93'784'005);
  CHECK(wk::rules::parse_prometheus_duration("2w", ms));
  CHECK_FALSE(wk::rules::parse_prometheus_duration("5m1h", ms));
  CHECK_FALSE(wk::rules::parse_prometheus_duration("5m5m", ms));
  CHECK_FALSE(wk::rules::parse_prometheus_duration("-5m", ms));
  CHECK_FALSE(wk::rules::parse_prometheus_duration("1.5h", ms));
  CHECK_FALSE(wk::rules::parse_prometheus_duration("300", ms));
  CHECK_FALSE(wk::rules::parse_prometheus_duration("", ms));
  CHECK_FALSE(wk::rules::parse_prometheus_duration("99999999999999999999y", ms));
  CHECK(wk::rules::format_prometheus_duration(5'400'000) == "1h30m");
  CHECK(wk::rules::format_prometheus_duration(0) == "0s");
  CHECK(wk::rules::format_prometheus_duration(90'500) == "1m30s500ms");
}

TEST_CASE("rule_file: YAML problems and hostile input give errors, not crashes") {
  CHECK(wk::rules::load_rule_text("", "empty.yml").errors.empty());
  CHECK(wk::rules::load_rule_text("groups:\n", "g.yml").errors.empty());
  auto r = wk::rules::load_rule_text("groups:\n  - name: a\n    rules:\n      - alert: [\n", "x.yml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("x.yml:") == 0);
  CHECK(r.errors[0].find("YAML syntax error") != std::string::npos);
  r = wk::rules::load_rule_text("groups: 5\n", "x.yml");
  CHECK(has(r, "x.yml:1:9: \"groups\" must be a list"));
  r = wk::rules::load_rule_text("group:\n  - name: a\n", "x.yml");
  CHECK(has(r, "x.yml:1:1: unknown key \"group\" in the rule file"));
  r = wk::rules::load_rule_text("groups:\n  - name: a\n    name: b\n", "x.yml");
  CHECK(has(r, "x.yml:3:5: key \"name\" is repeated in group"));
  r = wk::rules::load_rule_text("groups:\n  - rules: []\n", "x.yml");
  CHECK(has(r, "x.yml:2:5: group name must not be empty"));
  r = wk::rules::load_rule_text("groups:\n  - name: a\n    limit: -1\n", "x.yml");
  CHECK(has(r, "x.yml:3:12: group \"a\": limit must be a non-negative integer, got \"-1\""));
  // Deep nesting and an alias bomb.
  r = wk::rules::load_rule_text(std::string(100000, '[') + std::string(100000, ']'), "deep.yml");
  CHECK(!r.errors.empty());
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c)
    bomb += std::string(1, c) + ": &" + c + " [*" + static_cast<char>(c - 1) + ", *" + static_cast<char>(c - 1) +
            ", *" + static_cast<char>(c - 1) + ", *" + static_cast<char>(c - 1) + ", *" + static_cast<char>(c - 1) +
            ", *" + static_cast<char>(c - 1) + ", *" + static_cast<char>(c - 1) + ", *" + static_cast<char>(c - 1) + "]\n";
  bomb += "groups:\n  - name: a\n    rules: *j\n";
  r = wk::rules::load_rule_text(bomb, "bomb.yml");
  CHECK(!r.errors.empty());
  r = wk::rules::load_rule_text(std::string("groups:\n  - name: a\n    rules:\n      - alert: '") + "\xff" + "'\n        expr: up\n", "x.yml");
  CHECK(has(r, "x.yml:4:16: group \"a\": rule 1: alert is not valid UTF-8"));
}

TEST_CASE("rule_file: globs relative to a base directory; no match is not an error") {
  const auto r = wk::rules::load_rule_globs({"alerts.good.*", "nothing-*.yml", "alerts.good.yml"}, dir);
  CHECK(r.errors.empty());
  CHECK(r.groups.size() == 2);  // the file matched twice loads once
  const auto missing = wk::rules::load_rule_file(dir + "/does-not-exist.yml");
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0] == dir + "/does-not-exist.yml: cannot open file");
  const auto directory = wk::rules::load_rule_file(dir);
  REQUIRE(directory.errors.size() == 1);
  CHECK(directory.errors[0] == dir + ": cannot read file");
}
