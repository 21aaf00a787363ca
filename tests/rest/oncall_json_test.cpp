#include <doctest/doctest.h>

#include <limits>

#include <rapidjson/document.h>
#include <yaml-cpp/yaml.h>

#include "oncall/config.hpp"
#include "protocol/http/uri.hpp"
#include "protocol/rest/oncall_json.hpp"

using namespace wk;
using namespace wk::rest;

namespace {

// Two rotation layers (daily hand-offs at 09:00 UTC; carol over the whole weekend) and an
// override, plus a schedule that only starts in 2030.
constexpr const char* config_yaml = R"(
users:
  - {id: alice, name: "Alice \"Al\" Example"}
  - {id: bob, name: Bob}
  - {id: carol}
schedules:
  - name: primary
    layers:
      - name: base
        users: [alice, bob]
        start: 2026-03-02T09:00:00Z
        rotation: daily
      - name: weekend
        users: [carol]
        start: 2026-03-02T00:00:00Z
        rotation: weekly
        restrictions: [{days: [sat, sun], from: "00:00", to: "24:00"}]
    overrides:
      - {user: carol, start: 2026-03-04T12:00:00Z, end: 2026-03-04T18:00:00Z}
  - name: later
    layers:
      - name: only
        users: [bob]
        start: 2030-01-01T00:00:00Z
        rotation: daily
)";

oncall::oncall_config config() {
  std::vector<std::string> errors;
  auto cfg = oncall::parse_oncall(YAML::Load(config_yaml), errors, "test.yml");
  CAPTURE(errors);
  REQUIRE(errors.empty());
  return cfg;
}

std::int64_t ms(const char* rfc3339) {
  auto t = oncall::parse_rfc3339_ms(rfc3339);
  REQUIRE(t);
  return *t;
}

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  CAPTURE(text);
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

std::string text(const rapidjson::Value& v) {
  return std::string(v.GetString(), v.GetStringLength());
}

struct expected_shift {
  const char* user;
  const char* name;
  const char* start;
  const char* end;
};

std::string query_error(std::string_view raw_query) {
  std::string detail;
  CHECK_FALSE(parse_oncall_query(http::parse_query(raw_query), 0, &detail));
  return detail;
}

}  // namespace

TEST_CASE("oncall_json: who is on call and the week of shifts, layers and overrides merged") {
  const auto cfg = config();
  oncall_query q;
  q.at_ms = ms("2026-03-03T10:00:00Z");  // a Tuesday
  auto d = parse(oncall_json(cfg, q));
  CHECK(d["at_ms"].GetInt64() == q.at_ms);
  REQUIRE(d["schedules"].Size() == 2);

  const auto& primary = d["schedules"][0];
  CHECK(text(primary["name"]) == "primary");
  REQUIRE(primary["on_call"].IsObject());
  CHECK(text(primary["on_call"]["id"]) == "bob");
  CHECK(text(primary["on_call"]["name"]) == "Bob");

  const expected_shift expected[] = {
      {"bob", "Bob", "2026-03-03T10:00:00Z", "2026-03-04T09:00:00Z"},
      {"alice", "Alice \"Al\" Example", "2026-03-04T09:00:00Z", "2026-03-04T12:00:00Z"},
      {"carol", "carol", "2026-03-04T12:00:00Z", "2026-03-04T18:00:00Z"},  // override
      {"alice", "Alice \"Al\" Example", "2026-03-04T18:00:00Z", "2026-03-05T09:00:00Z"},
      {"bob", "Bob", "2026-03-05T09:00:00Z", "2026-03-06T09:00:00Z"},
      {"alice", "Alice \"Al\" Example", "2026-03-06T09:00:00Z", "2026-03-07T00:00:00Z"},
      {"carol", "carol", "2026-03-07T00:00:00Z", "2026-03-09T00:00:00Z"},  // weekend layer
      {"alice", "Alice \"Al\" Example", "2026-03-09T00:00:00Z", "2026-03-09T09:00:00Z"},
      {"bob", "Bob", "2026-03-09T09:00:00Z", "2026-03-10T09:00:00Z"},
      {"alice", "Alice \"Al\" Example", "2026-03-10T09:00:00Z", "2026-03-10T10:00:00Z"},
  };
  const auto& shifts = primary["shifts"];
  REQUIRE(shifts.Size() == std::size(expected));
  for (rapidjson::SizeType k = 0; k < shifts.Size(); ++k) {
    CAPTURE(k);
    CHECK(shifts[k].MemberCount() == 4);
    CHECK(text(shifts[k]["user"]) == expected[k].user);
    CHECK(text(shifts[k]["name"]) == expected[k].name);
    CHECK(shifts[k]["start_ms"].GetInt64() == ms(expected[k].start));
    CHECK(shifts[k]["end_ms"].GetInt64() == ms(expected[k].end));
  }

  // Nobody is on call before a schedule starts: null, not an empty object.
  const auto& later = d["schedules"][1];
  CHECK(text(later["name"]) == "later");
  CHECK(later["on_call"].IsNull());
  CHECK(later["shifts"].IsArray());
  CHECK(later["shifts"].Empty());
}

