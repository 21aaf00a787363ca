#pragma once

#include <stdexcept>

namespace wk::persistence {

// Every failure this library reports: unreachable server, SQL error, rejected input. The
// message names the database (never its password) and what was being done.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace wk::persistence
