#include <doctest/doctest.h>

#include <yaml-cpp/yaml.h>

#include "oncall/config.hpp"
#include "silences/config.hpp"
#include "silences/maintenance.hpp"
#include "silences/match.hpp"

using namespace wk::silences;
using wk::oncall::parse_rfc3339_ms;

namespace {

silence_config load(const std::string& name, std::vector<std::string>& errors) {
  YAML::Node doc = YAML::LoadFile(std::string(WK_SOURCE_DIR) + "/tests/testdata/silences/" + name);
  return parse_silence_config(doc, errors, name);
}

std::int64_t at(const char* rfc3339) { return *parse_rfc3339_ms(rfc3339); }

std::string joined(const std::vector<std::string>& errors) {
  std::string all;
  for (const auto& e : errors)
    all += "\n  " + e;
  return all;
}

// The one error that mentions needle; fails when none or several do.
std::string error_with(const std::vector<std::string>& errors, const std::string& needle) {
  std::string found;
  int count = 0;
  for (const auto& e : errors)
    if (e.find(needle) != std::string::npos) {
      found = e;
      ++count;
    }
  CHECK_MESSAGE(count == 1, needle, joined(errors));
  return found;
}

}  // namespace

TEST_CASE("config: silences and maintenance windows of the contract") {
  std::vector<std::string> errors;
  auto cfg = load("silences.good.yml", errors);
  CAPTURE(joined(errors));
  REQUIRE(errors.empty());
  REQUIRE(cfg.silences.size() == 2);
  const auto& s0 = cfg.silences[0];
  CHECK(s0.id == "cfg-0");
  CHECK(s0.source == "config");
  CHECK(s0.created_by == "ops");
  CHECK(s0.comment == "migration");
  CHECK(s0.starts_at_ms == at("2026-01-01T00:00:00Z"));
  CHECK(s0.ends_at_ms == at("2027-01-01T00:00:00Z"));
  REQUIRE(s0.matchers.size() == 1);
  CHECK(s0.matchers[0].str() == "service=\"db\"");
  const auto& s1 = cfg.silences[1];
  CHECK(s1.id == "cfg-1");
  CHECK(s1.created_by == "config");
  REQUIRE(s1.matchers.size() == 3);
  CHECK(s1.ends_at_ms == at("2026-03-01T09:30:00.500Z"));
  CHECK(silenced_by(cfg.silences, {{"service", "api"}, {"severity", "info"}},
                    at("2026-03-01T09:00:00Z")) == std::vector<std::string>{"cfg-1"});
  CHECK(silenced_by(cfg.silences, {{"service", "api"}, {"severity", "info"}, {"env", "prod"}},
                    at("2026-03-01T09:00:00Z"))
            .empty());

  REQUIRE(cfg.maintenance_windows.size() == 4);
  const auto& sunday = cfg.maintenance_windows[0];
  CHECK(sunday.name == "sunday-patch");
  CHECK(sunday.repeat == maintenance_window::recurrence::weekly);
  CHECK(sunday.start_ms == at("2026-01-04T01:00:00Z"));  // 02:00 CET
  CHECK(sunday.duration_ms == 2 * 3600000);
  CHECK(sunday.time_zone == "Europe/Berlin");
  CHECK(sunday.until_ms == 0);
  CHECK(in_maintenance(cfg.maintenance_windows, {{"service", "cache"}}, at("2026-07-05T01:30:00Z")) ==
        std::vector<std::string>{"sunday-patch"});  // 03:30 CEST

  const auto& once = cfg.maintenance_windows[1];
  CHECK(once.repeat == maintenance_window::recurrence::none);
  CHECK(once.time_zone == "UTC");
  CHECK(once.matchers.empty());
  CHECK(once.duration_ms == 90 * 60000);

  const auto& month_end = cfg.maintenance_windows[2];
  CHECK(month_end.start_ms == at("2026-02-01T04:30:00Z"));  // 23:30 EST
  CHECK(month_end.until_ms == at("2027-01-01T05:00:00Z"));
  CHECK(month_end.comment == "month-end batch");
  // 23:30 New York on the 31st; April has no 31st.
  CHECK(next_occurrence(month_end, at("2026-03-01T00:00:00Z"))->start_ms ==
        at("2026-04-01T03:30:00Z"));
  CHECK(next_occurrence(month_end, at("2026-04-01T03:30:00Z"))->start_ms ==
        at("2026-06-01T03:30:00Z"));

  const auto& nightly = cfg.maintenance_windows[3];
  CHECK(nightly.start_ms == at("2026-03-27T01:30:00Z"));
  CHECK(nightly.until_ms == at("2026-04-29T22:00:00Z"));
  CHECK(nightly.duration_ms == 23 * 3600000 + 59 * 60000);
}

