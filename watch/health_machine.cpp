#include "watch/health_machine.hpp"

#include <algorithm>

namespace wk::watch {

const char* to_string(health_state s) {
  switch (s) {
    case health_state::unknown:
      return "unknown";
    case health_state::up:
      return "up";
    case health_state::down:
      return "down";
  }
  return "unknown";
}

health_machine::health_machine(int failure_threshold, int success_threshold)
  : failure_threshold_(std::max(1, failure_threshold)),
    success_threshold_(std::max(1, success_threshold)) {
}

std::optional<health_transition> health_machine::observe(bool ok, const std::string& reason) {
  if (ok) {
    ++successes_;
    failures_ = 0;
  } else {
    ++failures_;
    successes_ = 0;
  }
  health_state next = state_;
  if (state_ == health_state::unknown)
    next = ok ? health_state::up : health_state::down;
  else if (state_ == health_state::up && failures_ >= failure_threshold_)
    next = health_state::down;
  else if (state_ == health_state::down && successes_ >= success_threshold_)
    next = health_state::up;
  if (next == state_)
    return std::nullopt;
  health_transition t{state_, next, reason};
  state_ = next;
  return t;
}

}  // namespace wk::watch
