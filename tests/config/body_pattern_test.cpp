#include <doctest/doctest.h>

#include <chrono>

#include "config/body_pattern.hpp"

using wk::config::body_pattern;

TEST_CASE("body patterns use POSIX extended syntax with GNU escapes") {
  auto p = body_pattern::compile(R"("status":\s*"up")", nullptr);
  REQUIRE(p);
  CHECK(p->search(R"({"status": "up"})"));
  CHECK_FALSE(p->search(R"({"status": "down"})"));
  auto anchored = body_pattern::compile("^ok$", nullptr);
  REQUIRE(anchored);
  CHECK(anchored->search("ok"));
  CHECK_FALSE(anchored->search("not ok"));
}

TEST_CASE("a pattern that does not compile says why") {
  std::string why;
  CHECK_FALSE(body_pattern::compile("([a-z", &why));
  CHECK_FALSE(why.empty());
}

TEST_CASE("matching sees the whole text, NUL bytes included, and stays fast on hostile input") {
  auto p = body_pattern::compile("after", nullptr);
  REQUIRE(p);
  std::string with_nul("before\0after", 12);
  CHECK(p->search(with_nul));
  auto nasty = body_pattern::compile("(a|b)*c", nullptr);
  REQUIRE(nasty);
  auto started = std::chrono::steady_clock::now();
  CHECK_FALSE(nasty->search(std::string(4'000'000, 'a')));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
}
