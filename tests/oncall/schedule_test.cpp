#include <doctest/doctest.h>

#include "oncall/config.hpp"
#include "oncall/schedule.hpp"

using namespace wk::oncall;

namespace {

std::int64_t at(const char* rfc3339) {
  auto ms = parse_rfc3339_ms(rfc3339);
  REQUIRE_MESSAGE(ms.has_value(), rfc3339);
  return *ms;
}

std::string who(const schedule& s, const char* when) {
  return on_call(s, at(when)).value_or("-");
}

constexpr std::int64_t hour_ms = 3600000;
constexpr std::int64_t day_ms = 24 * hour_ms;

rotation_layer daily_berlin() {
  rotation_layer l;
  l.name = "daily";
  l.users = {"alice", "bob", "carol"};
  l.start_ms = at("2026-03-27T09:00:00+01:00");
  l.turn_length_ms = day_ms;
  l.handoff_time = "09:00";
  l.time_zone = "Europe/Berlin";
  return l;
}

}  // namespace

TEST_CASE("schedule: a daily 09:00 Berlin hand-off stays at 09:00 local across spring DST") {
  schedule s{"primary", {daily_berlin()}, {}};
  CHECK(who(s, "2026-03-27T07:59:59Z") == "-");  // before the start
  CHECK(who(s, "2026-03-27T08:00:00Z") == "alice");
  CHECK(who(s, "2026-03-28T07:59:59Z") == "alice");
  CHECK(who(s, "2026-03-28T08:00:00Z") == "bob");  // 09:00 CET
  CHECK(who(s, "2026-03-29T06:59:59Z") == "bob");
  CHECK(who(s, "2026-03-29T07:00:00Z") == "carol");  // 09:00 CEST, an hour earlier in UTC
  CHECK(who(s, "2026-03-30T07:00:00Z") == "alice");
  auto timeline = shifts(s, at("2026-03-27T00:00:00Z"), at("2026-03-31T00:00:00Z"));
  REQUIRE(timeline.size() == 4);
  CHECK(timeline[0].user == "alice");
  CHECK(timeline[0].start_ms == at("2026-03-27T08:00:00Z"));
  CHECK(timeline[1].end_ms - timeline[1].start_ms == 23 * hour_ms);  // the short day
  CHECK(timeline[2].end_ms - timeline[2].start_ms == 24 * hour_ms);
  CHECK(timeline[3].end_ms == at("2026-03-31T00:00:00Z"));
}

TEST_CASE("schedule: and across the October change") {
  rotation_layer l = daily_berlin();
  l.start_ms = at("2026-10-23T09:00:00+02:00");
  schedule s{"primary", {l}, {}};
  CHECK(who(s, "2026-10-24T07:00:00Z") == "bob");  // 09:00 CEST
  CHECK(who(s, "2026-10-25T07:59:59Z") == "bob");
  CHECK(who(s, "2026-10-25T08:00:00Z") == "carol");  // 09:00 CET
  auto timeline = shifts(s, at("2026-10-24T07:00:00Z"), at("2026-10-26T08:00:00Z"));
  REQUIRE(timeline.size() == 2);
  CHECK(timeline[0].end_ms - timeline[0].start_ms == 25 * hour_ms);  // the long day
  CHECK(timeline[1].user == "carol");
}

TEST_CASE("schedule: weekly rotation, hand-off time earlier than the start, 12h custom turns") {
  rotation_layer weekly;
  weekly.users = {"alice", "bob"};
  weekly.start_ms = at("2026-01-05T12:00:00Z");  // a Monday, noon
  weekly.turn_length_ms = 7 * day_ms;
  weekly.handoff_time = "09:00";
  schedule s{"w", {weekly}, {}};
  CHECK(who(s, "2026-01-05T11:00:00Z") == "-");
  CHECK(who(s, "2026-01-05T12:00:00Z") == "alice");  // the first turn is cut short
  CHECK(who(s, "2026-01-12T08:59:59Z") == "alice");
  CHECK(who(s, "2026-01-12T09:00:00Z") == "bob");
  CHECK(who(s, "2026-01-19T09:00:00Z") == "alice");
  CHECK(who(s, "2027-01-04T09:00:00Z") == "alice");  // 52 weeks later, even turn

  rotation_layer halves = daily_berlin();
  halves.users = {"day", "night"};
  halves.turn_length_ms = 12 * hour_ms;
  schedule h{"h", {halves}, {}};
  CHECK(who(h, "2026-03-28T07:59:59Z") == "night");
  CHECK(who(h, "2026-03-28T08:00:00Z") == "day");    // 09:00 CET, the third turn
  CHECK(who(h, "2026-03-28T20:00:00Z") == "night");  // 21:00 CET
  CHECK(who(h, "2026-03-29T06:59:59Z") == "night");  // an 11-hour night: DST began
  CHECK(who(h, "2026-03-29T07:00:00Z") == "day");    // 09:00 CEST
  CHECK(who(h, "2026-03-29T19:00:00Z") == "night");  // 21:00 CEST
}

