#pragma once

// The regular expression of a health check's body_regex: POSIX extended syntax (with GNU's \s,
// \w, \b), matched by glibc's regex engine. Chosen over std::regex because libstdc++'s matcher
// recurses per input character and backtracks: a 16 KiB body crashes it and 4 KiB takes a
// second, where glibc matches a megabyte in milliseconds.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace wk::config {

class body_pattern {
 public:
  // nullopt with the engine's reason in *error when the pattern does not compile.
  static std::optional<body_pattern> compile(const std::string& pattern, std::string* error);

  // true when the pattern matches anywhere in text (NUL bytes in text are fine).
  bool search(std::string_view text) const;

 private:
  struct compiled;
  std::shared_ptr<const compiled> compiled_;
};

}  // namespace wk::config
