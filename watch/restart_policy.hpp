#pragma once

// How a supervisor restarts a failed child: exponential backoff with jitter, and a budget of
// restarts within a sliding window past which it gives up (a child that crashes in a loop must
// not burn the CPU or flood the log).

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

namespace wk::watch {

struct restart_settings {
  int budget = 5;
  std::chrono::milliseconds window{60000};
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};
};

class restart_policy {
 public:
  explicit restart_policy(restart_settings settings, std::uint64_t seed = 1);

  // Called when a child died at `now`. Returns the delay before restarting it, or nothing when the
  // budget for the window is spent.
  std::optional<std::chrono::milliseconds> on_failure(std::chrono::milliseconds now);

  // A child that ran cleanly for a whole window earns back its backoff.
  void on_healthy(std::chrono::milliseconds now);

  int restarts_in_window() const { return static_cast<int>(recent_.size()); }

 private:
  restart_settings settings_;
  std::deque<std::chrono::milliseconds> recent_;
  int attempt_ = 0;
  std::uint64_t rng_;
};

}  // namespace wk::watch