TEST_CASE("schedule: later layers win, restrictions let lower layers show through") {
  rotation_layer base;
  base.name = "base";
  base.users = {"base-1"};
  base.start_ms = at("2026-01-01T00:00:00Z");
  base.turn_length_ms = 7 * day_ms;
  rotation_layer office = daily_berlin();
  office.name = "office";
  office.users = {"office-1", "office-2"};
  office.start_ms = at("2026-01-05T09:00:00+01:00");     // Monday
  office.restrictions = {{0b0111110, 9 * 60, 17 * 60}};  // Mon-Fri 09:00-17:00 local
  rotation_layer nights;
  nights.name = "nights";
  nights.users = {"night-owl"};
  nights.start_ms = at("2026-01-01T00:00:00Z");
  nights.turn_length_ms = 7 * day_ms;
  nights.time_zone = "Europe/Berlin";
  nights.restrictions = {{1u << 5, 22 * 60, 6 * 60}};  // Friday 22:00 to Saturday 06:00
  schedule s{"layered", {base, office, nights}, {}};

  CHECK(who(s, "2026-01-05T07:59:59Z") == "base-1");  // Monday 08:59 Berlin
  CHECK(who(s, "2026-01-05T08:00:00Z") == "office-1");
  CHECK(who(s, "2026-01-05T15:59:59Z") == "office-1");
  CHECK(who(s, "2026-01-05T16:00:00Z") == "base-1");    // 17:00 Berlin
  CHECK(who(s, "2026-01-06T08:00:00Z") == "office-2");  // Tuesday: the next turn
  CHECK(who(s, "2026-01-10T10:00:00Z") == "base-1");    // Saturday: restricted out
  CHECK(who(s, "2026-01-09T20:59:59Z") == "base-1");    // Friday 21:59 Berlin
  CHECK(who(s, "2026-01-09T21:00:00Z") == "night-owl");
  CHECK(who(s, "2026-01-10T04:59:59Z") == "night-owl");  // Saturday 05:59
  CHECK(who(s, "2026-01-10T05:00:00Z") == "base-1");

  auto timeline = shifts(s, at("2026-01-05T00:00:00Z"), at("2026-01-06T00:00:00Z"));
  REQUIRE(timeline.size() == 3);
  CHECK(timeline[0].user == "base-1");
  CHECK(timeline[1].user == "office-1");
  CHECK(timeline[1].start_ms == at("2026-01-05T08:00:00Z"));
  CHECK(timeline[1].end_ms == at("2026-01-05T16:00:00Z"));
  CHECK(timeline[2].user == "base-1");
}

TEST_CASE("schedule: overrides beat every layer; the later override wins") {
  schedule s{"o", {daily_berlin()}, {}};
  s.overrides = {{"dave", at("2026-03-28T12:00:00Z"), at("2026-03-28T18:00:00Z")},
                 {"erin", at("2026-03-28T14:00:00Z"), at("2026-03-28T15:00:00Z")}};
  CHECK(who(s, "2026-03-28T11:59:59Z") == "bob");
  CHECK(who(s, "2026-03-28T12:00:00Z") == "dave");
  CHECK(who(s, "2026-03-28T14:30:00Z") == "erin");
  CHECK(who(s, "2026-03-28T15:00:00Z") == "dave");
  CHECK(who(s, "2026-03-28T18:00:00Z") == "bob");
  auto timeline = shifts(s, at("2026-03-28T08:00:00Z"), at("2026-03-29T07:00:00Z"));
  std::vector<std::string> users;
  for (const auto& sh : timeline)
    users.push_back(sh.user);
  CHECK(users == std::vector<std::string>{"bob", "dave", "erin", "dave", "bob"});
  CHECK(timeline.back().end_ms == at("2026-03-29T07:00:00Z"));
}

TEST_CASE("schedule: empty and broken layers cover nothing; hostile ranges stay bounded") {
  rotation_layer broken = daily_berlin();
  broken.time_zone = "Mars/Olympus";
  rotation_layer zero = daily_berlin();
  zero.turn_length_ms = 0;
  rotation_layer nobody = daily_berlin();
  nobody.users.clear();
  schedule s{"broken", {broken, zero, nobody}, {}};
  CHECK(who(s, "2026-03-28T12:00:00Z") == "-");
  CHECK(shifts(s, 0, INT64_MAX).empty());

  rotation_layer fast = daily_berlin();
  fast.handoff_time.clear();
  fast.turn_length_ms = hour_ms;
  schedule f{"fast", {fast}, {}};
  auto timeline = shifts(f, INT64_MIN, INT64_MAX, 100);
  CHECK(timeline.size() == 100);
  CHECK(timeline.front().start_ms == fast.start_ms);
  CHECK(timeline.front().end_ms - timeline.front().start_ms == hour_ms);
  CHECK(on_call(f, INT64_MAX).has_value());
  CHECK_FALSE(on_call(f, INT64_MIN).has_value());
}
