#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "oncall/config.hpp"
#include "silences/maintenance.hpp"

using namespace wk::silences;
using wk::oncall::parse_rfc3339_ms;
using recurrence = maintenance_window::recurrence;

namespace {

constexpr std::int64_t minute = 60000, hour = 60 * minute, day = 24 * hour;

std::int64_t at(const char* rfc3339) {
  auto t = parse_rfc3339_ms(rfc3339);
  REQUIRE_MESSAGE(t, rfc3339);
  return *t;
}

maintenance_window window(const char* start, std::int64_t duration, recurrence r,
                          std::string zone = "UTC") {
  maintenance_window w;
  w.name = "w";
  w.start_ms = at(start);
  w.duration_ms = duration;
  w.repeat = r;
  w.time_zone = std::move(zone);
  return w;
}

// The starts of every occurrence from the first until `end`, by chaining next_occurrence.
std::vector<std::int64_t> starts_until(const maintenance_window& w, std::int64_t end) {
  std::vector<std::int64_t> out;
  std::int64_t t = w.start_ms - 1;
  while (auto o = next_occurrence(w, t)) {
    if (o->start_ms >= end)
      break;
    REQUIRE(o->end_ms == o->start_ms + w.duration_ms);
    out.push_back(o->start_ms);
    t = o->start_ms;
  }
  return out;
}

}  // namespace

TEST_CASE("maintenance: a one-off window covers start up to start + duration") {
  auto w = window("2026-05-01T10:00:00Z", 2 * hour, recurrence::none);
  CHECK_FALSE(current_occurrence(w, at("2026-05-01T09:59:59.999Z")));
  auto o = current_occurrence(w, at("2026-05-01T10:00:00Z"));
  REQUIRE(o);
  CHECK(o->start_ms == at("2026-05-01T10:00:00Z"));
  CHECK(o->end_ms == at("2026-05-01T12:00:00Z"));
  CHECK(current_occurrence(w, at("2026-05-01T11:59:59.999Z")));
  CHECK_FALSE(current_occurrence(w, at("2026-05-01T12:00:00Z")));
  CHECK_FALSE(current_occurrence(w, at("2026-05-02T10:30:00Z")));
  REQUIRE(next_occurrence(w, at("2026-01-01T00:00:00Z")));
  CHECK(next_occurrence(w, at("2026-01-01T00:00:00Z"))->start_ms == w.start_ms);
  // "Next" is strictly after.
  CHECK_FALSE(next_occurrence(w, w.start_ms));
}

TEST_CASE("maintenance: weekly in Europe/Berlin keeps 02:30 local across both 2026 DST changes") {
  // Sunday 2026-03-22 02:30 CET. Spring forward is Sunday 2026-03-29 (02:00 -> 03:00), fall back
  // Sunday 2026-10-25 (03:00 -> 02:00).
  auto w = window("2026-03-22T02:30:00+01:00", hour, recurrence::weekly, "Europe/Berlin");
  auto starts = starts_until(w, at("2026-11-02T00:00:00Z"));
  REQUIRE(starts.size() == 33);
  CHECK(starts[0] == at("2026-03-22T01:30:00Z"));
  // 02:30 does not exist on 03-29: read with the offset before the gap (RFC 5545), it is
  // 01:30Z = 03:30 CEST, one hour later on the wall clock; the week after is back at 02:30.
  CHECK(starts[1] == at("2026-03-29T01:30:00Z"));
  CHECK(starts[2] == at("2026-04-05T00:30:00Z"));
  CHECK(starts[29] == at("2026-10-11T00:30:00Z"));
  CHECK(starts[30] == at("2026-10-18T00:30:00Z"));
  // 02:30 exists twice on 10-25: the earlier instant (CEST) is taken.
  CHECK(starts[31] == at("2026-10-25T00:30:00Z"));
  CHECK(starts[32] == at("2026-11-01T01:30:00Z"));

  // On the spring-forward day the window is 03:30-04:30 CEST, a full hour of real time.
  CHECK_FALSE(current_occurrence(w, at("2026-03-29T01:29:59Z")));
  auto o = current_occurrence(w, at("2026-03-29T02:00:00Z"));
  REQUIRE(o);
  CHECK(o->start_ms == at("2026-03-29T03:30:00+02:00"));
  CHECK(o->end_ms == at("2026-03-29T04:30:00+02:00"));
  CHECK_FALSE(current_occurrence(w, at("2026-03-29T02:30:00Z")));
  // On the fall-back day: from 02:30 CEST for one real hour, ending at 02:30 CET in the
  // repeated hour.
  o = current_occurrence(w, at("2026-10-25T01:00:00Z"));
  REQUIRE(o);
  CHECK(o->start_ms == at("2026-10-25T02:30:00+02:00"));
  CHECK(o->end_ms == at("2026-10-25T02:30:00+01:00"));
  CHECK_FALSE(current_occurrence(w, at("2026-10-25T01:30:00Z")));
}

