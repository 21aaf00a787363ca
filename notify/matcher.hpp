#pragma once

// Alertmanager label matchers: name, op (=, !=, =~, !~), value. Regexes are fully anchored and
// use POSIX extended syntax through glibc's regcomp (not std::regex, whose recursive matcher
// overflows the stack on long label values); RE2-only syntax such as \d or (?i) is rejected at
// parse time with the engine's message.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wk::notify {

enum class match_op { equal, not_equal, regex, not_regex };

class matcher {
 public:
  // nullopt with a reason in *error for an invalid label name or regex.
  static std::optional<matcher> make(std::string name, match_op op, std::string value,
                                     std::string* error);

  const std::string& name() const { return name_; }
  match_op op() const { return op_; }
  const std::string& value() const { return value_; }

  // A missing label matches as the empty string, as in Alertmanager.
  bool matches(std::string_view label_value) const;

  // `name="value"` with the operator and Go-style quoting, as Alertmanager prints matchers.
  std::string str() const;

 private:
  struct compiled;
  std::string name_;
  match_op op_ = match_op::equal;
  std::string value_;
  std::shared_ptr<const compiled> regex_;
};

// One entry of Alertmanager's `matchers:` list: `severity="critical"`, `team=~"a|b"`,
// `env!=prod`, or a braced list `{a="b", c!~"d.*"}`. Appends to out; on error returns a
// message and appends nothing.
std::optional<std::string> parse_matchers(std::string_view text, std::vector<matcher>& out);

// A reason to refuse a regex before regcomp sees it: glibc's regcomp takes minutes and
// gigabytes on nested counted repetitions, and back-references make matching exponential, so
// repetition bounds that multiply past 100 and a backslash before a digit are refused.
// matcher::make applies it to every regex matcher (routes, inhibitions, silences).
std::optional<std::string> regex_hazard(std::string_view regex);

// Go's %q of s: double quotes, with \\, \", \n, \r, \t and \xNN for other control bytes.
std::string go_quote(std::string_view s);

}  // namespace wk::notify
