#include "tsdb/matcher.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <stdexcept>

namespace wk::tsdb {
namespace {

bool is_meta(char c) {
  switch (c) {
    case '.': case '+': case '*': case '?': case '(': case ')': case '[': case ']':
    case '{': case '}': case '^': case '$': case '|': case '\\':
      return true;
    default:
      return false;
  }
}

// Splits a pattern made only of literals joined by '|' into its alternatives; nullopt when
// any part needs a real regex engine. "\." style escapes of punctuation are literal.
std::optional<std::vector<std::string>> literal_alternatives(std::string_view pattern) {
  std::vector<std::string> out(1);
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '|') {
      out.emplace_back();
    } else if (c == '\\') {
      if (i + 1 >= pattern.size()) return std::nullopt;
      char next = pattern[i + 1];
      if (std::isalnum(static_cast<unsigned char>(next)) || static_cast<unsigned char>(next) >= 0x80) {
        return std::nullopt;
      }
      out.back().push_back(next);
      ++i;
    } else if (is_meta(c)) {
      return std::nullopt;
    } else {
      out.back().push_back(c);
    }
  }
  return out;
}

// The literal text every match of pattern must start with ("" when there is none): the run of
// plain characters before the first operator, minus a last character that operator repeats.
// A top-level alternation anywhere means no common prefix.
std::string literal_prefix(std::string_view pattern) {
  int depth = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      ++i;
    } else if (in_class) {
      in_class = c != ']';
    } else if (c == '[') {
      in_class = true;
      // As in RE2, a ']' right after '[' or '[^' is a member, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') ++i;
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') ++i;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (c == '|' && depth == 0) {
      return {};
    }
  }
  std::string prefix;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size() && !std::isalnum(static_cast<unsigned char>(pattern[i + 1])) &&
        static_cast<unsigned char>(pattern[i + 1]) < 0x80) {
      prefix.push_back(pattern[++i]);
      continue;
    }
    if (is_meta(c)) {
      bool repeats_last = c == '*' || c == '?' || c == '+' || c == '{';
      if (repeats_last && !prefix.empty()) prefix.pop_back();
      return prefix;
    }
    prefix.push_back(c);
  }
  return prefix;
}

[[noreturn]] void bad_regex(std::string_view pattern, std::string_view why) {
  throw std::invalid_argument("invalid regex \"" + std::string(pattern.substr(0, 200)) + "\": " +
                              std::string(why));
}

// Rewrites RE2 semantics into ECMAScript: "." outside a bracket also matches newlines, and the
// whole pattern is one group so that regex_match anchors every alternative.
std::string to_ecmascript(std::string_view pattern) {
  std::string out = "(?:";
  bool in_class = false;
  int depth = 0;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      if (i + 1 >= pattern.size()) bad_regex(pattern, "trailing backslash");
      out.push_back(c);
      out.push_back(pattern[++i]);
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out.push_back(c);
      continue;
    }
    switch (c) {
      case '[':
        in_class = true;
        out.push_back(c);
        // In RE2 a ']' right after '[' or '[^' is a member; ECMAScript would read "[]" as
        // an empty class, so it is escaped.
        if (i + 1 < pattern.size() && pattern[i + 1] == '^') out.push_back(pattern[++i]);
        if (i + 1 < pattern.size() && pattern[i + 1] == ']') {
          out += "\\]";
          ++i;
        }
        break;
      case '(':
        if (++depth > matcher::max_regex_nesting) bad_regex(pattern, "groups nested too deeply");
        out.push_back(c);
        break;
      case ')':
        --depth;
        out.push_back(c);
        break;
      case '.':
        out += "[\\s\\S]";
        break;
      default:
        out.push_back(c);
    }
  }
  out.push_back(')');
  return out;
}

}  // namespace

matcher::matcher(std::string name, match_op op, std::string value)
    : name_(std::move(name)), op_(op), value_(std::move(value)) {
  if (name_.empty()) throw std::invalid_argument("matcher with an empty label name");
  if (op_ == match_op::equal || op_ == match_op::not_equal) {
    literals_.push_back(value_);
    return;
  }
  std::string_view pattern = value_;
  bool icase = false;
  if (pattern.substr(0, 4) == "(?i)") {
    icase = true;
    pattern.remove_prefix(4);
  }
  if (!icase) {
    if (pattern == ".*") {
      shape_ = shape::any;
      return;
    }
    if (pattern == ".+") {
      shape_ = shape::non_empty;
      return;
    }
    if (auto alternatives = literal_alternatives(pattern)) {
      literals_ = std::move(*alternatives);
      std::sort(literals_.begin(), literals_.end());
      literals_.erase(std::unique(literals_.begin(), literals_.end()), literals_.end());
      return;
    }
    if (pattern.size() >= 2 && pattern.substr(pattern.size() - 2) == ".*") {
      auto prefix = literal_alternatives(pattern.substr(0, pattern.size() - 2));
      if (prefix && prefix->size() == 1) {
        shape_ = shape::prefix;
        literals_ = std::move(*prefix);
        return;
      }
    }
  }
  if (pattern.size() > max_regex_length) bad_regex(pattern, "pattern too long");
  auto flags = std::regex::ECMAScript | std::regex::optimize;
  if (icase) flags |= std::regex::icase;
#ifdef __GLIBCXX__
  // libstdc++'s breadth-first executor: time linear in the input and stack bounded by the
  // pattern, instead of backtracking that a hostile value can make exponential or deep.
  flags |= std::regex_constants::__polynomial;
#endif
  if (!icase) required_prefix_ = literal_prefix(pattern);
  try {
    regex_ = std::make_shared<const std::regex>(to_ecmascript(pattern), flags);
  } catch (const std::regex_error& e) {
    bad_regex(pattern, e.what());
  }
  shape_ = shape::general;
}

bool matcher::pattern_matches(std::string_view value) const {
  switch (shape_) {
    case shape::literal_set:
      return std::binary_search(literals_.begin(), literals_.end(), value);
    case shape::prefix:
      return value.substr(0, literals_.front().size()) == literals_.front();
    case shape::any:
      return true;
    case shape::non_empty:
      return !value.empty();
    case shape::general:
      if (value.substr(0, required_prefix_.size()) != required_prefix_) return false;
      return std::regex_match(value.begin(), value.end(), *regex_);
  }
  return false;
}

bool matcher::matches(std::string_view value) const {
  bool positive = op_ == match_op::equal || op_ == match_op::regex;
  return pattern_matches(value) == positive;
}

}  // namespace wk::tsdb
