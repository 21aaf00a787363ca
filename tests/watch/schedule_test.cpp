#include <doctest/doctest.h>

#include <set>
#include <string>

#include "watch/schedule.hpp"

using namespace wk::watch;
using std::chrono::milliseconds;

TEST_CASE("phase offsets are stable, inside the interval and spread out") {
  auto iv = milliseconds(10000);
  CHECK(phase_offset("api", iv) == phase_offset("api", iv));
  std::set<long long> seen;
  for (int i = 0; i < 1000; ++i) {
    auto o = phase_offset("service-" + std::to_string(i), iv);
    CHECK(o.count() >= 0);
    CHECK(o.count() < 10000);
    seen.insert(o.count() / 1000);
  }
  CHECK(seen.size() == 10);  // every tenth of the interval gets some targets
}

TEST_CASE("until_next_tick lands on the offset grid") {
  auto iv = milliseconds(1000);
  CHECK(until_next_tick(10250, iv, milliseconds(300)).count() == 50);
  CHECK(until_next_tick(10300, iv, milliseconds(300)).count() == 1000);
  CHECK(until_next_tick(10301, iv, milliseconds(300)).count() == 999);
  CHECK(until_next_tick(5, milliseconds(0), milliseconds(0)).count() == 1);
}
