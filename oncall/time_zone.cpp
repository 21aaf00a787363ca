#include "oncall/time_zone.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>

namespace wk::oncall {
namespace {

constexpr std::string_view zoneinfo_dir = "/usr/share/zoneinfo/";
constexpr std::size_t max_file_size = 1 << 20;
constexpr std::int64_t limit_s = 1LL << 40;

std::int64_t be(std::string_view s, std::size_t pos, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v = v << 8 | static_cast<unsigned char>(s[pos + i]);
  if (n == 4)
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

bool valid_zone_name(const std::string& name) {
  if (name.empty() || name.size() > 255 || name.front() == '/' || name.back() == '/')
    return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '_' || c == '+' || c == '-' || c == '/' || c == '.'))
      return false;
  std::size_t pos = 0;
  while (pos <= name.size()) {
    std::size_t slash = name.find('/', pos);
    std::string part =
        name.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (part.empty() || part == "." || part == "..")
      return false;
    if (slash == std::string::npos)
      break;
    pos = slash + 1;
  }
  return true;
}

// POSIX TZ string scanner.
struct scanner {
  std::string_view s;
  std::size_t pos = 0;

  bool done() const { return pos >= s.size(); }
  char peek() const { return done() ? '\0' : s[pos]; }

  bool name() {
    if (peek() == '<') {
      std::size_t close = s.find('>', pos);
      if (close == std::string_view::npos)
        return false;
      pos = close + 1;
      return true;
    }
    std::size_t start = pos;
    while (!done() && std::isalpha(static_cast<unsigned char>(peek())))
      ++pos;
    return pos - start >= 3;
  }

  std::optional<std::int64_t> num(int max) {
    std::size_t start = pos;
    std::int64_t v = 0;
    while (!done() && std::isdigit(static_cast<unsigned char>(peek())) && pos - start < 4)
      v = v * 10 + (s[pos++] - '0');
    if (pos == start || v > max)
      return std::nullopt;
    return v;
  }

  // [+-]hh[:mm[:ss]] in seconds; hours up to 167 (RFC 8536 extension for rule times).
  std::optional<std::int64_t> hms() {
    int sign = 1;
    if (peek() == '+' || peek() == '-')
      sign = s[pos++] == '-' ? -1 : 1;
    auto h = num(167);
    if (!h)
      return std::nullopt;
    std::int64_t v = *h * 3600;
    for (int mult : {60, 1}) {
      if (peek() != ':')
        break;
      ++pos;
      auto part = num(59);
      if (!part)
        return std::nullopt;
      v += *part * mult;
    }
    return sign * v;
  }
};

}  // namespace

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

int weekday_of_days(std::int64_t days) {
  return static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
}

const time_zone& time_zone::utc() {
  static const time_zone zone;
  return zone;
}

std::shared_ptr<const time_zone> time_zone::get(const std::string& name, std::string* error) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const time_zone>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = cache.find(name); it != cache.end())
    return it->second;
  if (!valid_zone_name(name)) {
    if (error)
      *error = "invalid time zone name \"" + name + "\"";
    return nullptr;
  }
  std::ifstream in(std::string(zoneinfo_dir) + name, std::ios::binary);
  if (!in) {
    if (error)
      *error = "unknown time zone \"" + name + "\"";
    return nullptr;
  }
  std::string bytes;
  char buf[8192];
  while (in && bytes.size() <= max_file_size) {
    in.read(buf, sizeof buf);
    bytes.append(buf, static_cast<std::size_t>(in.gcount()));
  }
  std::string why;
  auto zone = bytes.size() > max_file_size ? std::nullopt : parse(bytes, &why);
  if (!zone) {
    if (error)
      *error = "time zone \"" + name + "\": " + (why.empty() ? "file too large" : why);
    return nullptr;
  }
  auto shared = std::make_shared<const time_zone>(std::move(*zone));
  cache.emplace(name, shared);
  return shared;
}

