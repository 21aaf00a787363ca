#include <doctest/doctest.h>

#include <chrono>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "oncall/config.hpp"
#include "protocol/rest/silence_json.hpp"
#include "silences/maintenance.hpp"

using namespace wk::rest;
using wk::oncall::parse_rfc3339_ms;

namespace {

constexpr std::int64_t now = 1767225600000;  // 2026-01-01T00:00:00Z

// The detail of a refused body; fails when the body is accepted.
std::string refused(std::string_view body) {
  std::string detail;
  auto req = parse_silence_request(body, now, &detail);
  CHECK_MESSAGE(!req, body);
  CHECK_FALSE(detail.empty());
  return detail;
}

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  REQUIRE_MESSAGE(!d.HasParseError(), json);
  return d;
}

}  // namespace

TEST_CASE("silence_json: a full request and its defaults") {
  std::string detail;
  auto req = parse_silence_request(
      R"({"matchers":["service=\"db\"","{severity=~\"crit.*\", env!=\"dev\"}"],)"
      R"("starts_at":"2026-01-02T00:00:00+01:00","ends_at":1767398400000,"comment":"migration ✓"})",
      now, &detail);
  CAPTURE(detail);
  REQUIRE(req);
  REQUIRE(req->matchers.size() == 3);
  CHECK(req->matchers[1].str() == "severity=~\"crit.*\"");
  CHECK(req->starts_at_ms == *parse_rfc3339_ms("2026-01-01T23:00:00Z"));
  CHECK(req->ends_at_ms == 1767398400000);
  CHECK(req->comment == "migration ✓");

  req = parse_silence_request(R"({"matchers":["a=\"b\""],"ends_at":"2026-01-01T01:00:00Z","starts_at":null,"comment":null})",
                              now, nullptr);
  REQUIRE(req);
  CHECK(req->starts_at_ms == now);
  CHECK(req->comment.empty());
}

TEST_CASE("silence_json: each refusal has its precise detail") {
  CHECK(refused("") == "body is not valid JSON at offset 0: The document is empty.");
  CHECK(refused(R"({"matchers": [})") .find("body is not valid JSON at offset 14: ") == 0);
  CHECK(refused(R"({} {})").find("body is not valid JSON at offset 3: ") == 0);
  CHECK(refused("{\"comment\":\"\xff\"}").find("body is not valid JSON at offset 12: ") == 0);
  CHECK(refused("[1]") == "body must be a JSON object");
  CHECK(refused(R"({"matchers":["a=\"b\""],"ends_at":1767398400000,"x":1})") ==
        "unknown field \"x\" (expected matchers, starts_at, ends_at, comment)");
  CHECK(refused(R"({"matchers":["a=\"b\""],"ends_at":1767398400000,"ends_at":1767398400001})") ==
        "duplicate field \"ends_at\"");
  CHECK(refused(R"({"ends_at":1767398400000})") == "matchers is required");
  CHECK(refused(R"({"matchers":[],"ends_at":1767398400000})") ==
        "matchers must contain at least one matcher");
  CHECK(refused(R"({"matchers":"a=b","ends_at":1767398400000})") ==
        "matchers must be an array of strings");
  CHECK(refused(R"({"matchers":["a=\"b\"",7],"ends_at":1767398400000})") ==
        "matchers[1] must be a string like service=\"db\"");
  CHECK(refused(R"({"matchers":["a=\"b\"","a=~\"(x\""],"ends_at":1767398400000})")
            .find("matchers[1]: invalid regex for a (POSIX extended syntax): ") == 0);
  CHECK(refused(R"({"matchers":["a=\"b\"","1a=\"x\""],"ends_at":1767398400000})")
            .find("matchers[1]: ") == 0);
  CHECK(refused(R"({"matchers":["a=\"b\""]})") == "ends_at is required");
  CHECK(refused(R"({"matchers":["a=\"b\""],"starts_at":1767398400000,"ends_at":1767398400000})") ==
        "ends_at must be after starts_at");
  CHECK(refused(R"({"matchers":["a=\"b\""],"starts_at":0,"ends_at":1000})") ==
        "ends_at is in the past");
  CHECK(refused(R"({"matchers":["a=\"b\""],"ends_at":"tomorrow"})") ==
        "ends_at is not an RFC 3339 time (e.g. 2026-01-05T09:00:00Z): \"tomorrow\"");
  CHECK(refused(R"({"matchers":["a=\"b\""],"ends_at":1.5e12})") ==
        "ends_at must be an integer of unix milliseconds or an RFC 3339 string");
  CHECK(refused(R"({"matchers":["a=\"b\""],"ends_at":true})") ==
        "ends_at must be an integer of unix milliseconds or an RFC 3339 string");
  CHECK(refused(R"({"matchers":["a=\"b\""],"ends_at":18446744073709551615})") ==
        "ends_at must be an integer of unix milliseconds or an RFC 3339 string");
  CHECK(refused(R"({"matchers":["a=\"b\""],"ends_at":9223372036854775807})") ==
        "ends_at is outside years 0000-9999");
  CHECK(refused(R"({"matchers":["a=\"b\""],"starts_at":-9223372036854775808,"ends_at":1767398400000})") ==
        "starts_at is outside years 0000-9999");
  CHECK(refused(R"({"matchers":["a=\"b\""],"ends_at":1767398400000,"comment":5})") ==
        "comment must be a string");
  CHECK(refused(R"({"matchers":["env=~\".*\"","team!=\"x\""],"ends_at":1767398400000})")
            .find("every matcher matches an empty label") == 0);
  CHECK(refused(R"({"matchers":["env=\"\""],"ends_at":1767398400000})")
            .find("every matcher matches an empty label") == 0);
}

