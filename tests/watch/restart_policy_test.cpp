#include <doctest/doctest.h>

#include "watch/restart_policy.hpp"

using namespace wk::watch;
using std::chrono::milliseconds;

TEST_CASE("backoff grows exponentially within jitter bounds and is capped") {
  restart_settings s;
  s.budget = 100;
  s.window = milliseconds(3600000);
  s.backoff_initial = milliseconds(100);
  s.backoff_max = milliseconds(1000);
  restart_policy p(s, 42);
  long long expected_base = 100;
  for (int i = 0; i < 8; ++i) {
    auto d = p.on_failure(milliseconds(i));
    REQUIRE(d);
    CHECK(d->count() >= expected_base / 2);
    CHECK(d->count() <= expected_base);
    expected_base = std::min<long long>(expected_base * 2, 1000);
  }
}

TEST_CASE("the budget is per sliding window") {
  restart_settings s;
  s.budget = 3;
  s.window = milliseconds(1000);
  restart_policy p(s);
  CHECK(p.on_failure(milliseconds(0)));
  CHECK(p.on_failure(milliseconds(100)));
  CHECK(p.on_failure(milliseconds(200)));
  CHECK_FALSE(p.on_failure(milliseconds(300)));
  CHECK(p.restarts_in_window() == 3);
  // The first failure leaves the window at t=1000.
  CHECK(p.on_failure(milliseconds(1000)));
}

TEST_CASE("a healthy window resets the backoff") {
  restart_settings s;
  s.budget = 10;
  s.window = milliseconds(1000);
  s.backoff_initial = milliseconds(100);
  s.backoff_max = milliseconds(100000);
  restart_policy p(s);
  for (int i = 0; i < 5; ++i)
    p.on_failure(milliseconds(i));
  p.on_healthy(milliseconds(5000));
  auto d = p.on_failure(milliseconds(5001));
  REQUIRE(d);
  CHECK(d->count() <= 100);
}
