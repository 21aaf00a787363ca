#include "config/units.hpp"

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using wk::config::format_duration;
using wk::config::format_size;
using wk::config::format_status_range;
using wk::config::parse_duration;
using wk::config::parse_size;
using wk::config::parse_status_range;
using wk::config::status_matches;
using wk::config::status_range;

TEST_CASE("parse_duration accepts the Prometheus syntax") {
  CHECK(parse_duration("0") == 0ms);
  CHECK(parse_duration("0s") == 0ms);
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("15s") == 15s);
  CHECK(parse_duration("1m30s") == 90s);
  CHECK(parse_duration("2h") == 2h);
  CHECK(parse_duration("1d") == 24h);
  CHECK(parse_duration("1w") == 7 * 24h);
  CHECK(parse_duration("1y") == 365 * 24h);
  CHECK(parse_duration("1h30m15s500ms") == 1h + 30min + 15s + 500ms);
  CHECK(parse_duration("1y2w3d4h5m6s7ms") == 365 * 24h + 14 * 24h + 3 * 24h + 4h + 5min + 6s + 7ms);
  CHECK(parse_duration("90m") == 90min);  // units need not be normalised
  CHECK(parse_duration("007s") == 7s);
}

TEST_CASE("parse_duration rejects everything else") {
  for (const char* bad :
       {"",    "15", "1.5s", "-1s", "+1s",   "1s1m", "1h1h", "1ms1s", "s",     "1 s", " 1s",
        "1s ", "1S", "1mss", "1sm", "1hour", "1m30", "ms",   "1e3s",  "0x10s", "1µs", "1ns"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_duration(bad).has_value());
  }
}

TEST_CASE("parse_duration bounds values to int64 nanoseconds") {
  CHECK(parse_duration("9223372036854ms") == std::chrono::milliseconds{9223372036854});
  CHECK_FALSE(parse_duration("9223372036855ms").has_value());
  CHECK_FALSE(parse_duration("293y").has_value());
  CHECK(parse_duration("292y").has_value());
  CHECK_FALSE(parse_duration("99999999999999999999s").has_value());
  CHECK_FALSE(parse_duration("292y52w").has_value());
}

TEST_CASE("format_duration writes what parse_duration reads back") {
  CHECK(format_duration(0ms) == "0s");
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(500ms) == "500ms");
  CHECK(format_duration(24h) == "1d");
  CHECK(format_duration(8 * 24h) == "1w1d");
  CHECK(format_duration(365 * 24h + 1ms) == "1y1ms");
  for (const std::chrono::milliseconds value : std::initializer_list<std::chrono::milliseconds>{
           1ms, 999ms, 1000ms, 61s, 3599999ms, 86400001ms,
           std::chrono::milliseconds{9223372036854}}) {
    CAPTURE(value.count());
    CHECK(parse_duration(format_duration(value)) == value);
  }
}

TEST_CASE("parse_size reads bytes and decimal and binary units") {
  CHECK(parse_size("0") == 0u);
  CHECK(parse_size("1024") == 1024u);
  CHECK(parse_size("512KiB") == 512u * 1024);
  CHECK(parse_size("10MiB") == 10u * 1024 * 1024);
  CHECK(parse_size("1GiB") == 1ULL << 30);
  CHECK(parse_size("2TiB") == 2ULL << 40);
  CHECK(parse_size("1GB") == 1'000'000'000u);
  CHECK(parse_size("1KB") == 1000u);
  CHECK(parse_size("1kb") == 1000u);
  CHECK(parse_size("1mib") == 1ULL << 20);
  CHECK(parse_size("100B") == 100u);
  CHECK(parse_size("10 MiB") == 10ULL << 20);
  CHECK(parse_size("15EiB") == 15ULL << 60);
  CHECK(parse_size("18446744073709551615") == 18446744073709551615ULL);
}

TEST_CASE("parse_size rejects malformed and overflowing sizes") {
  for (const char* bad : {"", "MiB", "1.5GiB", "-1", "+1", "10XB", "10  MiB", " 10", "10MiB ",
                          "10M", "1e6", "16EiB", "18446744073709551616", "19EB", "0x10"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_size(bad).has_value());
  }
}

TEST_CASE("format_size writes the shortest exact spelling") {
  CHECK(format_size(0) == "0");
  CHECK(format_size(10ULL << 20) == "10MiB");
  CHECK(format_size(1'000'000'000) == "1GB");
  CHECK(format_size(1500) == "1500");
  CHECK(format_size(1) == "1");
  for (const std::uint64_t value : {1ULL, 1000ULL, 1024ULL, 1536ULL, 5ULL << 20, 3'000'000ULL,
                                    18446744073709551615ULL, 15ULL << 60}) {
    CAPTURE(value);
    CHECK(parse_size(format_size(value)) == value);
  }
}

TEST_CASE("parse_status_range reads codes, classes and ranges") {
  CHECK(parse_status_range("200") == status_range{200, 200});
  CHECK(parse_status_range("2xx") == status_range{200, 299});
  CHECK(parse_status_range("5XX") == status_range{500, 599});
  CHECK(parse_status_range("1xx") == status_range{100, 199});
  CHECK(parse_status_range("200-299") == status_range{200, 299});
  CHECK(parse_status_range("301-302") == status_range{301, 302});
  CHECK(parse_status_range("100") == status_range{100, 100});
  CHECK(parse_status_range("599") == status_range{599, 599});
  for (const char* bad : {"", "600", "099", "99", "6xx", "0xx", "299-200", "20", "abc", "200-",
                          "-200", "2x", "2xxx", "200-600", " 200", "200 ", "2000"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_status_range(bad).has_value());
  }
}

TEST_CASE("status_matches checks every range") {
  const std::vector<status_range> ranges{{200, 299}, {301, 301}};
  CHECK(status_matches(ranges, 200));
  CHECK(status_matches(ranges, 299));
  CHECK_FALSE(status_matches(ranges, 300));
  CHECK(status_matches(ranges, 301));
  CHECK_FALSE(status_matches(ranges, 199));
  CHECK_FALSE(status_matches(ranges, 404));
  CHECK_FALSE(status_matches({}, 200));
}

TEST_CASE("format_status_range round-trips") {
  CHECK(format_status_range({204, 204}) == "204");
  CHECK(format_status_range({200, 299}) == "2xx");
  CHECK(format_status_range({200, 204}) == "200-204");
  CHECK(format_status_range({250, 349}) == "250-349");
  for (const status_range range : {status_range{100, 199}, status_range{418, 418},
                                   status_range{250, 349}, status_range{100, 599}}) {
    CHECK(parse_status_range(format_status_range(range)) == range);
  }
}
