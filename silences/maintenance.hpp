#pragma once

// Occurrences of maintenance windows.
//
// Occurrence k of a repeating window starts at the local wall-clock time of start_ms in
// time_zone, k days (daily), 7k days (weekly) or k months (monthly) later; a monthly window on a
// day a month lacks (the 31st, Feb 29) skips that month. Each occurrence lasts duration_ms of
// real time, so a 2h window is 2h long even when a DST change falls inside it.
//
// DST: a local start that does not exist (02:30 on a 02:00->03:00 spring-forward day) is read
// with the offset in effect before the gap, as RFC 5545 prescribes, i.e. it moves forward by the
// gap: 02:30 becomes 03:30 local that day, and the next occurrence is at 02:30 again. A local
// start that exists twice (fall back) takes the earlier instant. The first occurrence is
// start_ms itself.
//
// Windows with a zero or negative duration, times outside years 0000-9999 or a time zone that
// does not load have no occurrences: a window that cannot be computed never mutes a page.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "silences/model.hpp"

namespace wk::silences {

struct occurrence {
  std::int64_t start_ms, end_ms;  // [start_ms, end_ms)
};

// The occurrence covering now_ms, if any (DST-correct: local wall-clock start kept in
// time_zone). When occurrences overlap, the one that started last.
std::optional<occurrence> current_occurrence(const maintenance_window& w, std::int64_t now_ms);

// The first occurrence starting strictly after after_ms, if any.
std::optional<occurrence> next_occurrence(const maintenance_window& w, std::int64_t after_ms);

// Names of the windows whose matchers accept these labels and that are in an occurrence now.
std::vector<std::string> in_maintenance(const std::vector<maintenance_window>& ws,
                                        const std::map<std::string, std::string>& labels,
                                        std::int64_t now_ms);

// Shortest time between two occurrence starts of a recurrence, in nominal days (daily 1d,
// weekly 7d, monthly 28d); 0 for none. A window's duration must be below it.
std::int64_t repeat_period_ms(maintenance_window::recurrence r);

// "none", "daily", "weekly", "monthly", and back.
std::string_view recurrence_name(maintenance_window::recurrence r);
std::optional<maintenance_window::recurrence> parse_recurrence(std::string_view name);

// Earliest and latest instants handled: 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z.
inline constexpr std::int64_t min_time_ms = -62167219200000;
inline constexpr std::int64_t max_time_ms = 253402300800000;

}  // namespace wk::silences
