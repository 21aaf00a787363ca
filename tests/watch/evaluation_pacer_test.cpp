#include <doctest/doctest.h>

#include <limits>
#include <stdexcept>

#include "watch/evaluation_pacer.hpp"

using wk::watch::evaluation_pacer;
using v = std::vector<std::size_t>;

TEST_CASE("evaluation_pacer runs groups when data lands, folding bursts into one deferred run") {
  evaluation_pacer p({10'000, 60'000}, 200);
  CHECK(p.next_due_ms() == std::numeric_limits<std::int64_t>::min());  // never evaluated: due now
  CHECK(p.on_data(1'000) == v{0, 1});
  CHECK(p.next_due_ms() == 11'000);
  CHECK(p.on_data(1'050).empty());  // within min_gap: deferred
  CHECK(p.next_due_ms() == 1'200);
  CHECK(p.on_timer(1'100).empty());
  CHECK(p.on_timer(1'200) == v{0, 1});
  CHECK(p.next_due_ms() == 11'200);
  CHECK(p.on_data(2'000) == v{0, 1});
}

TEST_CASE("evaluation_pacer falls back to each group's interval without data") {
  evaluation_pacer p({10'000, 25'000}, 100);
  CHECK(p.on_timer(0) == v{0, 1});
  CHECK(p.on_timer(9'999).empty());
  CHECK(p.on_timer(10'000) == v{0});
  CHECK(p.next_due_ms() == 20'000);
  CHECK(p.on_timer(25'000) == v{0, 1});
  CHECK_THROWS_AS(evaluation_pacer({0}, 10), std::invalid_argument);
  evaluation_pacer none({}, 10);
  CHECK(none.next_due_ms() == std::numeric_limits<std::int64_t>::max());
  CHECK(none.on_data(5).empty());
}