std::optional<time_zone> time_zone::parse(std::string_view b, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<time_zone> {
    if (error)
      *error = why;
    return std::nullopt;
  };
  auto counts = [&](std::size_t at, std::int64_t c[6]) {
    for (int i = 0; i < 6; ++i)
      c[i] = be(b, at + 20 + 4 * static_cast<std::size_t>(i), 4);
  };
  if (b.size() < 44 || b.substr(0, 4) != "TZif")
    return fail("not a TZif file");
  if (b[4] < '2')
    return fail("TZif version 1 has no 64-bit data");
  std::int64_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  counts(0, c);
  for (auto v : c)
    if (v < 0 || v > 100000)
      return fail("corrupt TZif header");
  std::size_t v1_size =
      static_cast<std::size_t>(c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
  std::size_t at = 44 + v1_size;
  if (b.size() < at + 44 || b.substr(at, 4) != "TZif")
    return fail("truncated TZif file");
  counts(at, c);
  for (auto v : c)
    if (v < 0 || v > 100000)
      return fail("corrupt TZif header");
  if (c[2] != 0)
    return fail("leap-second (right/) zones are not supported");
  std::int64_t timecnt = c[3], typecnt = c[4];
  if (typecnt < 1)
    return fail("TZif file without local time types");
  at += 44;
  std::size_t data_size = static_cast<std::size_t>(timecnt * 9 + typecnt * 6 + c[5] + c[1] + c[0]);
  if (b.size() < at + data_size)
    return fail("truncated TZif data");
  time_zone z;
  std::vector<std::int64_t> type_offsets;
  std::size_t types_at = at + static_cast<std::size_t>(timecnt * 9);
  for (std::int64_t i = 0; i < typecnt; ++i) {
    std::int64_t off = be(b, types_at + static_cast<std::size_t>(i) * 6, 4);
    if (off < -25 * 3600 || off > 26 * 3600)
      return fail("implausible UTC offset in TZif file");
    type_offsets.push_back(off);
  }
  for (std::int64_t i = 0; i < timecnt; ++i) {
    std::int64_t t = be(b, at + static_cast<std::size_t>(i) * 8, 8);
    auto type = static_cast<unsigned char>(b[at + static_cast<std::size_t>(timecnt * 8 + i)]);
    if (type >= typecnt)
      return fail("TZif transition names a missing type");
    if (!z.transitions_.empty() && t <= z.transitions_.back())
      return fail("TZif transitions out of order");
    z.transitions_.push_back(t);
    z.offsets_.push_back(type_offsets[type]);
  }
  z.initial_offset_ = type_offsets[0];
  std::size_t footer_at = at + data_size;
  if (footer_at < b.size() && b[footer_at] == '\n') {
    std::size_t end = b.find('\n', footer_at + 1);
    if (end == std::string_view::npos)
      return fail("unterminated TZif footer");
    std::string_view tz = b.substr(footer_at + 1, end - footer_at - 1);
    if (!tz.empty()) {
      z.footer_ = parse_posix(tz);
      if (!z.footer_)
        return fail("unsupported TZ string in TZif footer");
    }
  }
  return z;
}

std::optional<time_zone::posix_rule> time_zone::parse_posix(std::string_view s) {
  scanner sc{s};
  posix_rule r;
  if (!sc.name())
    return std::nullopt;
  auto std_off = sc.hms();
  if (!std_off)
    return std::nullopt;
  r.std_offset = -*std_off;  // POSIX offsets are west-positive
  if (sc.done())
    return r;
  if (!sc.name())
    return std::nullopt;
  r.has_dst = true;
  r.dst_offset = r.std_offset + 3600;
  if (sc.peek() != ',') {
    auto dst_off = sc.hms();
    if (!dst_off)
      return std::nullopt;
    r.dst_offset = -*dst_off;
  }
  auto rule = [&](rule_time& t) {
    if (sc.peek() != ',')
      return false;
    ++sc.pos;
    if (sc.peek() == 'M') {
      ++sc.pos;
      auto m = sc.num(12);
      if (!m || *m < 1 || sc.peek() != '.')
        return false;
      ++sc.pos;
      auto w = sc.num(5);
      if (!w || *w < 1 || sc.peek() != '.')
        return false;
      ++sc.pos;
      auto d = sc.num(6);
      if (!d)
        return false;
      t.kind = rule_time::month_week_day;
      t.month = static_cast<int>(*m);
      t.week = static_cast<int>(*w);
      t.weekday = static_cast<int>(*d);
    } else if (sc.peek() == 'J') {
      ++sc.pos;
      auto n = sc.num(365);
      if (!n || *n < 1)
        return false;
      t.kind = rule_time::julian_no_leap;
      t.day = static_cast<int>(*n);
    } else {
      auto n = sc.num(365);
      if (!n)
        return false;
      t.kind = rule_time::julian_zero;
      t.day = static_cast<int>(*n);
    }
    if (sc.peek() == '/') {
      ++sc.pos;
      auto time = sc.hms();
      if (!time)
        return false;
      t.time_s = *time;
    }
    return true;
  };
  if (!rule(r.start) || !rule(r.end) || !sc.done())
    return std::nullopt;
  return r;
}

std::int64_t time_zone::rule_instant(const rule_time& r, std::int64_t year, std::int64_t offset) {
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  std::int64_t day;
  switch (r.kind) {
    case rule_time::julian_no_leap:
      day = days_from_civil(year, 1, 1) + r.day - 1 + (leap && r.day >= 60 ? 1 : 0);
      break;
    case rule_time::julian_zero: day = days_from_civil(year, 1, 1) + r.day; break;
    default: {
      std::int64_t first = days_from_civil(year, static_cast<unsigned>(r.month), 1);
      int shift = (r.weekday - weekday_of_days(first) + 7) % 7;
      day = first + shift + 7 * (r.week - 1);
      std::int64_t next_month = r.month == 12
                                    ? days_from_civil(year + 1, 1, 1)
                                    : days_from_civil(year, static_cast<unsigned>(r.month + 1), 1);
      while (day >= next_month)
        day -= 7;
    }
  }
  return day * 86400 + r.time_s - offset;
}

std::int64_t time_zone::footer_offset(std::int64_t utc_s) const {
  const posix_rule& r = *footer_;
  if (!r.has_dst)
    return r.std_offset;
  std::int64_t local = utc_s + r.std_offset;
  std::int64_t days = local / 86400 - (local % 86400 < 0);
  std::int64_t year;
  unsigned month, day;
  civil_from_days(days, year, month, day);
  std::int64_t start = rule_instant(r.start, year, r.std_offset);
  std::int64_t end = rule_instant(r.end, year, r.dst_offset);
  bool dst = start < end ? (utc_s >= start && utc_s < end) : !(utc_s >= end && utc_s < start);
  return dst ? r.dst_offset : r.std_offset;
}

std::int64_t time_zone::offset_at(std::int64_t utc_s) const {
  // Far beyond any calendar anyone schedules in; keeps the date arithmetic from overflowing.
  utc_s = std::clamp<std::int64_t>(utc_s, -limit_s, limit_s);
  if (transitions_.empty() || utc_s >= transitions_.back())
    return footer_ ? footer_offset(utc_s) : (offsets_.empty() ? initial_offset_ : offsets_.back());
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_s);
  if (it == transitions_.begin())
    return initial_offset_;
  return offsets_[static_cast<std::size_t>(it - transitions_.begin() - 1)];
}

std::int64_t time_zone::to_utc(std::int64_t local_s) const {
  local_s = std::clamp<std::int64_t>(local_s, -limit_s, limit_s);
  constexpr std::int64_t two_days = 2 * 86400;
  std::int64_t before = offset_at(local_s - two_days);
  std::int64_t candidates[] = {before, offset_at(local_s), offset_at(local_s + two_days)};
  std::optional<std::int64_t> best;
  for (std::int64_t off : candidates) {
    std::int64_t u = local_s - off;
    if (offset_at(u) == off && (!best || u < *best))
      best = u;
  }
  return best ? *best : local_s - before;
}

}  // namespace wk::oncall