TEST_CASE("oncall_json: one schedule, a shorter window, unknown user ids") {
  auto cfg = config();
  // A user id the users list does not know (a config changed under a running schedule) shows
  // its id as the name.
  cfg.schedules[0].overrides[0].user = "dave";
  oncall_query q;
  q.at_ms = ms("2026-03-04T13:00:00Z");
  q.schedule = "primary";
  q.days = 1;
  auto d = parse(oncall_json(cfg, q));
  REQUIRE(d["schedules"].Size() == 1);
  const auto& primary = d["schedules"][0];
  CHECK(text(primary["on_call"]["id"]) == "dave");
  CHECK(text(primary["on_call"]["name"]) == "dave");
  const auto& shifts = primary["shifts"];
  REQUIRE(shifts.Size() == 3);
  CHECK(text(shifts[0]["user"]) == "dave");
  CHECK(shifts[0]["start_ms"].GetInt64() == q.at_ms);
  CHECK(shifts[0]["end_ms"].GetInt64() == ms("2026-03-04T18:00:00Z"));
  CHECK(text(shifts[1]["user"]) == "alice");
  CHECK(text(shifts[2]["user"]) == "bob");
  CHECK(shifts[2]["start_ms"].GetInt64() == ms("2026-03-05T09:00:00Z"));
  CHECK(shifts[2]["end_ms"].GetInt64() == ms("2026-03-05T13:00:00Z"));

  q.schedule = "nope";
  d = parse(oncall_json(cfg, q));
  CHECK(d["schedules"].IsArray());
  CHECK(d["schedules"].Empty());
}

TEST_CASE("oncall_json: hostile names stay valid JSON") {
  oncall::oncall_config cfg;
  cfg.users.push_back({"u\"1", "name\n\xff", {}});
  oncall::schedule s;
  s.name = "sched\\\x01";
  oncall::override_entry o;
  o.user = "u\"1";
  o.start_ms = 0;
  o.end_ms = 86400000;
  s.overrides.push_back(o);
  cfg.schedules.push_back(s);
  oncall_query q;
  q.at_ms = 1000;
  auto d = parse(oncall_json(cfg, q));
  CHECK(text(d["schedules"][0]["name"]) == "sched\\\x01");
  CHECK(text(d["schedules"][0]["on_call"]["id"]) == "u\"1");
  CHECK(text(d["schedules"][0]["on_call"]["name"]) == "name\n\xef\xbf\xbd");
  REQUIRE(d["schedules"][0]["shifts"].Size() == 1);
  CHECK(d["schedules"][0]["shifts"][0]["end_ms"].GetInt64() == 86400000);
}

TEST_CASE("parse_oncall_query: defaults, ms and RFC 3339") {
  std::string detail;
  auto q = parse_oncall_query({}, 1767225600000, &detail);
  REQUIRE(q);
  CHECK(q->at_ms == 1767225600000);
  CHECK(q->schedule.empty());
  CHECK(q->days == 7);

  q = parse_oncall_query(http::parse_query("at=1767225600123&schedule=primary&days=31"), 0,
                         &detail);
  REQUIRE(q);
  CHECK(q->at_ms == 1767225600123);
  CHECK(q->schedule == "primary");
  CHECK(q->days == 31);

  q = parse_oncall_query(http::parse_query("at=2026-01-01T10:00:00%2B10:00&days=1"), 0, &detail);
  REQUIRE(q);
  CHECK(q->at_ms == 1767225600000);
  CHECK(q->days == 1);
  q = parse_oncall_query(http::parse_query("at=2026-01-01T10:00:00+10:00"), 0, &detail);
  REQUIRE(q);
  CHECK(q->at_ms == 1767225600000);

  // Empty values take the defaults.
  q = parse_oncall_query(http::parse_query("at=&schedule=&days="), 99, &detail);
  REQUIRE(q);
  CHECK(q->at_ms == 99);
  CHECK(q->days == 7);
}

TEST_CASE("parse_oncall_query: every error with its detail") {
  const std::string hint =
      "at must be unix milliseconds or an RFC 3339 time such as 2026-01-05T09:00:00Z (got ";
  CHECK(query_error("at=now") == hint + "\"now\")");
  CHECK(query_error("at=2026-02-30T00:00:00Z") == hint + "\"2026-02-30T00:00:00Z\")");
  CHECK(query_error("at=-5") == hint + "\"-5\")");
  CHECK(query_error("days=0") == "days must be a whole number from 1 to 31 (got \"0\")");
  CHECK(query_error("days=32") == "days must be a whole number from 1 to 31 (got \"32\")");
  CHECK(query_error("days=1.5") == "days must be a whole number from 1 to 31 (got \"1.5\")");
  CHECK(query_error("days=+7") == "days must be a whole number from 1 to 31 (got \" 7\")");
  CHECK(query_error("days=99999999999999999999") ==
        "days must be a whole number from 1 to 31 (got \"99999999999999999999\")");
  CHECK(query_error("user=alice") ==
        "unknown query parameter \"user\" (known: at, schedule, days)");
}

TEST_CASE("oncall_json: a hand-built query at the edge of time stays defined") {
  const auto cfg = config();
  oncall_query q;
  q.at_ms = std::numeric_limits<std::int64_t>::max() - 5;
  q.days = 31;
  auto d = parse(oncall_json(cfg, q));
  CHECK(d["at_ms"].GetInt64() == q.at_ms);
  REQUIRE(d["schedules"].Size() == 2);
  q.at_ms = 0;
  q.days = -3;  // no window at all
  d = parse(oncall_json(cfg, q));
  CHECK(d["schedules"][0]["shifts"].Empty());
}
