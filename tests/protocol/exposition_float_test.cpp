#include "protocol/exposition_float.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using wk::protocol::float_status;
using wk::protocol::parse_exposition_float;

std::uint64_t bits_of(double value) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

// What strtod makes of a complete decimal text, in Prometheus's terms.
struct reference {
  float_status status;
  double value;
};

reference strtod_reference(const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  REQUIRE(end == text.c_str() + text.size());
  if (errno == ERANGE && std::isinf(value)) return {float_status::out_of_range, 0};
  return {float_status::ok, value};
}

void check_against_strtod(const std::string& text) {
  CAPTURE(text);
  const reference expected = strtod_reference(text);
  double value = 0;
  const float_status status = parse_exposition_float(text, value);
  REQUIRE(status == expected.status);
  if (status == float_status::ok) CHECK(bits_of(value) == bits_of(expected.value));
}

double parse_ok(const std::string& text) {
  CAPTURE(text);
  double value = 0;
  REQUIRE(parse_exposition_float(text, value) == float_status::ok);
  return value;
}

}  // namespace

TEST_CASE("float: accepted decimal forms") {
  CHECK(parse_ok("0") == 0);
  CHECK(parse_ok("1e3") == 1000);
  CHECK(parse_ok("1E3") == 1000);
  CHECK(parse_ok("-0.5") == -0.5);
  CHECK(parse_ok("+2.5") == 2.5);
  CHECK(parse_ok(".5") == 0.5);
  CHECK(parse_ok("5.") == 5);
  CHECK(parse_ok("1.e2") == 100);
  CHECK(parse_ok("007") == 7);
  CHECK(parse_ok("4.773e-05") == 4.773e-05);
  CHECK(parse_ok("1.7560473e+07") == 1.7560473e+07);
  CHECK(std::signbit(parse_ok("-0")));
  CHECK(std::signbit(parse_ok("-0.000e10")));
  CHECK(!std::signbit(parse_ok("0.0")));
  CHECK(parse_ok("9007199254740993") == 9007199254740992.0);  // 2^53 + 1 rounds to even
  CHECK(parse_ok("1.7976931348623157e308") == std::numeric_limits<double>::max());
  CHECK(parse_ok("4.9406564584124654e-324") == std::numeric_limits<double>::denorm_min());
}

TEST_CASE("float: infinities and NaN like Go's ParseFloat") {
  const double inf = std::numeric_limits<double>::infinity();
  for (const char* text : {"Inf", "+Inf", "inf", "+inf", "INF", "Infinity", "+infinity", "iNfInItY"}) {
    CHECK(parse_ok(text) == inf);
  }
  for (const char* text : {"-Inf", "-inf", "-Infinity"}) CHECK(parse_ok(text) == -inf);
  for (const char* text : {"NaN", "nan", "NAN"}) {
    CHECK(bits_of(parse_ok(text)) == wk::protocol::normal_nan_bits);
  }
  // The scraped NaN must never look like Prometheus's staleness marker.
  CHECK(wk::protocol::normal_nan_bits != 0x7ff0000000000002ULL);
}

TEST_CASE("float: rejected forms") {
  const char* invalid[] = {"",     "+",       "-",         ".",  "e5",   ".e5",  "1e",    "1e+",     "--1",
                           "+-1",  "1.2.3",   "1e5.0",     " 1", "1 ",   "true", "abc",   "+NaN",    "-nan",
                           "nanx", "infinit", "infinityy", "in", "0x10", "1,5",  "1e--5", "\xd9\xa1"};
  for (const char* text : invalid) {
    CAPTURE(text);
    double value = 42;
    CHECK(parse_exposition_float(text, value) == float_status::invalid);
  }
  // Prometheus refuses these before Go's parser sees them.
  for (const char* text : {"0x1p-3", "0x1P-3", "1_000", "1p5", "_1"}) {
    CAPTURE(text);
    double value = 0;
    CHECK(parse_exposition_float(text, value) == float_status::unsupported_character);
  }
  const std::string_view with_nul("1\0", 2);
  double value = 0;
  CHECK(parse_exposition_float(with_nul, value) == float_status::invalid);
}

TEST_CASE("float: overflow is an error, underflow is a signed zero") {
  double value = 0;
  CHECK(parse_exposition_float("1e400", value) == float_status::out_of_range);
  CHECK(parse_exposition_float("-1e400", value) == float_status::out_of_range);
  CHECK(parse_exposition_float("1.7976931348623159e308", value) == float_status::out_of_range);
  CHECK(parse_exposition_float("1e99999999999999999999999999", value) == float_status::out_of_range);
  CHECK(parse_ok("1e-400") == 0);
  CHECK(std::signbit(parse_ok("-1e-400")));
  CHECK(parse_ok("2e-324") == 0);
  CHECK(parse_ok("1e-99999999999999999999999999") == 0);
  CHECK(parse_ok("0e99999") == 0);
}

TEST_CASE("float: hostile lengths stay exact and linear") {
  const std::string many_zeros(1'000'000, '0');
  check_against_strtod("1" + many_zeros);
  check_against_strtod("0." + many_zeros + "1");
  check_against_strtod("1." + many_zeros + "1");
  check_against_strtod(std::string(1'000'000, '9'));
  check_against_strtod("0." + std::string(1'000'000, '3'));
}

TEST_CASE("float: both corpora parse exactly as strtod") {
  std::size_t checked = 0;
  for (const char* name : {"alltypes.237mfs.prom.txt", "alltypes.5mfs.om.txt"}) {
    std::ifstream in(std::string(WK_SHARED_DIR) + "/data/exposition/" + name, std::ios::binary);
    REQUIRE(in);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      // Every number on a sample line: the value, exemplar values and timestamps.
      std::istringstream fields(line.substr(line.find('}') == std::string::npos ? 0 : line.rfind('}') + 1));
      std::string field;
      while (fields >> field) {
        if (field == "#" || field.find_first_of("{}") != std::string::npos) continue;
        if (field == "NaN") continue;
        if (field.find_first_not_of("+-.0123456789eE") != std::string::npos) continue;
        check_against_strtod(field);
        ++checked;
      }
    }
  }
  CHECK(checked > 1900);
}

TEST_CASE("float: random decimal texts match strtod bit for bit") {
  std::mt19937_64 random(20240917);
  const auto pick = [&](int low, int high) { return std::uniform_int_distribution<int>(low, high)(random); };
  const auto digits = [&](int count) {
    std::string out;
    for (int i = 0; i < count; ++i) out += static_cast<char>('0' + pick(0, 9));
    return out;
  };
  for (int i = 0; i < 200'000; ++i) {
    std::string text;
    if (pick(0, 3) == 0) text += pick(0, 1) ? '-' : '+';
    const int integer_digits = pick(0, 22);
    const int fraction_digits = integer_digits == 0 ? pick(1, 22) : pick(0, 22);
    text += digits(integer_digits);
    if (fraction_digits > 0 || pick(0, 5) == 0) text += '.' + digits(fraction_digits);
    if (pick(0, 1) == 0) {
      text += pick(0, 1) ? 'e' : 'E';
      const int exponent = pick(0, 2) == 0 ? pick(-30, 30) : pick(-345, 330);
      if (exponent >= 0 && pick(0, 1) == 0) text += '+';
      text += std::to_string(exponent);
    }
    check_against_strtod(text);
  }
}
