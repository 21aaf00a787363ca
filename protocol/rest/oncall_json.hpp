#pragma once

// JSON of GET /api/oncall: who is on call at a moment and the shifts that follow, per schedule.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "oncall/config.hpp"

namespace wk::rest {

inline constexpr int default_oncall_days = 7;
inline constexpr int max_oncall_days = 31;

// ?at=<unix ms | RFC 3339>&schedule=<name>&days=<1..31> (the decoded pairs of
// http::parse_query). An absent or empty value takes the default: at = now_ms, every schedule,
// 7 days.
struct oncall_query {
  std::int64_t at_ms = 0;
  std::string schedule;  // "" = every schedule
  int days = default_oncall_days;
};
std::optional<oncall_query> parse_oncall_query(const std::map<std::string, std::string>& query,
                                               std::int64_t now_ms, std::string* detail);

// {"at_ms":..,"schedules":[{"name":..,"on_call":{"id":..,"name":..}|null,
//   "shifts":[{"user","name","start_ms","end_ms"}]}]}
// for every schedule, or only q.schedule (none when no schedule has that name: the caller
// answers 404 for that). Shifts cover [at_ms, at_ms + days) and are cut at its edges. Names come
// from cfg.users; an unknown id or a user without a name shows the id.
std::string oncall_json(const oncall::oncall_config& cfg, const oncall_query& q);

}  // namespace wk::rest
