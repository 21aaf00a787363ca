#pragma once

// IANA time zones read from the system's TZif files (/usr/share/zoneinfo), parsed here rather
// than through localtime_r + TZ, which is process-global and not thread-safe. Uses the 64-bit
// (v2+) section and the POSIX TZ footer for instants after the last transition.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wk::oncall {

class time_zone {
 public:
  // The zone named name ("Europe/Berlin", "UTC"), cached for the life of the process; nullptr
  // with a reason in *error for an unknown name, a name that is not a plain zone path, or a
  // corrupt file. Thread-safe.
  static std::shared_ptr<const time_zone> get(const std::string& name, std::string* error);

  // Parses TZif bytes; nullopt with a reason in *error when they are not valid TZif v2+.
  static std::optional<time_zone> parse(std::string_view bytes, std::string* error);

  // Fixed UTC.
  static const time_zone& utc();

  // Seconds east of UTC in effect at utc_s.
  std::int64_t offset_at(std::int64_t utc_s) const;

  std::int64_t to_local(std::int64_t utc_s) const { return utc_s + offset_at(utc_s); }

  // The UTC instant of a local wall-clock time. In a gap (spring forward) the time is read
  // with the offset before the gap, so 02:30 on a 02:00->03:00 day becomes 03:30 local; in an
  // overlap (fall back) the earlier instant is chosen.
  std::int64_t to_utc(std::int64_t local_s) const;

 private:
  struct rule_time {
    enum kind_t { month_week_day, julian_no_leap, julian_zero } kind = month_week_day;
    int month = 0, week = 0, weekday = 0, day = 0;
    std::int64_t time_s = 7200;
  };
  struct posix_rule {
    std::int64_t std_offset = 0, dst_offset = 0;
    bool has_dst = false;
    rule_time start, end;
  };
  static std::optional<posix_rule> parse_posix(std::string_view s);
  static std::int64_t rule_instant(const rule_time& r, std::int64_t year, std::int64_t offset);
  std::int64_t footer_offset(std::int64_t utc_s) const;

  std::vector<std::int64_t> transitions_;  // UTC seconds, ascending
  std::vector<std::int64_t> offsets_;      // offset after each transition
  std::int64_t initial_offset_ = 0;        // before the first transition
  std::optional<posix_rule> footer_;
};

// Days since 1970-01-01 of a proleptic Gregorian date, and back; weekday 0 = Sunday.
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);
void civil_from_days(std::int64_t days, std::int64_t& year, unsigned& month, unsigned& day);
int weekday_of_days(std::int64_t days);

}  // namespace wk::oncall