TEST_CASE("maintenance: weekly in America/New_York across both 2026 DST changes") {
  // Sunday 2026-03-01 02:30 EST; spring forward 2026-03-08, fall back 2026-11-01 (02:00 -> 01:00).
  auto w = window("2026-03-01T02:30:00-05:00", 90 * minute, recurrence::weekly, "America/New_York");
  auto next = [&](const char* t) { return next_occurrence(w, at(t))->start_ms; };
  CHECK(next("2026-03-01T08:00:00Z") == at("2026-03-08T07:30:00Z"));  // 03:30 EDT, gap
  CHECK(next("2026-03-08T08:00:00Z") == at("2026-03-15T02:30:00-04:00"));
  CHECK(next("2026-10-19T00:00:00Z") == at("2026-10-25T02:30:00-04:00"));
  CHECK(next("2026-10-26T00:00:00Z") == at("2026-11-01T02:30:00-05:00"));
  CHECK(next("2026-11-02T00:00:00Z") == at("2026-11-08T02:30:00-05:00"));

  // 01:30 on 11-01 exists twice: the earlier (EDT) instant.
  auto late = window("2026-10-25T01:30:00-04:00", 30 * minute, recurrence::weekly,
                     "America/New_York");
  CHECK(next_occurrence(late, at("2026-10-26T00:00:00Z"))->start_ms ==
        at("2026-11-01T01:30:00-04:00"));
  CHECK(next_occurrence(late, at("2026-11-02T00:00:00Z"))->start_ms ==
        at("2026-11-08T01:30:00-05:00"));
  CHECK(current_occurrence(late, at("2026-11-01T01:45:00-04:00")));
  CHECK_FALSE(current_occurrence(late, at("2026-11-01T01:45:00-05:00")));
}

TEST_CASE("maintenance: daily across the Berlin spring-forward gap") {
  auto w = window("2026-03-27T02:30:00+01:00", 30 * minute, recurrence::daily, "Europe/Berlin");
  auto starts = starts_until(w, at("2026-04-01T00:00:00Z"));
  REQUIRE(starts.size() == 5);
  CHECK(starts[0] == at("2026-03-27T01:30:00Z"));
  CHECK(starts[1] == at("2026-03-28T01:30:00Z"));
  CHECK(starts[2] == at("2026-03-29T01:30:00Z"));
  CHECK(starts[3] == at("2026-03-30T00:30:00Z"));
  CHECK(starts[4] == at("2026-03-31T00:30:00Z"));
}

