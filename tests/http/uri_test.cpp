#include <doctest/doctest.h>

#include <string>

#include "protocol/http/uri.hpp"

using namespace wk::http;

TEST_CASE("percent_decode decodes escapes in either case and keeps '+'") {
  CHECK(percent_decode("a%20b") == "a b");
  CHECK(percent_decode("%2f%2F") == "//");
  CHECK(percent_decode("a+b") == "a+b");
  CHECK(percent_decode("") == "");
  CHECK(percent_decode("%00") == std::string(1, '\0'));
  CHECK(percent_decode("caf%C3%A9") == "caf\xc3\xa9");
}

TEST_CASE("percent_decode rejects malformed escapes") {
  CHECK_FALSE(percent_decode("%").has_value());
  CHECK_FALSE(percent_decode("%4").has_value());
  CHECK_FALSE(percent_decode("abc%").has_value());
  CHECK_FALSE(percent_decode("%zz").has_value());
  CHECK_FALSE(percent_decode("%4g").has_value());
}

TEST_CASE("percent_encode leaves unreserved characters and round-trips everything else") {
  CHECK(percent_encode("AZaz09-._~") == "AZaz09-._~");
  CHECK(percent_encode("a b&c=d+e/f?") == "a%20b%26c%3Dd%2Be%2Ff%3F");
  std::string all;
  for (int c = 0; c < 256; ++c)
    all += static_cast<char>(c);
  CHECK(percent_decode(percent_encode(all)) == all);
}

TEST_CASE("parse_query splits pairs and decodes form encoding") {
  auto q = parse_query("a=1&b=x+y&c&d=&e=%26%3D%2B&f=caf%C3%A9");
  CHECK(q.size() == 6);
  CHECK(q["a"] == "1");
  CHECK(q["b"] == "x y");
  CHECK(q["c"] == "");
  CHECK(q["d"] == "");
  CHECK(q["e"] == "&=+");
  CHECK(q["f"] == "caf\xc3\xa9");
}

TEST_CASE("parse_query keeps the first of repeated keys and skips empty pairs and keys") {
  auto q = parse_query("&&a=1&a=2&=x&&b%20c=3=4&");
  CHECK(q.size() == 2);
  CHECK(q["a"] == "1");
  CHECK(q["b c"] == "3=4");
}

TEST_CASE("parse_query keeps malformed escapes literally") {
  auto q = parse_query("a=%zz&b=%4&c=100%");
  CHECK(q["a"] == "%zz");
  CHECK(q["b"] == "%4");
  CHECK(q["c"] == "100%");
}

TEST_CASE("parse_query of percent_encode'd pairs gives back the original values") {
  const std::string key = "na me&=";
  const std::string value = "v+a l=u&e%";
  auto q = parse_query(percent_encode(key) + "=" + percent_encode(value));
  CHECK(q.size() == 1);
  CHECK(q[key] == value);
  CHECK(parse_query("").empty());
}
