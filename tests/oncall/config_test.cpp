#include <doctest/doctest.h>

#include <yaml-cpp/yaml.h>

#include "oncall/config.hpp"

using namespace wk::oncall;

namespace {

oncall_config load(const std::string& name, std::vector<std::string>& errors) {
  YAML::Node doc = YAML::LoadFile(std::string(WK_SOURCE_DIR) + "/tests/testdata/oncall/" + name);
  return parse_oncall(doc, errors, name);
}

}  // namespace

TEST_CASE("config: a full on-call configuration") {
  std::vector<std::string> errors;
  auto cfg = load("oncall.good.yml", errors);
  CAPTURE(errors);
  REQUIRE(errors.empty());
  REQUIRE(cfg.users.size() == 3);
  CHECK(cfg.users[0].id == "alice");
  CHECK(cfg.users[0].name == "Alice Example");
  REQUIRE(cfg.users[0].contacts.size() == 2);
  CHECK(cfg.users[0].contacts[1].type == "slack");
  CHECK(cfg.users[0].contacts[1].address == "@alice");

  REQUIRE(cfg.schedules.size() == 2);
  const auto& primary = cfg.schedules[0];
  REQUIRE(primary.layers.size() == 2);
  CHECK(primary.layers[0].turn_length_ms == 86400000);
  CHECK(primary.layers[0].start_ms == *parse_rfc3339_ms("2026-03-27T08:00:00Z"));
  CHECK(primary.layers[1].turn_length_ms == 12 * 3600000);
  REQUIRE(primary.layers[1].restrictions.size() == 2);
  CHECK(primary.layers[1].restrictions[0].weekdays == 0b0111110);
  CHECK(primary.layers[1].restrictions[0].from_minute == 540);
  CHECK(primary.layers[1].restrictions[0].to_minute == 1020);
  CHECK(primary.layers[1].restrictions[1].weekdays == 0b1000000);
  CHECK(primary.layers[1].restrictions[1].to_minute == 0);  // 24:00 = midnight next day
  REQUIRE(primary.overrides.size() == 1);
  CHECK(primary.overrides[0].user == "bob");
  CHECK(cfg.schedules[1].layers[0].turn_length_ms == 7 * 86400000LL);
  CHECK(cfg.schedules[1].layers[0].start_ms % 1000 == 500);

  // The parsed schedule answers who is on call.
  CHECK(on_call(primary, *parse_rfc3339_ms("2026-03-28T07:00:00Z")) == "alice");
  CHECK(on_call(primary, *parse_rfc3339_ms("2026-03-28T08:00:00Z")) == "bob");
  CHECK(on_call(primary, *parse_rfc3339_ms("2026-03-30T14:00:00Z")) == "carol");  // 10:00 NY
  CHECK(on_call(primary, *parse_rfc3339_ms("2026-04-01T12:00:00Z")) == "bob");    // override

  REQUIRE(cfg.escalation_policies.size() == 1);
  const auto& p = cfg.escalation_policies[0];
  CHECK(p.repeat == 2);
  REQUIRE(p.levels.size() == 2);
  CHECK(p.levels[0].delay_ms == 600000);
  CHECK(p.levels[1].delay_ms == 5400000);
  REQUIRE(p.levels[0].targets.size() == 2);
  CHECK(p.levels[0].targets[0].type == target::kind::schedule);
  CHECK(p.levels[0].targets[1].type == target::kind::channel);
  CHECK(p.levels[0].targets[1].id == "slack-ops");
  CHECK(p.levels[1].targets[0].type == target::kind::user);
}

TEST_CASE("config: every problem reported with file, line and key") {
  std::vector<std::string> errors;
  load("oncall.bad.yml", errors);
  auto has = [&](const std::string& needle) {
    for (const auto& e : errors)
      if (e.find(needle) != std::string::npos)
        return true;
    return false;
  };
  CAPTURE(errors);
  CHECK(
      has("oncall.bad.yml:3:23: users[0].contacts[0].type: must be email, slack, pagerduty or "
          "webhook"));
  CHECK(has("oncall.bad.yml:4:5: users[1]: duplicate \"alice\""));
  CHECK(has("oncall.bad.yml:5:5: users[2].id: missing"));
  CHECK(has("oncall.bad.yml:9:24: schedules[0].layers[0].users[1]: unknown user \"zed\""));
  CHECK(has("oncall.bad.yml:10:16: schedules[0].layers[0].start: invalid time \"yesterday\""));
  CHECK(has(
      "oncall.bad.yml:11:19: schedules[0].layers[0].rotation: must be daily, weekly or custom"));
  CHECK(
      has("oncall.bad.yml:12:20: schedules[0].layers[0].time_zone: unknown time zone "
          "\"Mars/Olympus\""));
  CHECK(has(
      "oncall.bad.yml:13:23: schedules[0].layers[0].handoff_time: invalid time of day \"25:00\""));
  CHECK(has("oncall.bad.yml:17:22: schedules[0].layers[1].turn_length: must be at least 1h"));
  CHECK(has("schedules[0].layers[1].restrictions[0].days[0]: unknown weekday \"funday\""));
  CHECK(has("schedules[0].layers[1].restrictions[0].from: invalid time of day \"9am\""));
  CHECK(has("schedules[0].layers[1].restrictions[0]: a restriction needs from and to"));
  CHECK(has("schedules[0].overrides[0].end: must be after start"));
  CHECK(has("oncall.bad.yml:21:5: schedules[0].colour: unknown key"));
  CHECK(has("escalation_policies[0].repeat: must be a whole number from 0 to 100"));
  CHECK(has("escalation_policies[0].levels[0].delay: invalid duration \"soon\""));
  CHECK(has("escalation_policies[0].levels[0].targets[0].schedule: unknown schedule \"nope\""));
  CHECK(has("escalation_policies[0].levels[0].targets[1].team: unknown target type"));
  CHECK(has("escalation_policies[0].levels[1].delay: missing"));
  CHECK(has("escalation_policies[0].levels[1].targets: a level needs at least one target"));
  CHECK(has("escalation_policies[1].repeat: repeating needs a level with a non-zero delay"));
  CHECK(errors.size() == 21);
}

TEST_CASE("config: RFC 3339 times") {
  CHECK(parse_rfc3339_ms("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339_ms("2026-03-29T09:00:00+02:00") == parse_rfc3339_ms("2026-03-29T07:00:00Z"));
  CHECK(parse_rfc3339_ms("2026-03-29T07:00:00.25Z") ==
        *parse_rfc3339_ms("2026-03-29T07:00:00Z") + 250);
  CHECK(parse_rfc3339_ms("2024-02-29T00:00:00Z").has_value());
  for (const char* bad :
       {"", "2026-03-29", "2026-03-29T07:00:00", "2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-03-29T24:00:00Z", "2026-03-29T07:00:00+2:00", "2026-03-29T07:00:00.Z",
        "2026-03-29T07:00:00Zjunk"})
    CHECK_MESSAGE(!parse_rfc3339_ms(bad).has_value(), bad);
}

TEST_CASE("config: wrong shapes do not crash") {
  for (const char* text :
       {"[]", "users: 5", "users: [5, [1], {id: [x]}]", "schedules: [{layers: 3}]",
        "escalation_policies: [{levels: [{targets: {user: a}}]}]", "users: ~"}) {
    std::vector<std::string> errors;
    parse_oncall(YAML::Load(text), errors);
    CHECK_MESSAGE(!errors.empty(), text);
  }
}
