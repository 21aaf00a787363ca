#include <doctest/doctest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "tsdb/matcher.hpp"

using namespace wk::tsdb;

TEST_CASE("matcher: equality and inequality") {
  matcher eq("job", match_op::equal, "node");
  CHECK(eq.matches("node"));
  CHECK_FALSE(eq.matches("nod"));
  CHECK_FALSE(eq.matches(""));
  matcher ne("job", match_op::not_equal, "node");
  CHECK_FALSE(ne.matches("node"));
  CHECK(ne.matches(""));
  CHECK(matcher("job", match_op::equal, "").matches(""));
  CHECK(eq.name() == "job");
  CHECK(eq.op() == match_op::equal);
  CHECK(eq.value() == "node");
  CHECK_THROWS_AS(matcher("", match_op::equal, "x"), std::invalid_argument);
}

TEST_CASE("matcher: regexes are fully anchored") {
  matcher re("path", match_op::regex, "/api/[a-z]+");
  CHECK(re.matches("/api/users"));
  CHECK_FALSE(re.matches("/api/users/1"));
  CHECK_FALSE(re.matches("x/api/users"));
  matcher alt("code", match_op::regex, "2[0-9]{2}|404");
  CHECK(alt.matches("200"));
  CHECK(alt.matches("404"));
  CHECK_FALSE(alt.matches("4040"));
  CHECK_FALSE(alt.matches("2000"));
  CHECK_FALSE(matcher("x", match_op::regex, "").matches("a"));
  CHECK(matcher("x", match_op::regex, "").matches(""));
}

TEST_CASE("matcher: literal alternation, prefix and wildcard fast paths") {
  matcher set("instance", match_op::regex, "10\\.0\\.0\\.1:9100|10\\.0\\.0\\.2:9100|web");
  CHECK(set.matches("10.0.0.1:9100"));
  CHECK(set.matches("web"));
  CHECK_FALSE(set.matches("10x0.0.1:9100"));
  CHECK_FALSE(set.matches("webs"));
  CHECK(matcher("x", match_op::regex, "a|").matches(""));
  matcher prefix("job", match_op::regex, "api-.*");
  CHECK(prefix.matches("api-"));
  CHECK(prefix.matches("api-gateway"));
  CHECK_FALSE(prefix.matches("ap"));
  CHECK_FALSE(prefix.matches("xapi-"));
  matcher any("x", match_op::regex, ".*");
  CHECK(any.matches(""));
  CHECK(any.matches("a\nb"));
  matcher some("x", match_op::regex, ".+");
  CHECK_FALSE(some.matches(""));
  CHECK(some.matches("\n"));
}

TEST_CASE("matcher: dot matches newline and (?i) ignores case, like Prometheus") {
  CHECK(matcher("x", match_op::regex, "a.b").matches("a\nb"));
  CHECK(matcher("x", match_op::regex, "[.]").matches("."));
  CHECK_FALSE(matcher("x", match_op::regex, "[.]").matches("a"));
  matcher icase("method", match_op::regex, "(?i)get|post");
  CHECK(icase.matches("GET"));
  CHECK(icase.matches("Post"));
  CHECK_FALSE(icase.matches("PUT"));
}

TEST_CASE("matcher: the literal-prefix prefilter keeps regex semantics") {
  matcher host("instance", match_op::regex, "host-0001[0-9]\\.prod.*");
  CHECK(host.matches("host-00012.prod.example.com"));
  CHECK_FALSE(host.matches("host-00112.prod.example.com"));
  CHECK_FALSE(host.matches("host-0001"));
  CHECK(matcher("x", match_op::regex, "ab?c").matches("ac"));            // '?' makes the b optional
  CHECK(matcher("x", match_op::regex, "ab*c[0-9]").matches("ac1"));
  CHECK(matcher("x", match_op::regex, "abc|x[yz]").matches("xz"));        // alternation: no common prefix
  CHECK(matcher("x", match_op::regex, "(ab|cd)e[f]").matches("cdef"));
  CHECK(matcher("x", match_op::regex, "a\\.b{2}[c]").matches("a.bbc"));
  CHECK_FALSE(matcher("x", match_op::regex, "a\\.b{2}[c]").matches("a.bc"));
  // A ']' first in a class is a member (RE2), so the '|' after this class is top-level.
  matcher tricky("x", match_op::regex, "ab[](]|c");
  CHECK(tricky.matches("c"));
  CHECK(tricky.matches("ab]"));
  CHECK(tricky.matches("ab("));
  CHECK_FALSE(tricky.matches("ab"));
  CHECK(matcher("x", match_op::regex, "[^]a]b").matches("cb"));
  CHECK_FALSE(matcher("x", match_op::regex, "[^]a]b").matches("]b"));
}

TEST_CASE("matcher: negative regex") {
  matcher nre("env", match_op::not_regex, "prod|staging");
  CHECK_FALSE(nre.matches("prod"));
  CHECK(nre.matches("dev"));
  CHECK(nre.matches(""));
  matcher nre_general("env", match_op::not_regex, "pr[o]d.*");
  CHECK_FALSE(nre_general.matches("prod-eu"));
  CHECK(nre_general.matches("dev"));
}

TEST_CASE("matcher: bad regexes are rejected with invalid_argument") {
  CHECK_THROWS_AS(matcher("x", match_op::regex, "("), std::invalid_argument);
  CHECK_THROWS_AS(matcher("x", match_op::regex, "[a-"), std::invalid_argument);
  CHECK_THROWS_AS(matcher("x", match_op::not_regex, "a\\"), std::invalid_argument);
  CHECK_THROWS_AS(matcher("x", match_op::regex, "(a)\\1"), std::invalid_argument);  // back-references: not RE2
  CHECK_THROWS_AS(matcher("x", match_op::regex, std::string(100, '(') + "a" + std::string(100, ')')),
                  std::invalid_argument);
  CHECK_THROWS_AS(matcher("x", match_op::regex, "[a]" + std::string(matcher::max_regex_length, 'b')),
                  std::invalid_argument);
  CHECK_THROWS_AS(matcher("x", match_op::regex, "((a{100}){100}){100}"), std::invalid_argument);
  // An equality matcher takes any value literally.
  CHECK_NOTHROW(matcher("x", match_op::equal, "("));
}

TEST_CASE("matcher: hostile values cannot blow the stack or the clock") {
  auto start = std::chrono::steady_clock::now();
  std::string long_value(200000, 'a');
  CHECK_FALSE(matcher("x", match_op::regex, "(a|b)*c").matches(long_value));
  CHECK(matcher("x", match_op::regex, "(a|b)*").matches(long_value));
  // Classic catastrophic backtracking for a backtracking engine.
  CHECK_FALSE(matcher("x", match_op::regex, "(a*)*b").matches(std::string(40, 'a')));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
}
