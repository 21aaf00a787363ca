#include "net/cert_time.hpp"

#include <array>

namespace wk::net {
namespace {

// A forward-only reader over the text; every step either consumes what it expects or fails.
class cursor {
 public:
  explicit cursor(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ == text_.size(); }
  bool peek_digit() const { return pos_ < text_.size() && is_digit(text_[pos_]); }
  bool peek_alpha() const {
    return pos_ < text_.size() && ((text_[pos_] | 0x20) >= 'a' && (text_[pos_] | 0x20) <= 'z');
  }

  void skip_spaces() {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
  }
  bool expect_spaces() {
    const std::size_t start = pos_;
    skip_spaces();
    return pos_ > start;
  }
  bool expect(char c) {
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  bool expect_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  // Between min_digits and max_digits decimal digits.
  bool number(std::size_t min_digits, std::size_t max_digits, int& out) {
    std::size_t digits = 0;
    int value = 0;
    while (digits < max_digits && peek_digit()) {
      value = value * 10 + (text_[pos_] - '0');
      ++pos_;
      ++digits;
    }
    if (digits < min_digits || peek_digit()) return false;
    out = value;
    return true;
  }
  void skip_fraction() {
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      while (peek_digit()) ++pos_;
    }
  }
  std::string_view take(std::size_t n) {
    if (text_.size() - pos_ < n) return {};
    const std::string_view out = text_.substr(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  std::string_view text_;
  std::size_t pos_ = 0;
};

struct civil_time {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

constexpr std::array<std::string_view, 12> month_names = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool is_leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month) {
  constexpr std::array<int, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : days[static_cast<std::size_t>(month - 1)];
}

bool parse_clock(cursor& in, civil_time& t) {
  if (!in.number(2, 2, t.hour) || !in.expect(':') || !in.number(2, 2, t.minute) ||
      !in.expect(':') || !in.number(2, 2, t.second)) {
    return false;
  }
  in.skip_fraction();
  return true;
}

// "Jan  5 12:00:00 2030 GMT" (ASN1_TIME_print).
bool parse_openssl_form(cursor& in, civil_time& t) {
  const std::string_view month = in.take(3);
  t.month = 0;
  for (std::size_t i = 0; i < month_names.size(); ++i) {
    if (month == month_names[i]) t.month = static_cast<int>(i) + 1;
  }
  return t.month != 0 && in.expect_spaces() && in.number(1, 2, t.day) && in.expect_spaces() &&
         parse_clock(in, t) && in.expect_spaces() && in.number(4, 4, t.year);
}

// "2030-01-05 12:00:00 GMT" or "2030-01-05T12:00:00Z".
bool parse_iso_form(cursor& in, civil_time& t) {
  if (!in.number(4, 4, t.year) || !in.expect('-') || !in.number(2, 2, t.month) || !in.expect('-') ||
      !in.number(2, 2, t.day)) {
    return false;
  }
  if (!in.expect('T') && !in.expect_spaces()) return false;
  if (!parse_clock(in, t)) return false;
  in.expect('Z');
  return true;
}

bool valid(const civil_time& t) {
  return t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= days_in_month(t.year, t.month) &&
         t.hour <= 23 && t.minute <= 59 && t.second <= 59;
}

}  // namespace

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  // Howard Hinnant's algorithm: eras of 400 years starting in March.
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

std::optional<std::int64_t> parse_cert_time(std::string_view text) {
  cursor in(text);
  in.skip_spaces();
  civil_time t;
  const bool parsed = in.peek_alpha() ? parse_openssl_form(in, t) : parse_iso_form(in, t);
  if (!parsed || !valid(t)) return std::nullopt;
  in.skip_spaces();
  in.expect_word("GMT");
  in.skip_spaces();
  if (!in.at_end()) return std::nullopt;
  const std::int64_t days =
      days_from_civil(t.year, static_cast<unsigned>(t.month), static_cast<unsigned>(t.day));
  return days * 86400 + t.hour * 3600 + t.minute * 60 + t.second;
}

}  // namespace wk::net
