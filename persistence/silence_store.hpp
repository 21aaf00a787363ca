#pragma once

// Silences created over the API. Configured silences live in the configuration and are never
// stored here.

#include "silences/model.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace wk::persistence {

// One connection, opened on first use and reopened after a failure; used from one thread.
// Every call either succeeds or throws persistence::error.
class silence_store {
 public:
  static constexpr std::size_t max_text_bytes = 64 * 1024;  // id, author, comment, a matcher
  static constexpr std::size_t max_matchers = 100;

  // Throws persistence::error when `url` cannot be parsed; does no I/O.
  explicit silence_store(std::string url);
  ~silence_store();
  silence_store(silence_store&&) noexcept;
  silence_store& operator=(silence_store&&) noexcept;

  // Upsert by id. Matchers are stored as their str() text and parsed again on load; a
  // matcher whose text would not parse back to itself is refused here, not at the next
  // start. Refuses configured silences (source "config"), an empty id or matcher list,
  // and ends_at_ms < starts_at_ms.
  void save(const silences::silence& s);
  // Silences with ends_at_ms > ended_after_ms, by start then id. Throws when a stored
  // matcher no longer parses (the row is named).
  std::vector<silences::silence> all(std::int64_t ended_after_ms);
  // Ends the silence at at_ms unless it ends earlier: ends_at_ms = min(ends, at), and a
  // silence that had not started yet gets starts_at_ms = ends_at_ms. False when id is unknown.
  bool expire(const std::string& id, std::int64_t at_ms);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace wk::persistence