TEST_CASE("maintenance: monthly on the 31st skips months without one") {
  auto w = window("2026-01-31T10:00:00Z", hour, recurrence::monthly);
  auto starts = starts_until(w, at("2027-02-01T00:00:00Z"));
  std::vector<std::int64_t> expected;
  for (const char* t : {"2026-01-31T10:00:00Z", "2026-03-31T10:00:00Z", "2026-05-31T10:00:00Z",
                        "2026-07-31T10:00:00Z", "2026-08-31T10:00:00Z", "2026-10-31T10:00:00Z",
                        "2026-12-31T10:00:00Z", "2027-01-31T10:00:00Z"})
    expected.push_back(at(t));
  CHECK(starts == expected);
  CHECK_FALSE(current_occurrence(w, at("2026-02-28T10:30:00Z")));
  CHECK_FALSE(current_occurrence(w, at("2026-03-01T10:30:00Z")));
  CHECK(current_occurrence(w, at("2026-03-31T10:30:00Z")));
  CHECK(next_occurrence(w, at("2026-02-15T00:00:00Z"))->start_ms == at("2026-03-31T10:00:00Z"));

  // The 29th: February is skipped except in leap years.
  auto feb = window("2027-12-29T00:00:00Z", hour, recurrence::monthly);
  CHECK(next_occurrence(feb, at("2028-01-30T00:00:00Z"))->start_ms == at("2028-02-29T00:00:00Z"));
  CHECK(next_occurrence(feb, at("2029-01-30T00:00:00Z"))->start_ms == at("2029-03-29T00:00:00Z"));
}

TEST_CASE("maintenance: monthly keeps local time in the zone") {
  // 03:00 Berlin on the 15th: CET in winter, CEST in summer.
  auto w = window("2026-01-15T03:00:00+01:00", hour, recurrence::monthly, "Europe/Berlin");
  CHECK(next_occurrence(w, at("2026-06-01T00:00:00Z"))->start_ms == at("2026-06-15T01:00:00Z"));
  CHECK(next_occurrence(w, at("2026-12-01T00:00:00Z"))->start_ms == at("2026-12-15T02:00:00Z"));
}

TEST_CASE("maintenance: until stops new occurrences, not a running one") {
  auto w = window("2026-01-05T00:00:00Z", hour, recurrence::daily);
  w.until_ms = at("2026-01-08T00:00:00Z");
  auto starts = starts_until(w, at("2026-02-01T00:00:00Z"));
  CHECK(starts.size() == 3);
  CHECK(current_occurrence(w, at("2026-01-07T00:30:00Z")));
  CHECK_FALSE(current_occurrence(w, at("2026-01-08T00:30:00Z")));
  CHECK_FALSE(next_occurrence(w, at("2026-01-07T00:00:00Z")));
  w.until_ms = at("2026-01-07T00:30:00Z");
  auto o = current_occurrence(w, at("2026-01-07T00:45:00Z"));
  REQUIRE(o);
  CHECK(o->end_ms == at("2026-01-07T01:00:00Z"));
  // until at or before the start: no occurrence at all.
  w.until_ms = w.start_ms;
  CHECK_FALSE(current_occurrence(w, w.start_ms));
  CHECK_FALSE(next_occurrence(w, 0));
}

