#include <doctest/doctest.h>

#include <string>

#include <rapidjson/document.h>

#include "protocol/gateway/ws_messages.hpp"

using namespace wk::gateway;

TEST_CASE("ws_messages validates UTF-8 strictly") {
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("plain ascii"));
  CHECK(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // 2, 3 and 4 bytes
  CHECK(valid_utf8("\xf4\x8f\xbf\xbf"));                            // U+10FFFF
  CHECK_FALSE(valid_utf8("\xc3\x28"));                              // bad continuation
  CHECK_FALSE(valid_utf8("\xc0\xaf"));                              // overlong '/'
  CHECK_FALSE(valid_utf8("\xe0\x80\xaf"));                          // overlong, 3 bytes
  CHECK_FALSE(valid_utf8("\xed\xa0\x80"));                          // UTF-16 surrogate
  CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));                      // past U+10FFFF
  CHECK_FALSE(valid_utf8("\xe2\x82"));                              // truncated
  CHECK_FALSE(valid_utf8("\xff"));
}

TEST_CASE("ws_messages parses the client messages of the protocol") {
  std::string error;
  auto m = parse_client_message(R"({"type":"subscribe","topics":["health","metrics:api","health"],
                                    "since":12})",
                                &error);
  REQUIRE(m);
  CHECK(m->type == client_message_type::subscribe);
  CHECK(m->topics == std::vector<std::string>{"health", "metrics:api"});  // duplicates dropped
  REQUIRE(m->since);
  CHECK(*m->since == 12);

  m = parse_client_message(R"({"type":"unsubscribe","topics":["alerts"]})", &error);
  REQUIRE(m);
  CHECK(m->type == client_message_type::unsubscribe);

  m = parse_client_message(R"({"type":"ping","id":"a\"b"})", &error);
  REQUIRE(m);
  CHECK(m->id_json == R"("a\"b")");
  rapidjson::Document pong;
  pong.Parse(render_pong(m->id_json, 7).c_str());
  REQUIRE_FALSE(pong.HasParseError());
  CHECK(std::string(pong["id"].GetString()) == "a\"b");
  CHECK(pong["seq"].GetUint64() == 7);

  m = parse_client_message(R"({"type":"auth","token":"t0k"})", &error);
  REQUIRE(m);
  CHECK(m->token == "t0k");
}

TEST_CASE("ws_messages refuses bad messages with a reason") {
  for (const std::string& bad : {
         std::string(""), std::string("{"), std::string("null"), std::string("{}"),
         std::string(R"({"type":1})"), std::string(R"({"type":"subscribe"})"),
         std::string(R"({"type":"subscribe","topics":[]})"),
         std::string(R"({"type":"subscribe","topics":[1]})"),
         std::string(R"({"type":"subscribe","topics":["metrics:"]})"),
         std::string(R"({"type":"subscribe","topics":["metrics:a b"]})"),
         std::string(R"({"type":"subscribe","topics":["health"],"since":"1"})"),
         std::string(R"({"type":"subscribe","topics":["health"],"since":1.5})"),
         std::string(R"({"type":"auth"})"), std::string(R"({"type":"auth","token":""})"),
         std::string(R"({"type":"ping","id":[1]})"),
         std::string(R"({"type":"ping","id":")") + std::string(200, 'x') + "\"}",
         std::string(100000, '{'),
       }) {
    CAPTURE(bad.substr(0, 60));
    std::string error;
    CHECK_FALSE(parse_client_message(bad, &error));
    CHECK_FALSE(error.empty());
  }
  std::string many = R"({"type":"subscribe","topics":[)";
  for (int i = 0; i < 65; ++i)
    many += (i ? ",\"metrics:s" : "\"metrics:s") + std::to_string(i) + "\"";
  many += "]}";
  std::string error;
  CHECK_FALSE(parse_client_message(many, &error));
}

TEST_CASE("ws_messages renders the server messages as JSON") {
  rapidjson::Document d;
  d.Parse(render_hello("0.1.0", 5, {"health", "metrics:a\"b"}, true).c_str());
  REQUIRE_FALSE(d.HasParseError());
  CHECK(std::string(d["topics"][1].GetString()) == "metrics:a\"b");
  CHECK(d["auth_required"].IsTrue());
  d.Parse(render_error("bad_message", "line\nbreak \"quoted\"").c_str());
  REQUIRE_FALSE(d.HasParseError());
  CHECK(std::string(d["detail"].GetString()) == "line\nbreak \"quoted\"");
  d.Parse(render_resync("gap too old", 3, 9).c_str());
  REQUIRE_FALSE(d.HasParseError());
  CHECK(d["oldest"].GetUint64() == 3);
  CHECK(valid_topic("health"));
  CHECK(valid_topic("metrics:checkout-api"));
  CHECK_FALSE(valid_topic("metrics"));
  CHECK_FALSE(valid_topic("Health"));
  CHECK(valid_topic(R"(metrics:api{__name__="up"})"));
  std::string why;
  CHECK_FALSE(valid_topic(R"(metrics:api{__name__=~"("})", &why));
  CHECK(why.find("invalid selector") != std::string::npos);
  std::string error;
  CHECK_FALSE(parse_client_message(R"({"type":"subscribe","topics":["metrics:api{up"]})", &error));
  CHECK(error.find("topic 'metrics:api{up': invalid selector") == 0);
  CHECK_FALSE(parse_client_message(R"({"type":"subscribe","topics":["weather"]})", &error));
  CHECK(error.find("unknown topic 'weather'") == 0);
}
