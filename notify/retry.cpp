#include "notify/retry.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "notify/text.hpp"

namespace wk::notify {
namespace {

constexpr std::int64_t max_wait_ms = 30LL * 24 * 3600 * 1000;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// A run of exactly `digits` decimal digits at s[pos] (0 = one or more, up to 9).
std::optional<int> number(std::string_view s, std::size_t& pos, std::size_t digits) {
  std::size_t start = pos;
  int v = 0;
  while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])) &&
         (digits == 0 ? pos - start < 9 : pos - start < digits)) {
    v = v * 10 + (s[pos] - '0');
    ++pos;
  }
  if (pos == start || (digits != 0 && pos - start != digits))
    return std::nullopt;
  return v;
}

bool literal(std::string_view s, std::size_t& pos, std::string_view lit) {
  if (s.substr(pos, lit.size()) != lit)
    return false;
  pos += lit.size();
  return true;
}

std::optional<unsigned> month_of(std::string_view s, std::size_t& pos) {
  static constexpr std::array<std::string_view, 12> months = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (unsigned i = 0; i < 12; ++i)
    if (literal(s, pos, months[i]))
      return i + 1;
  return std::nullopt;
}

bool skip_day_name(std::string_view s, std::size_t& pos, bool long_form) {
  static constexpr std::array<std::string_view, 7> short_names = {"Mon", "Tue", "Wed", "Thu",
                                                                  "Fri", "Sat", "Sun"};
  static constexpr std::array<std::string_view, 7> long_names = {
      "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
  for (std::size_t i = 0; i < 7; ++i)
    if (literal(s, pos, long_form ? long_names[i] : short_names[i]))
      return true;
  return false;
}

std::optional<std::int64_t> to_unix(int year, unsigned month, int day, int h, int m, int sec) {
  static constexpr int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (day < 1 || day > month_days[month - 1] || h > 23 || m > 59 || sec > 60)
    return std::nullopt;
  return days_from_civil(year, month, static_cast<unsigned>(day)) * 86400 + h * 3600 + m * 60 +
         std::min(sec, 59);
}

bool time_of_day(std::string_view s, std::size_t& pos, int& h, int& m, int& sec) {
  auto hh = number(s, pos, 2);
  if (!hh || !literal(s, pos, ":"))
    return false;
  auto mm = number(s, pos, 2);
  if (!mm || !literal(s, pos, ":"))
    return false;
  auto ss = number(s, pos, 2);
  if (!ss)
    return false;
  h = *hh;
  m = *mm;
  sec = *ss;
  return true;
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<std::int64_t> imf_fixdate(std::string_view s) {
  std::size_t pos = 0;
  int h, m, sec;
  if (!skip_day_name(s, pos, false) || !literal(s, pos, ", "))
    return std::nullopt;
  auto day = number(s, pos, 2);
  if (!day || !literal(s, pos, " "))
    return std::nullopt;
  auto month = month_of(s, pos);
  if (!month || !literal(s, pos, " "))
    return std::nullopt;
  auto year = number(s, pos, 4);
  if (!year || !literal(s, pos, " ") || !time_of_day(s, pos, h, m, sec) ||
      !literal(s, pos, " GMT") || pos != s.size())
    return std::nullopt;
  return to_unix(*year, *month, *day, h, m, sec);
}

// "Sunday, 06-Nov-94 08:49:37 GMT"; two-digit years within 50 years of now are taken as such
// (RFC 9110 §5.6.7), approximated here as 70-99 -> 19xx, 00-69 -> 20xx.
std::optional<std::int64_t> rfc850_date(std::string_view s) {
  std::size_t pos = 0;
  int h, m, sec;
  if (!skip_day_name(s, pos, true) || !literal(s, pos, ", "))
    return std::nullopt;
  auto day = number(s, pos, 2);
  if (!day || !literal(s, pos, "-"))
    return std::nullopt;
  auto month = month_of(s, pos);
  if (!month || !literal(s, pos, "-"))
    return std::nullopt;
  auto year = number(s, pos, 2);
  if (!year || !literal(s, pos, " ") || !time_of_day(s, pos, h, m, sec) ||
      !literal(s, pos, " GMT") || pos != s.size())
    return std::nullopt;
  return to_unix(*year < 70 ? 2000 + *year : 1900 + *year, *month, *day, h, m, sec);
}

// "Sun Nov  6 08:49:37 1994"
std::optional<std::int64_t> asctime_date(std::string_view s) {
  std::size_t pos = 0;
  int h, m, sec;
  if (!skip_day_name(s, pos, false) || !literal(s, pos, " "))
    return std::nullopt;
  auto month = month_of(s, pos);
  if (!month || !literal(s, pos, " "))
    return std::nullopt;
  literal(s, pos, " ");
  auto day = number(s, pos, 0);
  if (!day || *day > 31 || !literal(s, pos, " ") || !time_of_day(s, pos, h, m, sec) ||
      !literal(s, pos, " "))
    return std::nullopt;
  auto year = number(s, pos, 4);
  if (!year || pos != s.size())
    return std::nullopt;
  return to_unix(*year, *month, *day, h, m, sec);
}

}  // namespace

delivery_verdict classify_http(int status) {
  if (status >= 200 && status <= 299)
    return delivery_verdict::delivered;
  if (status == 408 || status == 429 || (status >= 500 && status <= 599))
    return delivery_verdict::retry;
  return delivery_verdict::give_up;
}

std::optional<std::int64_t> parse_retry_after(std::string_view value, std::int64_t now_ms) {
  value = trim(value);
  if (value.empty())
    return std::nullopt;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    std::int64_t seconds = 0;
    for (char c : value) {
      seconds = seconds * 10 + (c - '0');
      if (seconds * 1000 > max_wait_ms)
        return max_wait_ms;
    }
    return seconds * 1000;
  }
  std::optional<std::int64_t> at = imf_fixdate(value);
  if (!at)
    at = rfc850_date(value);
  if (!at)
    at = asctime_date(value);
  if (!at)
    return std::nullopt;
  std::int64_t wait = *at * 1000 - now_ms;
  return std::clamp<std::int64_t>(wait, 0, max_wait_ms);
}

std::int64_t backoff_ms(int attempt, std::int64_t initial_ms, std::int64_t max_ms,
                        double jitter01) {
  if (initial_ms <= 0 || max_ms <= 0)
    return 0;
  attempt = std::max(attempt, 0);
  std::int64_t base = initial_ms;
  for (int i = 0; i < attempt && base < max_ms; ++i)
    base = base > max_ms / 2 ? max_ms : base * 2;
  base = std::min(base, max_ms);
  if (!(jitter01 >= 0.0))
    jitter01 = 0.0;
  jitter01 = std::min(jitter01, 0.999999);
  std::int64_t half = base / 2;
  return half + static_cast<std::int64_t>(static_cast<double>(base - half) * jitter01);
}

}  // namespace wk::notify
