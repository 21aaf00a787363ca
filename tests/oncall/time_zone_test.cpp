#include <doctest/doctest.h>

#include "oncall/config.hpp"
#include "oncall/time_zone.hpp"

using namespace wk::oncall;

namespace {

std::int64_t at(const char* rfc3339) {
  auto ms = parse_rfc3339_ms(rfc3339);
  REQUIRE_MESSAGE(ms.has_value(), rfc3339);
  return *ms / 1000;
}

std::shared_ptr<const time_zone> zone(const char* name) {
  std::string error;
  auto z = time_zone::get(name, &error);
  REQUIRE_MESSAGE(static_cast<bool>(z), error);
  return z;
}

}  // namespace

TEST_CASE("time zone: Europe/Berlin offsets around both 2026 changes") {
  auto berlin = zone("Europe/Berlin");
  CHECK(berlin->offset_at(at("2026-03-29T00:59:59Z")) == 3600);
  CHECK(berlin->offset_at(at("2026-03-29T01:00:00Z")) == 7200);
  CHECK(berlin->offset_at(at("2026-10-25T00:59:59Z")) == 7200);
  CHECK(berlin->offset_at(at("2026-10-25T01:00:00Z")) == 3600);
  CHECK(berlin->offset_at(at("1890-01-01T00:00:00Z")) == 3208);  // local mean time
}

TEST_CASE("time zone: local to UTC in a gap and an overlap") {
  auto berlin = zone("Europe/Berlin");
  // 09:00 local either side of the change.
  CHECK(berlin->to_utc(at("2026-03-28T09:00:00Z")) == at("2026-03-28T08:00:00Z"));
  CHECK(berlin->to_utc(at("2026-03-29T09:00:00Z")) == at("2026-03-29T07:00:00Z"));
  // 02:30 does not exist on 29 March: read with the winter offset, it is 03:30 CEST.
  CHECK(berlin->to_utc(at("2026-03-29T02:30:00Z")) == at("2026-03-29T01:30:00Z"));
  // 02:30 happens twice on 25 October: the earlier one (CEST) is chosen.
  CHECK(berlin->to_utc(at("2026-10-25T02:30:00Z")) == at("2026-10-25T00:30:00Z"));
  CHECK(berlin->to_utc(at("2026-10-25T03:00:00Z")) == at("2026-10-25T02:00:00Z"));
}

TEST_CASE("time zone: the POSIX footer rule beyond the last transition") {
  auto berlin = zone("Europe/Berlin");
  // 2100 is past the fat file's table (2037): last Sunday of March 2100 is the 28th.
  CHECK(berlin->offset_at(at("2100-03-28T00:59:59Z")) == 3600);
  CHECK(berlin->offset_at(at("2100-03-28T01:00:00Z")) == 7200);
  CHECK(berlin->offset_at(at("2100-10-31T00:59:59Z")) == 7200);
  CHECK(berlin->offset_at(at("2100-10-31T01:00:00Z")) == 3600);
  // Southern hemisphere: Sydney's DST spans the new year (AEDT +11 from October to April).
  auto sydney = zone("Australia/Sydney");
  CHECK(sydney->offset_at(at("2100-01-15T00:00:00Z")) == 39600);
  CHECK(sydney->offset_at(at("2100-06-15T00:00:00Z")) == 36000);
  auto ny = zone("America/New_York");
  CHECK(ny->offset_at(at("2026-03-08T06:59:59Z")) == -18000);
  CHECK(ny->offset_at(at("2026-03-08T07:00:00Z")) == -14400);
  CHECK(ny->offset_at(at("2090-11-05T05:59:59Z")) == -14400);  // first Sunday of November
  CHECK(ny->offset_at(at("2090-11-05T06:00:00Z")) == -18000);
}

TEST_CASE("time zone: UTC, bad names and corrupt files") {
  CHECK(zone("UTC")->offset_at(at("2026-06-01T00:00:00Z")) == 0);
  CHECK(time_zone::utc().offset_at(123456789) == 0);
  for (const char* bad : {"", "../../etc/passwd", "/etc/passwd", "Europe/../../etc", "Nope/Zone",
                          "Europe", "Europe/Berlin\n", "a//b"}) {
    std::string error;
    CHECK_MESSAGE(!time_zone::get(bad, &error), bad);
    CHECK_FALSE(error.empty());
  }
  std::string error;
  CHECK_FALSE(time_zone::parse("TZif2", &error));
  std::string header(44, '\0');
  header.replace(0, 5, "TZif2");
  header[4 + 20 + 12 + 3] = '\x7f';  // absurd transition count
  CHECK_FALSE(time_zone::parse(header, &error));
  CHECK_FALSE(time_zone::parse(std::string(100, 'x'), &error));
  // Every truncation of a real file is rejected or parsed, never a crash.
  std::string berlin_file;
  {
    FILE* f = std::fopen("/usr/share/zoneinfo/Europe/Berlin", "rb");
    REQUIRE(f);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
      berlin_file.append(buf, n);
    std::fclose(f);
  }
  for (std::size_t cut = 0; cut < berlin_file.size(); cut += 7)
    (void)time_zone::parse(berlin_file.substr(0, cut), &error);
  CHECK(time_zone::parse(berlin_file, &error).has_value());
}