TEST_CASE("silence_json: limits on comment, matchers, body and nesting") {
  std::string ok_comment(1000, 'x');
  std::string body = R"({"matchers":["a=\"b\""],"ends_at":1767398400000,"comment":")";
  CHECK(parse_silence_request(body + ok_comment + "\"}", now, nullptr));
  // 1000 characters, not bytes: 1000 two-byte characters pass, 1001 do not.
  std::string umlauts;
  for (int i = 0; i < 1000; ++i)
    umlauts += "ä";
  CHECK(parse_silence_request(body + umlauts + "\"}", now, nullptr));
  CHECK(refused(body + umlauts + "x\"}") == "comment is longer than 1000 characters");

  std::string fifty = R"({"ends_at":1767398400000,"matchers":[)";
  for (int i = 0; i < 50; ++i)
    fifty += std::string(i ? "," : "") + "\"l" + std::to_string(i) + "=\\\"v\\\"\"";
  CHECK(parse_silence_request(fifty + "]}", now, nullptr));
  CHECK(refused(fifty + ",\"x=\\\"y\\\"\"]}") == "matchers: at most 50 matchers (got 51)");
  std::string braced = R"({"ends_at":1767398400000,"matchers":["{a=\"1\",b=\"2\"}")";
  for (int i = 0; i < 49; ++i)
    braced += ",\"l" + std::to_string(i) + "=\\\"v\\\"\"";
  CHECK(refused(braced + "]}") == "matchers: at most 50 matchers, braced lists included");

  std::string many = R"({"ends_at":1767398400000,"matchers":[)";
  for (int i = 0; i < 10000; ++i)
    many += std::string(i ? "," : "") + "\"l=~\\\"(a|b)*c\\\"\"";
  auto t0 = std::chrono::steady_clock::now();
  CHECK(refused(many + "]}") == "matchers: at most 50 matchers (got 10000)");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500));

  CHECK(refused(std::string(max_silence_body_bytes + 1, ' ')) ==
        "body is larger than 1048576 bytes");
  // Deep nesting is parsed iteratively: an error, never a stack overflow.
  std::string deep(400000, '[');
  CHECK(refused(deep).find("body is not valid JSON at offset 400000") == 0);
  std::string deep_field = R"({"matchers":["a=\"b\""],"ends_at":1767398400000,"comment":)" +
                           std::string(200000, '[') + std::string(200000, ']') + "}";
  CHECK(refused(deep_field) == "comment must be a string");

  // Huge echoed values are cut.
  std::string long_name(100000, 'k');
  CHECK(refused("{\"" + long_name + "\":1}").size() < 600);
  CHECK(refused(R"({"matchers":["a=\"b\""],"ends_at":")" + long_name + "\"}").size() < 600);
  CHECK(refused(R"({"matchers":["a=~\"()" + long_name + R"(\""],"ends_at":1767398400000})").size() < 600);
}

