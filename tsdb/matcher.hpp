#pragma once

#include <cstddef>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace wk::tsdb {

enum class match_op { equal, not_equal, regex, not_regex };

// A label matcher as in PromQL: name op "value". Regexes are fully anchored, "." also matches
// a newline (Prometheus compiles "^(?s:re)$"), and a leading "(?i)" makes the match
// case-insensitive. The syntax is the RE2 subset that ECMAScript shares; back-references are
// refused. Common shapes skip std::regex entirely: literals, literal alternations "a|b|c"
// (escaped punctuation allowed, e.g. "10\.0\.0\.1"), "prefix.*", ".*" and ".+".
class matcher {
 public:
  // Longest pattern handed to std::regex and its deepest group nesting; both bound the work
  // and the stack a hostile pattern can demand. Literal alternations have no limit.
  static constexpr std::size_t max_regex_length = 8192;
  static constexpr int max_regex_nesting = 64;

  // Throws std::invalid_argument on an empty name or a regex that does not compile.
  matcher(std::string name, match_op op, std::string value);

  bool matches(std::string_view value) const;
  const std::string& name() const { return name_; }
  match_op op() const { return op_; }
  const std::string& value() const { return value_; }

 private:
  enum class shape { literal_set, prefix, any, non_empty, general };
  bool pattern_matches(std::string_view value) const;

  std::string name_;
  match_op op_;
  std::string value_;
  shape shape_ = shape::literal_set;
  std::vector<std::string> literals_;  // sorted: the literal set, or the one prefix
  // general shape: a literal every match starts with, checked before the costly regex run.
  std::string required_prefix_;
  std::shared_ptr<const std::regex> regex_;
};

}  // namespace wk::tsdb
