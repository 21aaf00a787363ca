#include "persistence/text_check.hpp"

#include <doctest/doctest.h>

#include <string>

using wk::persistence::labels_problem;
using wk::persistence::text_problem;

TEST_CASE("text_problem accepts UTF-8 and rejects what PostgreSQL text cannot hold") {
  CHECK(text_problem("").empty());
  CHECK(text_problem("http_requests_total").empty());
  CHECK(text_problem("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9D\x84\x9E").empty());  // é € 𝄞

  CHECK(text_problem(std::string("a\0b", 3)) == "contains a NUL byte at offset 1");
  CHECK(text_problem("ab\xFF") == "is not valid UTF-8 at offset 2");
  CHECK(text_problem("\xC0\xAF").find("is not valid UTF-8") == 0);            // overlong '/'
  CHECK(text_problem("\xE0\x80\xAF").find("is not valid UTF-8") == 0);        // overlong
  CHECK(text_problem("\xED\xA0\x80").find("is not valid UTF-8") == 0);        // surrogate D800
  CHECK(text_problem("\xF4\x90\x80\x80").find("is not valid UTF-8") == 0);    // > U+10FFFF
  CHECK(text_problem("x\xE2\x82").find("at offset 1") != std::string::npos);  // truncated
  CHECK(text_problem("\x80").find("is not valid UTF-8") == 0);                // lone continuation
}

TEST_CASE("labels_problem accepts flat objects of strings only") {
  CHECK(labels_problem("{}").empty());
  CHECK(labels_problem(R"({"job":"api","path":"/a\"b\\c","u":"\u00e9"})").empty());
  CHECK(labels_problem(" {\"a\":\"b\"}\n").empty());

  CHECK(labels_problem("").find("is not valid JSON") == 0);
  CHECK(labels_problem("{\"a\":").find("is not valid JSON") == 0);
  CHECK(labels_problem("{} x").find("is not valid JSON") == 0);
  CHECK(labels_problem("[]") == "is not a JSON object");
  CHECK(labels_problem("\"a\"") == "is not a JSON object");
  CHECK(labels_problem(R"({"a":1})") == "label \"a\" is not a string");
  CHECK(labels_problem(R"({"a":{"b":"c"}})") == "label \"a\" is not a string");
  CHECK(labels_problem(R"({"a":"x\u0000y"})") == "label \"a\" contains U+0000");
  CHECK(labels_problem(R"({"a\u0000":"x"})") == "has a label name containing U+0000");
  CHECK(labels_problem("{\"a\":\"\xFF\"}").find("is not valid JSON") == 0);
  CHECK(labels_problem(R"({"a":"\ud800"})").find("is not valid JSON") == 0);
  CHECK(labels_problem("{\"a\":\"line\nbreak\"}").find("is not valid JSON") == 0);
  CHECK(labels_problem(std::string("{\"a\":\"x\0y\"}", 11)).find("is not valid JSON") == 0);
}

TEST_CASE("labels_problem survives hostile nesting and keeps messages short") {
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  CHECK(labels_problem(deep) == "is not a JSON object");
  const std::string long_name(10'000, 'n');
  const std::string why = labels_problem("{\"" + long_name + "\":2}");
  CHECK(why.find("is not a string") != std::string::npos);
  CHECK(why.size() < 100);
}
