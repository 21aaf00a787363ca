#include <doctest/doctest.h>

#include <string>

#include <rapidjson/document.h>

#include "protocol/rest/json_string.hpp"

namespace {

// {"<key>": "<value>"} written with write_string in both places.
std::string object_of(const std::string& key, const std::string& value) {
  rapidjson::StringBuffer sb;
  wk::rest::json_writer w(sb);
  w.StartObject();
  wk::rest::write_string(w, key);
  wk::rest::write_string(w, value);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace

TEST_CASE("write_string: invalid UTF-8 becomes U+FFFD, valid text and escapes survive") {
  CHECK(object_of("k", "plain \"q\" \\ \n") == R"({"k":"plain \"q\" \\ \n"})");
  const std::string doc = object_of("lab\xFFl", "Z\xC3\xBCrich \xF0\x9F\x94\xA5 bad\xC3(");
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag>(doc.c_str(), doc.size());
  REQUIRE_FALSE(d.HasParseError());
  REQUIRE(d.HasMember("lab\xEF\xBF\xBDl"));
  CHECK(std::string(d["lab\xEF\xBF\xBDl"].GetString()) ==
        "Z\xC3\xBCrich \xF0\x9F\x94\xA5 bad\xEF\xBF\xBD(");
}