TEST_CASE("silence_json: regexes that would stall regcomp or regexec are refused before compiling") {
  auto t0 = std::chrono::steady_clock::now();
  CHECK(refused(R"({"matchers":["a=~\"((x{1,255}){1,255}){1,255}\""],"ends_at":1767398400000})") ==
        "matchers[0]: regex for a: repetition counts multiply to more than 100; use * or + "
        "instead in \"a=~\"((x{1,255}){1,255}){1,255}\"\"");
  CHECK(refused(R"({"matchers":["a=\"b\"","a=~\"x{32767}\""],"ends_at":1767398400000})") ==
        "matchers[1]: regex for a: repetition counts multiply to more than 100; use * or + "
        "instead in \"a=~\"x{32767}\"\"");
  CHECK(refused(R"({"matchers":["a=~\"x{99999999999999999999,}\""],"ends_at":1767398400000})")
            .find("matchers[0]: regex for a: repetition") == 0);
  CHECK(refused(R"({"matchers":["a=~\"(x*)*\\\\1\""],"ends_at":1767398400000})") ==
        "matchers[0]: regex for a: back-references (\\1 ... \\9) are not allowed in "
        "\"a=~\"(x*)*\\\\1\"\"");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(200));
  // Small counts, braced lists and equality entries with braces stay allowed.
  CHECK(parse_silence_request(R"({"matchers":["{a=~\"x{2,5}(ab){1,10}\", c=\"d\"}","b=\"{1000}\""],"ends_at":1767398400000})",
                              now, nullptr));
}

