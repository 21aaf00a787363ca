#include "config/env_expand.hpp"

#include <doctest/doctest.h>

#include <map>

namespace {

wk::config::expansion expand(std::string_view text) {
  static const std::map<std::string, std::string> env = {
      {"HOST", "db.internal"}, {"EMPTY", ""}, {"DOLLAR", "a$b${c}"}, {"_X1", "x"}};
  return wk::config::expand_env(text, [](const std::string& name) -> std::optional<std::string> {
    const auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
}

}  // namespace

TEST_CASE("expand_env substitutes variables and defaults") {
  CHECK(expand("plain").text == "plain");
  CHECK(expand("").text.empty());
  CHECK(expand("${HOST}").text == "db.internal");
  CHECK(expand("http://${HOST}:5432/x").text == "http://db.internal:5432/x");
  CHECK(expand("${HOST}${HOST}").text == "db.internaldb.internal");
  CHECK(expand("${_X1}").text == "x");
  CHECK(expand("${MISSING:-fallback}").text == "fallback");
  CHECK(expand("${MISSING:-}").text.empty());
  CHECK(expand("${MISSING:-http://127.0.0.1:9100}/metrics").text ==
        "http://127.0.0.1:9100/metrics");
  CHECK(expand("${HOST:-other}").text == "db.internal");
  // Like the shell's ":-", an empty value takes the default; plain ${EMPTY} stays empty.
  CHECK(expand("${EMPTY:-d}").text == "d");
  CHECK(expand("${EMPTY}").error.empty());
  CHECK(expand("${EMPTY}").text.empty());
}

TEST_CASE("expand_env escapes and leaves lone dollars alone") {
  CHECK(expand("$$").text == "$");
  CHECK(expand("$${HOST}").text == "${HOST}");
  CHECK(expand("$$$${HOST}").text == "$${HOST}");
  CHECK(expand("price: 5$").text == "price: 5$");
  CHECK(expand("$HOST").text == "$HOST");
  CHECK(expand("a$b").text == "a$b");
  // Values are not expanded again.
  CHECK(expand("${DOLLAR}").text == "a$b${c}");
}

TEST_CASE("expand_env reports unset variables and bad syntax") {
  const auto unset = expand("Bearer ${API_TOKEN}");
  CHECK(unset.error.find("\"API_TOKEN\"") != std::string::npos);
  CHECK(unset.error.find("not set") != std::string::npos);
  CHECK(expand("${HOST").error.find("closing") != std::string::npos);
  CHECK(expand("${}").error.find("does not name") != std::string::npos);
  CHECK(expand("${1A}").error.find("does not name") != std::string::npos);
  CHECK(expand("${A-B}").error.find("does not name") != std::string::npos);
  CHECK(expand("${ HOST }").error.find("does not name") != std::string::npos);
  CHECK(expand("${HOST}").error.empty());
}

TEST_CASE("process_env reads the real environment") {
  ::setenv("WK_CONFIG_TEST_PROCESS_ENV", "value", 1);
  CHECK(wk::config::process_env("WK_CONFIG_TEST_PROCESS_ENV") == "value");
  ::unsetenv("WK_CONFIG_TEST_PROCESS_ENV");
  CHECK_FALSE(wk::config::process_env("WK_CONFIG_TEST_PROCESS_ENV").has_value());
}
