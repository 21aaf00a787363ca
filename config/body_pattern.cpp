#include "config/body_pattern.hpp"

#include <regex.h>

namespace wk::config {

struct body_pattern::compiled {
  regex_t regex;
  ~compiled() { regfree(&regex); }
};

std::optional<body_pattern> body_pattern::compile(const std::string& pattern, std::string* error) {
  auto c = std::make_shared<compiled>();
  int rc = regcomp(&c->regex, pattern.c_str(), REG_EXTENDED | REG_NOSUB);
  if (rc != 0) {
    if (error) {
      char buf[256];
      regerror(rc, &c->regex, buf, sizeof buf);
      *error = buf;
    }
    // regcomp leaves nothing to free on failure; keep the destructor from freeing garbage.
    c->regex = regex_t{};
    return std::nullopt;
  }
  body_pattern p;
  p.compiled_ = std::move(c);
  return p;
}

bool body_pattern::search(std::string_view text) const {
  if (!compiled_)
    return false;
  // REG_STARTEND: match exactly [data, data + size), so neither a terminating NUL nor a copy is
  // needed.
  regmatch_t range[1];
  range[0].rm_so = 0;
  range[0].rm_eo = static_cast<regoff_t>(text.size());
  return regexec(&compiled_->regex, text.data(), 1, range, REG_STARTEND) == 0;
}

}  // namespace wk::config
