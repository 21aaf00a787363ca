#include <doctest/doctest.h>

#include "notify/retry.hpp"

using namespace wk::notify;

TEST_CASE("retry: HTTP status classification") {
  CHECK(classify_http(200) == delivery_verdict::delivered);
  CHECK(classify_http(202) == delivery_verdict::delivered);
  CHECK(classify_http(204) == delivery_verdict::delivered);
  CHECK(classify_http(408) == delivery_verdict::retry);
  CHECK(classify_http(429) == delivery_verdict::retry);
  CHECK(classify_http(500) == delivery_verdict::retry);
  CHECK(classify_http(503) == delivery_verdict::retry);
  CHECK(classify_http(599) == delivery_verdict::retry);
  CHECK(classify_http(400) == delivery_verdict::give_up);
  CHECK(classify_http(403) == delivery_verdict::give_up);
  CHECK(classify_http(404) == delivery_verdict::give_up);
  CHECK(classify_http(410) == delivery_verdict::give_up);
  CHECK(classify_http(301) == delivery_verdict::give_up);
  CHECK(classify_http(0) == delivery_verdict::give_up);
  CHECK(classify_http(-1) == delivery_verdict::give_up);
  CHECK(classify_http(600) == delivery_verdict::give_up);
}

TEST_CASE("retry: Retry-After as delta-seconds") {
  CHECK(parse_retry_after("120", 0) == 120000);
  CHECK(parse_retry_after(" 0 ", 0) == 0);
  CHECK(parse_retry_after("99999999999999999999999", 0) == 30LL * 24 * 3600 * 1000);
  CHECK_FALSE(parse_retry_after("", 0));
  CHECK_FALSE(parse_retry_after("-5", 0));
  CHECK_FALSE(parse_retry_after("1.5", 0));
  CHECK_FALSE(parse_retry_after("soon", 0));
  CHECK_FALSE(parse_retry_after("12abc", 0));
}

TEST_CASE("retry: Retry-After as HTTP-date in all three forms") {
  const std::int64_t now = 784111777000;  // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now) == 60000);
  CHECK(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now) == 60000);
  CHECK(parse_retry_after("Sun Nov  6 08:50:37 1994", now) == 60000);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now) == 0);  // in the past
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480000 - 1500) == 1500);
  CHECK_FALSE(parse_retry_after("Sun, 06 Nov 1994 08:49:37 PST", now));
  CHECK_FALSE(parse_retry_after("Sun, 31 Feb 1994 08:49:37 GMT", now));
  CHECK_FALSE(parse_retry_after("Sun, 06 Nov 1994 25:49:37 GMT", now));
  CHECK_FALSE(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT trailing", now));
  CHECK_FALSE(parse_retry_after("Sun, 6 Nov 1994 08:49:37 GMT", now));
}

TEST_CASE("retry: backoff grows, stays within bounds and honours jitter") {
  for (int attempt = 0; attempt < 80; ++attempt) {
    std::int64_t base = std::min<std::int64_t>(60000, attempt < 20 ? 500LL << attempt : 60000);
    for (double j : {0.0, 0.25, 0.5, 0.999999, 1.0, 7.0, -3.0}) {
      std::int64_t d = backoff_ms(attempt, 500, 60000, j);
      CHECK(d >= base / 2);
      CHECK(d < base);
    }
  }
  CHECK(backoff_ms(0, 1000, 60000, 0.0) == 500);
  CHECK(backoff_ms(0, 1000, 60000, 0.5) == 750);
  CHECK(backoff_ms(3, 1000, 60000, 0.0) == 4000);
  CHECK(backoff_ms(100000, 1000, 60000, 0.0) == 30000);
  CHECK(backoff_ms(-4, 1000, 60000, 0.0) == 500);
  CHECK(backoff_ms(5, 0, 60000, 0.5) == 0);
  CHECK(backoff_ms(62, INT64_MAX / 2, INT64_MAX, 0.0) == INT64_MAX / 2);
}