TEST_CASE("silence_json: render and parse round-trip") {
  std::string detail;
  auto req = parse_silence_request(
      R"({"matchers":["service=~\"db|cache\"","path=\"/a\\\"b\\\\c\\n\"","env!~\"dev.*\""],)"
      R"("starts_at":1767229200000,"ends_at":"2026-01-02T00:00:00.250Z","comment":"\"quoted\" ✓"})",
      now, &detail);
  CAPTURE(detail);
  REQUIRE(req);
  wk::silences::silence s;
  s.id = "0123456789abcdef0123456789abcdef";
  s.matchers = req->matchers;
  s.starts_at_ms = req->starts_at_ms;
  s.ends_at_ms = req->ends_at_ms;
  s.comment = req->comment;
  s.created_by = "ci-token";
  s.created_at_ms = now;

  auto one = parse(silence_json(s, now));
  CHECK(one["id"].GetString() == s.id);
  CHECK(std::string(one["state"].GetString()) == "pending");
  CHECK_FALSE(one["active"].GetBool());
  CHECK(std::string(one["source"].GetString()) == "api");
  CHECK(std::string(one["created_by"].GetString()) == "ci-token");
  CHECK(one["created_at_ms"].GetInt64() == now);

  // Rebuild a request from the rendered object: the same silence comes back.
  rapidjson::Document rebuilt;
  rebuilt.SetObject();
  auto& alloc = rebuilt.GetAllocator();
  rebuilt.AddMember("matchers", rapidjson::Value(one["matchers"], alloc), alloc);
  rebuilt.AddMember("starts_at", one["starts_at_ms"].GetInt64(), alloc);
  rebuilt.AddMember("ends_at", one["ends_at_ms"].GetInt64(), alloc);
  rebuilt.AddMember("comment", rapidjson::Value(one["comment"], alloc), alloc);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  rebuilt.Accept(w);
  auto again = parse_silence_request(buffer.GetString(), now, &detail);
  CAPTURE(buffer.GetString());
  REQUIRE(again);
  REQUIRE(again->matchers.size() == req->matchers.size());
  for (std::size_t i = 0; i < req->matchers.size(); ++i)
    CHECK(again->matchers[i].str() == req->matchers[i].str());
  CHECK(again->matchers[1].value() == "/a\"b\\c\n");
  CHECK(again->starts_at_ms == req->starts_at_ms);
  CHECK(again->ends_at_ms == req->ends_at_ms);
  CHECK(again->comment == req->comment);

  auto list = parse(silences_json({s, s}, s.starts_at_ms));
  REQUIRE(list["silences"].Size() == 2);
  CHECK(list["silences"][1]["active"].GetBool());
  CHECK(std::string(list["silences"][1]["state"].GetString()) == "active");
  CHECK(std::string(parse(silence_json(s, s.ends_at_ms))["state"].GetString()) == "expired");
  CHECK(parse(silences_json({}, now))["silences"].Size() == 0);

  // Broken UTF-8 from a stored record still renders valid JSON.
  s.comment = "bad \xff\xfe bytes";
  parse(silence_json(s, now));
}

TEST_CASE("silence_json: maintenance windows with active and next_start_ms") {
  wk::silences::maintenance_window w;
  w.name = "sunday-patch";
  REQUIRE(!wk::notify::parse_matchers("service=~\"db|cache\"", w.matchers));
  w.repeat = wk::silences::maintenance_window::recurrence::weekly;
  w.start_ms = *parse_rfc3339_ms("2026-01-04T01:00:00Z");
  w.duration_ms = 2 * 3600000;
  w.time_zone = "Europe/Berlin";
  wk::silences::maintenance_window once;
  once.name = "once";
  once.start_ms = *parse_rfc3339_ms("2026-01-10T00:00:00Z");
  once.duration_ms = 3600000;
  once.until_ms = *parse_rfc3339_ms("2026-02-01T00:00:00Z");

  auto d = parse(maintenance_json({w, once}, *parse_rfc3339_ms("2026-01-11T01:30:00Z")));
  const auto& list = d["maintenance_windows"];
  REQUIRE(list.Size() == 2);
  CHECK(std::string(list[0]["name"].GetString()) == "sunday-patch");
  CHECK(std::string(list[0]["matchers"][0].GetString()) == "service=~\"db|cache\"");
  CHECK(std::string(list[0]["repeat"].GetString()) == "weekly");
  CHECK(std::string(list[0]["time_zone"].GetString()) == "Europe/Berlin");
  CHECK(list[0]["duration_ms"].GetInt64() == 7200000);
  CHECK(list[0]["until_ms"].IsNull());
  CHECK(list[0]["active"].GetBool());
  CHECK(list[0]["current_end_ms"].GetInt64() == *parse_rfc3339_ms("2026-01-11T03:00:00Z"));
  CHECK(list[0]["next_start_ms"].GetInt64() == *parse_rfc3339_ms("2026-01-18T01:00:00Z"));
  CHECK(std::string(list[1]["repeat"].GetString()) == "none");
  CHECK_FALSE(list[1]["active"].GetBool());
  CHECK(list[1]["current_end_ms"].IsNull());
  CHECK(list[1]["next_start_ms"].IsNull());
  CHECK(list[1]["until_ms"].GetInt64() == *parse_rfc3339_ms("2026-02-01T00:00:00Z"));
  CHECK(list[1]["matchers"].Size() == 0);
}
