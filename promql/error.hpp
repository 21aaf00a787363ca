#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace wk::promql {

enum class error_kind {
  parse,        // the query text is not valid PromQL
  execution,    // valid PromQL that fails on the data (duplicate series, limits, bad arguments)
  unsupported,  // valid PromQL that this engine does not implement: never answered wrongly
};

// Thrown by the parser and the engine. position is a byte offset into the query for parse
// errors (-1 when unknown).
class error : public std::runtime_error {
 public:
  error(error_kind kind, std::string message, int position = -1)
      : std::runtime_error(std::move(message)), kind_(kind), position_(position) {}
  error_kind kind() const { return kind_; }
  int position() const { return position_; }

 private:
  error_kind kind_;
  int position_;
};

}  // namespace wk::promql
