#pragma once

// The state of one health check: it flips only after failure_threshold consecutive failures
// (up -> down) or success_threshold consecutive successes (down -> up), so one lost packet does
// not page anybody. The first result decides the initial state at once (unknown -> up/down).

#include <optional>
#include <string>

namespace wk::watch {

enum class health_state { unknown, up, down };

const char* to_string(health_state s);

struct health_transition {
  health_state from;
  health_state to;
  std::string reason;  // why the last observation passed or failed
};

class health_machine {
 public:
  health_machine(int failure_threshold, int success_threshold);

  // Feeds one check result; returns the transition when the state changes.
  std::optional<health_transition> observe(bool ok, const std::string& reason);

  health_state state() const { return state_; }
  int consecutive_failures() const { return failures_; }
  int consecutive_successes() const { return successes_; }

 private:
  int failure_threshold_;
  int success_threshold_;
  health_state state_ = health_state::unknown;
  int failures_ = 0;
  int successes_ = 0;
};

}  // namespace wk::watch