TEST_CASE("maintenance: current_occurrence agrees with enumerating every occurrence") {
  for (auto r : {recurrence::daily, recurrence::weekly, recurrence::monthly}) {
    for (const char* zone : {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"}) {
      auto w = window("2026-01-31T02:30:00Z", 3 * hour, r, zone);
      std::int64_t end = at("2028-01-01T00:00:00Z");
      auto starts = starts_until(w, end);
      REQUIRE(starts.size() > 10);
      for (std::size_t i = 1; i < starts.size(); ++i)
        REQUIRE(starts[i] > starts[i - 1]);
      std::mt19937_64 rng(42);
      std::uniform_int_distribution<std::int64_t> pick(w.start_ms - day, end - day);
      for (int i = 0; i < 3000; ++i) {
        std::int64_t t = pick(rng);
        auto it = std::upper_bound(starts.begin(), starts.end(), t);
        bool expected = it != starts.begin() && t < *(it - 1) + w.duration_ms;
        auto o = current_occurrence(w, t);
        CAPTURE(zone);
        CAPTURE(t);
        REQUIRE(o.has_value() == expected);
        if (o)
          CHECK(o->start_ms == *(it - 1));
      }
    }
  }
}

TEST_CASE("maintenance: in_maintenance names the matching windows in an occurrence") {
  auto db = window("2026-01-04T02:00:00+01:00", 2 * hour, recurrence::weekly, "Europe/Berlin");
  db.name = "db-patch";
  REQUIRE(!wk::notify::parse_matchers("service=~\"db|cache\"", db.matchers));
  auto all = window("2026-01-04T02:00:00+01:00", 3 * hour, recurrence::weekly, "Europe/Berlin");
  all.name = "everything";
  std::vector<maintenance_window> ws{db, all};
  std::int64_t sunday = at("2026-02-01T02:30:00+01:00");
  CHECK(in_maintenance(ws, {{"service", "db"}}, sunday) ==
        std::vector<std::string>{"db-patch", "everything"});
  CHECK(in_maintenance(ws, {{"service", "api"}}, sunday) == std::vector<std::string>{"everything"});
  CHECK(in_maintenance(ws, {{"service", "db"}}, sunday + 2 * hour) ==
        std::vector<std::string>{"everything"});
  CHECK(in_maintenance(ws, {{"service", "db"}}, sunday + day).empty());
}

TEST_CASE("maintenance: hostile values give no occurrence and stay fast") {
  auto w = window("2026-01-01T00:00:00Z", hour, recurrence::daily);
  for (std::int64_t t : {INT64_MIN, INT64_MIN + 1, std::int64_t{-1}, INT64_MAX, max_time_ms}) {
    CHECK_FALSE(current_occurrence(w, t));
  }
  CHECK(next_occurrence(w, INT64_MIN)->start_ms == w.start_ms);
  CHECK_FALSE(next_occurrence(w, INT64_MAX));

  auto bad = w;
  bad.duration_ms = 0;
  CHECK_FALSE(current_occurrence(bad, w.start_ms));
  bad.duration_ms = INT64_MAX;
  CHECK_FALSE(current_occurrence(bad, w.start_ms));
  CHECK_FALSE(next_occurrence(bad, 0));
  bad = w;
  bad.start_ms = INT64_MAX;
  CHECK_FALSE(current_occurrence(bad, INT64_MAX));
  bad = w;
  bad.time_zone = "Not/A_Zone";
  CHECK_FALSE(current_occurrence(bad, w.start_ms));
  bad.time_zone = "../../etc/passwd";
  CHECK_FALSE(current_occurrence(bad, w.start_ms));

  // Year 9999: the last occurrences exist, nothing past 9999-12-31.
  auto late = window("9999-12-30T23:00:00Z", 2 * hour, recurrence::daily, "Europe/Berlin");
  CHECK(current_occurrence(late, at("9999-12-31T00:30:00Z")));
  auto last = next_occurrence(late, late.start_ms);
  REQUIRE(last);
  CHECK(last->start_ms == at("9999-12-31T23:00:00Z"));
  CHECK_FALSE(next_occurrence(late, last->start_ms));

  // A duration longer than the period (only reachable from code, the parser refuses it) still
  // answers correctly and in constant time.
  auto long_daily = window("2026-01-01T00:00:00Z", 3650 * day, recurrence::daily, "Europe/Berlin");
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20000; ++i) {
    auto o = current_occurrence(long_daily, at("2030-06-01T12:00:00Z") + i * minute);
    REQUIRE(o);
    CHECK(o->start_ms <= at("2030-06-01T12:00:00Z") + i * minute);
  }
  auto far = window("0001-01-01T00:00:00Z", hour, recurrence::weekly, "America/New_York");
  for (int i = 0; i < 20000; ++i)
    next_occurrence(far, at("9000-01-01T00:00:00Z") + i * hour);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}
