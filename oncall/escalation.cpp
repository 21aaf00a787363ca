#include "oncall/escalation.hpp"

#include <algorithm>

namespace wk::oncall {

escalation_plan plan_escalation(const escalation_policy& p, std::int64_t triggered_ms,
                                std::optional<std::int64_t> acked_ms, std::int64_t now_ms) {
  escalation_plan plan;
  if (p.levels.empty())
    return plan;
  std::int64_t cycle_ms = 0;
  for (const auto& l : p.levels)
    cycle_ms += std::max<std::int64_t>(l.delay_ms, 0);
  // A zero-length cycle would page every repetition at once: run it once.
  int repeat = cycle_ms > 0 ? std::clamp(p.repeat, 0, 100) : 0;
  std::int64_t due = triggered_ms;
  for (int rep = 0; rep <= repeat; ++rep) {
    for (std::size_t i = 0; i < p.levels.size(); ++i) {
      bool stopped = acked_ms && due >= *acked_ms;
      if (stopped)
        return plan;
      if (due > now_ms) {
        plan.next_due_ms = due;
        return plan;
      }
      plan.due.push_back({i, rep, due});
      due += std::max<std::int64_t>(p.levels[i].delay_ms, 0);
    }
  }
  return plan;
}

}  // namespace wk::oncall
