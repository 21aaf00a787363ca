#include <doctest/doctest.h>

#include "oncall/escalation.hpp"

using namespace wk::oncall;

namespace {

constexpr std::int64_t min_ms = 60000;
constexpr std::int64_t t0 = 1774767600000;

escalation_policy three_levels(int repeat) {
  escalation_policy p;
  p.name = "default";
  p.levels = {{10 * min_ms, {{target::kind::schedule, "primary"}}},
              {15 * min_ms, {{target::kind::user, "bob"}}},
              {5 * min_ms, {{target::kind::channel, "slack-ops"}}}};
  p.repeat = repeat;
  return p;
}

std::vector<std::pair<std::size_t, int>> due(const escalation_plan& plan) {
  std::vector<std::pair<std::size_t, int>> out;
  for (const auto& d : plan.due)
    out.emplace_back(d.level, d.repetition);
  return out;
}

}  // namespace

TEST_CASE("escalation: levels come due one after another") {
  auto p = three_levels(0);
  auto plan = plan_escalation(p, t0, std::nullopt, t0);
  CHECK(due(plan) == std::vector<std::pair<std::size_t, int>>{{0, 0}});
  CHECK(plan.due[0].due_ms == t0);
  CHECK(plan.next_due_ms == t0 + 10 * min_ms);

  plan = plan_escalation(p, t0, std::nullopt, t0 + 10 * min_ms - 1);
  CHECK(plan.due.size() == 1);
  plan = plan_escalation(p, t0, std::nullopt, t0 + 10 * min_ms);
  CHECK(due(plan) == std::vector<std::pair<std::size_t, int>>{{0, 0}, {1, 0}});
  CHECK(plan.next_due_ms == t0 + 25 * min_ms);

  plan = plan_escalation(p, t0, std::nullopt, t0 + 24 * 3600 * 1000LL);
  CHECK(due(plan) == std::vector<std::pair<std::size_t, int>>{{0, 0}, {1, 0}, {2, 0}});
  CHECK(plan.due[2].due_ms == t0 + 25 * min_ms);
  CHECK_FALSE(plan.next_due_ms);
}

TEST_CASE("escalation: an acknowledgement stops what is due at or after it") {
  auto p = three_levels(3);
  auto plan = plan_escalation(p, t0, t0 + 5 * min_ms, t0 + 3600 * 1000);
  CHECK(due(plan) == std::vector<std::pair<std::size_t, int>>{{0, 0}});
  CHECK_FALSE(plan.next_due_ms);

  plan = plan_escalation(p, t0, t0 + 10 * min_ms, t0 + 3600 * 1000);  // ack on the dot
  CHECK(plan.due.size() == 1);

  plan = plan_escalation(p, t0, t0 + 12 * min_ms, t0 + 11 * min_ms);  // ack recorded later
  CHECK(plan.due.size() == 2);
  CHECK_FALSE(plan.next_due_ms);

  plan = plan_escalation(p, t0, t0, t0 + 3600 * 1000);  // acknowledged at once
  CHECK(plan.due.empty());
}

TEST_CASE("escalation: repeat starts over after the last level's delay") {
  auto p = three_levels(2);  // cycle of 30 minutes, three passes
  auto plan = plan_escalation(p, t0, std::nullopt, t0 + 30 * min_ms);
  CHECK(due(plan) == std::vector<std::pair<std::size_t, int>>{{0, 0}, {1, 0}, {2, 0}, {0, 1}});
  CHECK(plan.due[3].due_ms == t0 + 30 * min_ms);
  CHECK(plan.next_due_ms == t0 + 40 * min_ms);

  plan = plan_escalation(p, t0, std::nullopt, t0 + 1000 * min_ms);
  CHECK(plan.due.size() == 9);
  CHECK(plan.due.back().level == 2);
  CHECK(plan.due.back().repetition == 2);
  CHECK(plan.due.back().due_ms == t0 + 85 * min_ms);
  CHECK_FALSE(plan.next_due_ms);

  plan = plan_escalation(p, t0, t0 + 50 * min_ms, t0 + 1000 * min_ms);
  CHECK(plan.due.size() == 5);  // 0,1,2 then 0,1 of the second pass
}

TEST_CASE("escalation: degenerate policies") {
  escalation_policy empty;
  auto plan = plan_escalation(empty, t0, std::nullopt, t0 + 1000);
  CHECK(plan.due.empty());
  CHECK_FALSE(plan.next_due_ms);

  escalation_policy zero;
  zero.levels = {{0, {{target::kind::user, "a"}}}, {0, {{target::kind::user, "b"}}}};
  zero.repeat = 1000000;
  plan = plan_escalation(zero, t0, std::nullopt, t0);
  CHECK(plan.due.size() == 2);  // a zero-length cycle is not repeated

  auto p = three_levels(1000000);
  plan = plan_escalation(p, t0, std::nullopt, INT64_MAX / 2);
  CHECK(plan.due.size() == 3 * 101);  // repeat is capped at 100

  plan = plan_escalation(three_levels(0), t0, std::nullopt, t0 - 1);  // clock behind
  CHECK(plan.due.empty());
  CHECK(plan.next_due_ms == t0);
}
