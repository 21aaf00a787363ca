#pragma once

// On-call schedules: rotation layers (later layers win), restrictions and overrides, evaluated
// in each layer's own time zone so a 09:00 hand-off stays at 09:00 local across DST changes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wk::oncall {

struct contact {
  std::string type;  // email|slack|pagerduty|webhook
  std::string address;
};

struct user {
  std::string id, name;
  std::vector<contact> contacts;
};

// A weekly window in the layer's local time: it opens on each weekday in `weekdays` (bit d set
// = weekday d, 0 = Sunday) at from_minute and closes at to_minute the same day, or the next day
// when to_minute <= from_minute (to_minute == from_minute: 24 hours).
struct restriction {
  unsigned weekdays = 0x7F;
  int from_minute = 0;
  int to_minute = 0;
};

// Users take turns of turn_length_ms, in list order, starting with users[0] at start_ms.
// Hand-offs fall at handoff_time ("HH:MM" local; empty = the local time of start_ms) and
// every turn_length after it on the local wall clock, so daily and weekly turns keep their
// local hour across DST changes (the turn spanning a change is an hour shorter or longer).
// With restrictions, the layer covers only their windows; outside them lower layers show
// through. Before start_ms the layer covers nothing.
struct rotation_layer {
  std::string name;
  std::vector<std::string> users;
  std::int64_t start_ms = 0;
  std::int64_t turn_length_ms = 0;
  std::string handoff_time;
  std::string time_zone = "UTC";  // IANA name
  std::vector<restriction> restrictions;
};

// [start_ms, end_ms): user is on call, above every layer. Later overrides win over earlier.
struct override_entry {
  std::string user;
  std::int64_t start_ms = 0, end_ms = 0;
};

struct schedule {
  std::string name;
  std::vector<rotation_layer> layers;  // later layers win
  std::vector<override_entry> overrides;
};

struct shift {
  std::string user;
  std::int64_t start_ms = 0, end_ms = 0;
};

// The user on call at at_ms, or nullopt when nobody is (or a layer names an unknown zone or a
// non-positive turn length: such layers cover nothing; the config parser rejects them).
std::optional<std::string> on_call(const schedule& s, std::int64_t at_ms);

// The final timeline in [from_ms, to_ms): consecutive shifts of the same user merged, spans
// with nobody on call left out. At most max_shifts entries, so a hostile range stays cheap.
std::vector<shift> shifts(const schedule& s, std::int64_t from_ms, std::int64_t to_ms,
                          std::size_t max_shifts = 10000);

// "HH:MM" (00:00-23:59, or 24:00 for a window end) as minutes of the day; nullopt otherwise.
std::optional<int> parse_clock(const std::string& text, bool allow_24 = false);

}  // namespace wk::oncall