TEST_CASE("config: every problem is reported with file, line, column and path") {
  std::vector<std::string> errors;
  auto cfg = load("silences.bad.yml", errors);
  CAPTURE(joined(errors));
  CHECK(cfg.silences.empty());
  CHECK(cfg.maintenance_windows.empty());
  for (const auto& e : errors)
    CHECK_MESSAGE(e.rfind("silences.bad.yml:", 0) == 0, e);

  CHECK(error_with(errors, "silences[0].matchers[0]: invalid regex").find("silences.bad.yml:2:") == 0);
  CHECK(error_with(errors, "silences[1].matchers: a silence needs at least one matcher") != "");
  CHECK(error_with(errors, "silences[2].starts_at: invalid time \"yesterday\"").find("silences.bad.yml:9:16:") == 0);
  CHECK(error_with(errors, "silences[2].colour: unknown key") != "");
  CHECK(error_with(errors, "silences[3].ends_at: must be after starts_at").find("silences.bad.yml:14:14:") == 0);
  CHECK(error_with(errors, "silences[4].matchers: every matcher matches an empty label") != "");
  CHECK(error_with(errors, "silences[5].matchers: missing") != "");
  CHECK(error_with(errors, "silences[5].starts_at: missing") != "");
  CHECK(error_with(errors, "silences[5].ends_at: missing") != "");

  CHECK(error_with(errors, "maintenance_windows[0].start: local time \"2026-03-29T02:30:00\" does not exist in Europe/Berlin") != "");
  CHECK(error_with(errors, "maintenance_windows[1].duration: must be shorter than the repeat period (7d for weekly)") != "");
  CHECK(error_with(errors, "maintenance_windows[1].name: duplicate \"gap\" (first at maintenance_windows[0])") != "");
  CHECK(error_with(errors, "maintenance_windows[2].time_zone: unknown time zone \"Mars/Olympus_Mons\"") != "");
  CHECK(error_with(errors, "maintenance_windows[3].duration: must be greater than 0") != "");
  CHECK(error_with(errors, "maintenance_windows[3].repeat: must be none, daily, weekly or monthly") != "");
  CHECK(error_with(errors, "maintenance_windows[4].duration: invalid duration \"99999999999h\"") != "");
  CHECK(error_with(errors, "maintenance_windows[5].until: must be after start") != "");
  CHECK(error_with(errors, "maintenance_windows[6].start: invalid time \"2026-13-01T00:00\"") != "");
  CHECK(error_with(errors, "maintenance_windows[6].duration: must be shorter than the repeat period (28d for monthly)") != "");
  CHECK(error_with(errors, "maintenance_windows[7].matchers[0]: expected a matcher") != "");
  CHECK(error_with(errors, "maintenance_windows[7].name: missing") != "");
  CHECK(error_with(errors, "maintenance_windows[7].start: missing") != "");
  CHECK(error_with(errors, "maintenance_windows[7].duration: missing") != "");
  CHECK(error_with(errors, "maintenance_windows[8].matchers[0]: regex for host: repetition counts multiply to more than 100") != "");
  CHECK(errors.size() == 24);
}

TEST_CASE("config: absent, empty and misshapen sections") {
  std::vector<std::string> errors;
  auto cfg = parse_silence_config(YAML::Load("services: []"), errors);
  CHECK(errors.empty());
  CHECK(cfg.silences.empty());
  cfg = parse_silence_config(YAML::Load("silences:\nmaintenance_windows: []"), errors);
  CHECK(errors.empty());

  parse_silence_config(YAML::Load("silences: {a: 1}\nmaintenance_windows: [3]"), errors);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "1:11: silences: must be a list");
  CHECK(errors[1] == "2:23: maintenance_windows[0]: must be a mapping");

  errors.clear();
  parse_silence_config(YAML::Load("[1, 2]"), errors, "x.yml");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "x.yml:1:1: (top level): must be a mapping");

  // A local until is read in the window's zone, whatever the key order.
  errors.clear();
  cfg = parse_silence_config(YAML::Load(R"(maintenance_windows:
  - {until: "2026-02-01T00:00", start: "2026-01-01T00:00", duration: 1h, repeat: daily, time_zone: Asia/Tokyo, name: t})"),
                             errors);
  CAPTURE(joined(errors));
  REQUIRE(cfg.maintenance_windows.size() == 1);
  CHECK(cfg.maintenance_windows[0].start_ms == at("2025-12-31T15:00:00Z"));
  CHECK(cfg.maintenance_windows[0].until_ms == at("2026-01-31T15:00:00Z"));
}

TEST_CASE("config: hostile sizes are refused quickly") {
  std::string yaml = "silences:\n";
  for (int i = 0; i < 10001; ++i)
    yaml += "  - {matchers: ['a=\"b\"'], starts_at: 2026-01-01T00:00:00Z, ends_at: 2027-01-01T00:00:00Z}\n";
  std::vector<std::string> errors;
  auto cfg = parse_silence_config(YAML::Load(yaml), errors);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("silences: more than 10000 entries") != std::string::npos);

  errors.clear();
  cfg = parse_silence_config(YAML::Load(R"(maintenance_windows:
  - {name: far, start: "9999-12-31T23:00:00Z", duration: 3650d, repeat: none}
  - {name: early, start: "0000-01-01T00:00:00+01:00", duration: 1h})"),
                             errors);
  CAPTURE(joined(errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("maintenance_windows[1].start: time \"0000-01-01T00:00:00+01:00\" is outside years 0000-9999") != std::string::npos);
  REQUIRE(cfg.maintenance_windows.size() == 1);
  CHECK(current_occurrence(cfg.maintenance_windows[0], at("9999-12-31T23:30:00Z")));
}
