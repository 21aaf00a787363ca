#include <doctest/doctest.h>

#include <string>

#include <rapidjson/document.h>

#include "protocol/http/http_types.hpp"

using namespace wk::http;

namespace {

rapidjson::Document parse_json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  REQUIRE_MESSAGE(!doc.HasParseError(), "not JSON: " << text);
  return doc;
}

http_request with_authorization(std::string value) {
  http_request r;
  r.headers.push_back({"authorization", std::move(value)});
  return r;
}

}  // namespace

TEST_CASE("problem renders RFC 9457 JSON with the four members") {
  auto r = problem(404, "Not Found", "no service \"db\"\nhere");
  CHECK(r.status == 404);
  CHECK(r.content_type == "application/problem+json");
  auto doc = parse_json(r.body);
  REQUIRE(doc.IsObject());
  CHECK(doc.MemberCount() == 4);
  CHECK(std::string(doc["type"].GetString()) == "about:blank");
  CHECK(std::string(doc["title"].GetString()) == "Not Found");
  CHECK(doc["status"].GetInt() == 404);
  CHECK(std::string(doc["detail"].GetString()) == "no service \"db\"\nhere");
}

TEST_CASE("problem stays valid JSON for hostile detail text") {
  std::string detail = "bad \xff\xfe bytes \x01 and \xc3\x28 and \xed\xa0\x80 and \xf4\x90\x80\x80";
  auto doc = parse_json(problem(400, "Bad Request", detail).body);
  const std::string got = doc["detail"].GetString();
  CHECK(got.find('\x01') != std::string::npos);          // control characters survive, escaped
  CHECK(got.find("\xef\xbf\xbd") != std::string::npos);  // invalid UTF-8 became U+FFFD
}

TEST_CASE("json_escape escapes quotes, backslashes and controls and keeps valid UTF-8") {
  CHECK(json_escape("plain") == "plain");
  CHECK(json_escape("a\"b\\c") == "a\\\"b\\\\c");
  CHECK(json_escape("\n\r\t\b\f") == "\\n\\r\\t\\b\\f");
  CHECK(json_escape(std::string("\x00\x1f", 2)) == "\\u0000\\u001f");
  CHECK(json_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80") ==
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80");
  CHECK(json_escape("\xc0\xaf") == "\\ufffd\\ufffd");  // overlong '/'
  CHECK(json_escape("\xe2\x82") == "\\ufffd\\ufffd");  // truncated sequence
}

TEST_CASE("json_response keeps the body and defaults to application/json") {
  auto r = json_response(201, "{\"ok\":true}");
  CHECK(r.status == 201);
  CHECK(r.content_type == "application/json");
  CHECK(r.body == "{\"ok\":true}");
}

TEST_CASE("header_value finds the first header by lower-case name") {
  http_request r;
  r.headers = {{"accept", "a"}, {"x-request-id", "1"}, {"accept", "b"}};
  CHECK(r.header_value("accept") == "a");
  CHECK(r.header_value("x-request-id") == "1");
  CHECK(r.header_value("missing").empty());
}

TEST_CASE("bearer_token accepts the scheme case-insensitively and returns the token") {
  CHECK(bearer_token(with_authorization("Bearer abc.DEF-123_~+/==")) == "abc.DEF-123_~+/==");
  CHECK(bearer_token(with_authorization("bearer  tok ")) == "tok");
  CHECK(bearer_token(with_authorization("BEARER\ttok")) == "tok");
}

TEST_CASE("bearer_token rejects absent, other schemes and malformed tokens") {
  CHECK_FALSE(bearer_token(http_request{}).has_value());
  CHECK_FALSE(bearer_token(with_authorization("")).has_value());
  CHECK_FALSE(bearer_token(with_authorization("Basic dXNlcjpwYXNz")).has_value());
  CHECK_FALSE(bearer_token(with_authorization("Bearer")).has_value());
  CHECK_FALSE(bearer_token(with_authorization("Bearer ")).has_value());
  CHECK_FALSE(bearer_token(with_authorization("Bearertok")).has_value());
  CHECK_FALSE(bearer_token(with_authorization("Bearer two tokens")).has_value());
  CHECK_FALSE(bearer_token(with_authorization("Bearer =abc")).has_value());
  CHECK_FALSE(bearer_token(with_authorization("Bearer abc=def")).has_value());
  CHECK_FALSE(bearer_token(with_authorization("Bearer t\xc3\xa9")).has_value());
}
