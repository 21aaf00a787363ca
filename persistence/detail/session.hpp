#pragma once

// Internal to persistence/: the one header that names pqxx types. No public header includes it.

#include "persistence/conninfo.hpp"
#include "persistence/error.hpp"

#include <pqxx/connection>

#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace wk::persistence::detail {

// Prepared statements as (name, SQL).
using statement_list = std::vector<std::pair<std::string, std::string>>;

// What a failed database call means for the connection, decided from the exception.
struct failure {
  std::string message;
  bool drop_connection = false;  // dead, or in a state we cannot trust any more
  bool retry_safe = false;       // lost before any commit was attempted: nothing was written
};
failure classify(std::exception_ptr exception);

// One lazily opened connection with its statements prepared at connect. Owned by one
// thread; after any failure that leaves the connection in doubt it is dropped and the next
// call reconnects (explicitly: no reliance on libpqxx's implicit reactivation).
class session {
 public:
  // Throws persistence::error when `url` cannot be parsed.
  session(const std::string& url, statement_list statements);

  // The open connection, connecting and preparing first when needed. Throws
  // persistence::error naming the database when that fails.
  pqxx::connection& connection();
  void reset() noexcept;
  bool connected() const noexcept { return conn_ != nullptr; }
  const std::string& display() const noexcept { return info_.display; }

  // Runs fn(connection) and reports any failure as persistence::error("<what>: <why>"). A
  // connection that was already open and turns out to be dead (e.g. the server restarted
  // since the last call) is replaced and fn retried once; fn must therefore do all its
  // writes in one transaction that it commits last.
  template <class Fn>
  auto run(const std::string& what, Fn&& fn) -> decltype(fn(std::declval<pqxx::connection&>()));

 private:
  conninfo info_;
  statement_list statements_;
  std::unique_ptr<pqxx::connection> conn_;
};

template <class Fn>
auto session::run(const std::string& what, Fn&& fn)
    -> decltype(fn(std::declval<pqxx::connection&>())) {
  for (int attempt = 0;; ++attempt) {
    const bool reused = conn_ != nullptr;
    try {
      return fn(connection());
    } catch (...) {
      const failure f = classify(std::current_exception());
      if (f.drop_connection) reset();
      if (f.retry_safe && reused && attempt == 0) continue;
      throw error(what + ": " + f.message);
    }
  }
}

}  // namespace wk::persistence::detail
