#include "notify/text.hpp"

#include <algorithm>
#include <cstdio>

namespace wk::notify {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is invalid (overlong forms,
// surrogates and code points above U+10FFFF included).
std::size_t valid_sequence(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80)
    return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0)
      lo = 0xA0;
    if (c == 0xED)
      hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0)
      lo = 0x90;
    if (c == 0xF4)
      hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size())
    return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi)
    return 0;
  for (std::size_t k = 2; k < len; ++k)
    if ((byte(i + k) & 0xC0) != 0x80)
      return 0;
  return len;
}

}  // namespace

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = valid_sequence(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  return out;
}

std::size_t utf8_length(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string truncate_utf8(std::string_view s, std::size_t max_code_points) {
  if (utf8_length(s) <= max_code_points)
    return std::string(s);
  std::size_t marker_len = utf8_length(truncation_marker);
  if (max_code_points < marker_len)
    max_code_points = marker_len;
  std::size_t keep = max_code_points - marker_len, seen = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (seen == keep)
        break;
      ++seen;
    }
  }
  std::string out(s.substr(0, i));
  out += truncation_marker;
  return out;
}

std::string clip_utf8(std::string_view raw, std::size_t max_code_points) {
  // Each code point takes at most 4 bytes, so this prefix still holds more than the limit and
  // truncate_utf8 marks the cut.
  std::size_t enough = max_code_points * 4 + 4;
  return truncate_utf8(sanitize_utf8(raw.substr(0, enough)), max_code_points);
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& year, unsigned& month, unsigned& day) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2);
}

std::string format_rfc3339(std::int64_t unix_ms) {
  const std::int64_t min_ms = days_from_civil(1, 1, 1) * 86400000;
  const std::int64_t max_ms = days_from_civil(10000, 1, 1) * 86400000 - 1;
  unix_ms = std::clamp(unix_ms, min_ms, max_ms);
  std::int64_t days = unix_ms / 86400000, rem = unix_ms % 86400000;
  if (rem < 0) {
    rem += 86400000;
    --days;
  }
  std::int64_t year;
  unsigned month, day;
  civil_from_days(days, year, month, day);
  auto secs = static_cast<int>(rem / 1000), ms = static_cast<int>(rem % 1000);
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(year),
                        month, day, secs / 3600, secs / 60 % 60, secs % 60);
  std::string out(buf, static_cast<std::size_t>(n));
  if (ms != 0) {
    std::snprintf(buf, sizeof buf, ".%03d", ms);
    std::string frac(buf);
    while (frac.back() == '0')
      frac.pop_back();
    out += frac;
  }
  out += 'Z';
  return out;
}

}  // namespace wk::notify
