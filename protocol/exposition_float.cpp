#include "protocol/exposition_float.hpp"

#include <charconv>
#include <cstring>
#include <limits>
#include <system_error>

namespace wk::protocol {
namespace {

// Every power of ten up to 1e22 is exact in a double, so one multiplication or division by
// one of them is correctly rounded when the mantissa is exact too (Clinger's fast path).
constexpr double exact_powers_of_ten[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                          1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                          1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
constexpr std::int64_t max_exact_power = 22;
constexpr std::uint64_t max_exact_mantissa = std::uint64_t{1} << 53;
// A uint64 holds any 19 decimal digits.
constexpr std::ptrdiff_t max_mantissa_digits = 19;
// Far beyond any double's range: larger exponents stop growing so they cannot overflow.
constexpr std::int64_t exponent_saturation = 1'000'000;

bool is_digit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

bool equals_ignore_case(std::string_view text, std::string_view lower_word) {
  if (text.size() != lower_word.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (to_lower(text[i]) != lower_word[i]) return false;
  }
  return true;
}

float_status classify_failure(std::string_view text) {
  return text.find_first_of("pP_") != std::string_view::npos ? float_status::unsupported_character
                                                             : float_status::invalid;
}

double signed_zero(bool negative) { return negative ? -0.0 : 0.0; }

float_status parse_special(std::string_view text, double& out) {
  std::string_view word = text;
  bool has_sign = false;
  bool negative = false;
  if (!word.empty() && (word.front() == '+' || word.front() == '-')) {
    has_sign = true;
    negative = word.front() == '-';
    word.remove_prefix(1);
  }
  if (equals_ignore_case(word, "inf") || equals_ignore_case(word, "infinity")) {
    out = negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return float_status::ok;
  }
  // Go accepts no sign on NaN.
  if (!has_sign && equals_ignore_case(word, "nan")) {
    std::memcpy(&out, &normal_nan_bits, sizeof out);
    return float_status::ok;
  }
  return classify_failure(text);
}

}  // namespace

float_status parse_exposition_float(std::string_view text, double& out) noexcept {
  const char* p = text.data();
  const char* const end = p + text.size();
  bool negative = false;
  if (p != end && (*p == '+' || *p == '-')) {
    negative = *p == '-';
    ++p;
  }
  const char* const integer_begin = p;
  while (p != end && is_digit(*p)) ++p;
  const char* const integer_end = p;
  const char* fraction_begin = p;
  const char* fraction_end = p;
  if (p != end && *p == '.') {
    fraction_begin = ++p;
    while (p != end && is_digit(*p)) ++p;
    fraction_end = p;
  }
  const auto integer_digits = integer_end - integer_begin;
  const auto fraction_digits = fraction_end - fraction_begin;
  if (integer_digits + fraction_digits == 0) return parse_special(text, out);

  std::int64_t written_exponent = 0;
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool exponent_negative = false;
    if (p != end && (*p == '+' || *p == '-')) {
      exponent_negative = *p == '-';
      ++p;
    }
    if (p == end || !is_digit(*p)) return classify_failure(text);
    for (; p != end && is_digit(*p); ++p) {
      if (written_exponent < exponent_saturation) written_exponent = written_exponent * 10 + (*p - '0');
    }
    if (exponent_negative) written_exponent = -written_exponent;
  }
  if (p != end) return classify_failure(text);

  if (integer_digits + fraction_digits <= max_mantissa_digits) {
    std::uint64_t mantissa = 0;
    for (const char* digit = integer_begin; digit != integer_end; ++digit) {
      mantissa = mantissa * 10 + static_cast<unsigned>(*digit - '0');
    }
    for (const char* digit = fraction_begin; digit != fraction_end; ++digit) {
      mantissa = mantissa * 10 + static_cast<unsigned>(*digit - '0');
    }
    const std::int64_t exponent = written_exponent - fraction_digits;
    if (mantissa == 0) {
      out = signed_zero(negative);
      return float_status::ok;
    }
    if (mantissa <= max_exact_mantissa && exponent >= -max_exact_power && exponent <= max_exact_power) {
      auto value = static_cast<double>(mantissa);
      value = exponent < 0 ? value / exact_powers_of_ten[-exponent] : value * exact_powers_of_ten[exponent];
      out = negative ? -value : value;
      return float_status::ok;
    }
  }

  // Hard cases: libstdc++'s from_chars is correctly rounded (the same result as strtod) and
  // independent of the C locale. It refuses a leading '+', which the syntax check allowed.
  const char* first = text.data();
  if (*first == '+') ++first;
  double value = 0;
  const auto [ptr, ec] = std::from_chars(first, end, value);
  if (ec == std::errc() && ptr == end) {
    out = value;
    return float_status::ok;
  }
  if (ec == std::errc::result_out_of_range) {
    // from_chars reports underflow and overflow alike; Go only rejects overflow. The value lies
    // in [10^(magnitude-1), 10^magnitude), magnitude set by the first non-zero digit.
    const char* leading = integer_begin;
    while (leading != integer_end && *leading == '0') ++leading;
    std::int64_t magnitude = integer_end - leading;
    if (leading == integer_end) {
      leading = fraction_begin;
      while (leading != fraction_end && *leading == '0') ++leading;
      magnitude = fraction_begin - leading;
    }
    if (magnitude + written_exponent > 0) return float_status::out_of_range;
    out = signed_zero(negative);
    return float_status::ok;
  }
  return float_status::invalid;
}

}  // namespace wk::protocol
