#include "net/cert_time.hpp"

#include <doctest/doctest.h>

#include <ctime>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace {

// Non-comment lines of a fixture in tests/testdata/net/.
std::vector<std::string> fixture_lines(const std::string& name) {
  std::ifstream in(std::string(WK_SOURCE_DIR) + "/tests/testdata/net/" + name);
  REQUIRE(in.good());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind('#', 0) != 0) lines.push_back(line);
  }
  return lines;
}

}  // namespace

TEST_CASE("certificate times from curl parse to unix seconds") {
  const std::vector<std::string> lines = fixture_lines("cert_times.good.txt");
  REQUIRE(lines.size() >= 10);
  for (const std::string& line : lines) {
    CAPTURE(line);
    const std::size_t arrow = line.rfind(" => ");
    REQUIRE(arrow != std::string::npos);
    const auto parsed = wk::net::parse_cert_time(line.substr(0, arrow));
    REQUIRE(parsed.has_value());
    CHECK(*parsed == std::stoll(line.substr(arrow + 4)));
  }
}

TEST_CASE("malformed or impossible certificate times give no value") {
  const std::vector<std::string> lines = fixture_lines("cert_times.bad.txt");
  REQUIRE(lines.size() >= 20);
  for (const std::string& line : lines) {
    CAPTURE(line);
    CHECK_FALSE(wk::net::parse_cert_time(line).has_value());
  }
}

TEST_CASE("days_from_civil agrees with timegm over four centuries") {
  for (int year = 1900; year <= 2300; ++year) {
    for (unsigned month = 1; month <= 12; ++month) {
      std::tm tm{};
      tm.tm_year = year - 1900;
      tm.tm_mon = static_cast<int>(month) - 1;
      tm.tm_mday = 28;
      const std::int64_t expected = static_cast<std::int64_t>(timegm(&tm)) / 86400;
      REQUIRE(wk::net::days_from_civil(year, month, 28) == expected);
    }
  }
}
