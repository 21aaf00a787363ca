#pragma once

#include <cstdlib>
#include <optional>
#include <string>

namespace wk::config::test {

// Sets (or unsets, with nullopt) one environment variable for a scope, then restores it.
class scoped_env {
 public:
  scoped_env(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) previous_ = old;
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ~scoped_env() {
    if (previous_) {
      ::setenv(name_.c_str(), previous_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  std::string name_;
  std::optional<std::string> previous_;
};

// The environment the fixtures in tests/testdata/config expect.
struct fixture_env {
  scoped_env token{"WK_TEST_TOKEN", std::string("fixture-token-0123456789abcdef")};
  scoped_env short_token{"WK_TEST_SHORT_TOKEN", std::string("short")};
  scoped_env host{"WK_TEST_HOST", std::string("127.0.0.1")};
  scoped_env unset{"WK_TEST_UNSET", std::nullopt};
  scoped_env database{"WATCHKEEPER_DATABASE_URL", std::nullopt};
};

}  // namespace wk::config::test
