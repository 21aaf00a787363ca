#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace wk::persistence {

struct health_transition {
  std::string service, check_name, from_state, to_state, reason;
  double latency_ms = 0;
  std::int64_t at_ms = 0;  // Unix epoch milliseconds
};

// Health state changes: full history plus the current state per (service, check). One
// connection, opened on first use and reopened after a failure; used from one thread.
// Every call either succeeds or throws persistence::error.
class health_store {
 public:
  static constexpr std::size_t max_text_bytes = 4096;  // per text field
  static constexpr std::size_t max_history = 10000;    // cap on history()'s limit

  // Throws persistence::error when `url` cannot be parsed; does no I/O.
  explicit health_store(std::string url);
  ~health_store();
  health_store(health_store&&) noexcept;
  health_store& operator=(health_store&&) noexcept;

  // One transaction: appends to the history and moves the current state to `t`, unless the
  // current state is already newer (a late, out-of-order record only joins the history).
  // Returns the history row's id. Committed before it returns, so callers may announce it.
  std::int64_t record(const health_transition& t);

  // The service's transitions, newest first, at most min(limit, max_history).
  std::vector<health_transition> history(const std::string& service, std::size_t limit);

  // The current state of every (service, check), ordered by service then check. from_state
  // and latency_ms come from the transition that set it.
  std::vector<health_transition> current();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wk::persistence
