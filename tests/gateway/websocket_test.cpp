#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>

#include "events/event_hub.hpp"
#include "protocol/gateway/gateway.hpp"
#include "tests/gateway/test_client.hpp"
#include "tests/gateway/ws_client.hpp"

using namespace std::chrono_literals;
using wk::events::event_hub;
using wk::gateway::gateway;
using wk::gateway::gateway_options;
using wk::http::http_request;
using wk::http::http_response;
using wk::http::responder;
namespace tc = wk::gateway::testing;

namespace {

struct ws_server {
  explicit ws_server(gateway_options o = {}, std::shared_ptr<event_hub> h = nullptr)
      : hub(h ? std::move(h) : std::make_shared<event_hub>()), gw(local(std::move(o), hub), ok) {
    std::string error;
    const bool started = gw.start(&error);
    REQUIRE_MESSAGE(started, error);
  }

  static void ok(http_request req, responder respond) {
    respond(http_response{200, "text/plain", "ok " + req.path, {}});
  }

  static gateway_options local(gateway_options o, std::shared_ptr<event_hub> hub) {
    o.bind_address = "127.0.0.1";
    o.port = 0;
    o.websocket.hub = std::move(hub);
    return o;
  }

  std::uint64_t publish(const std::string& topic, int n = 0) {
    return hub->publish(topic, "test", "{\"n\":" + std::to_string(n) + "}", 1000 + n);
  }

  int port() const { return gw.port(); }

  std::shared_ptr<event_hub> hub;
  gateway gw;
};

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

// Connects, reads the hello and subscribes; returns once "subscribed" arrived.
void subscribe(tc::ws_client& c, const std::string& topics, const std::string& extra = "") {
  REQUIRE(c.upgraded());
  REQUIRE(c.next_of_type("hello"));
  REQUIRE(c.send_text(R"({"type":"subscribe","topics":)" + topics + extra + "}"));
  REQUIRE(c.next_of_type("subscribed"));
}

template <typename Predicate>
bool eventually(Predicate p, std::chrono::milliseconds timeout = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (p())
      return true;
    std::this_thread::sleep_for(5ms);
  }
  return p();
}

}  // namespace

TEST_CASE("websocket hello carries the version, the current seq, topics and auth flag") {
  ws_server srv;
  srv.publish("metrics:api");
  srv.publish("health");
  tc::ws_client c(srv.port(), "/ws");
  REQUIRE(c.upgraded());
  const auto hello = c.next_text();
  REQUIRE(hello);
  const auto d = parse(*hello);
  CHECK(std::string(d["type"].GetString()) == "hello");
  CHECK(std::string(d["server"].GetString()) == "watchkeeper");
  CHECK(std::string(d["version"].GetString()) == "0.1.0");
  CHECK(d["seq"].GetUint64() == 2);
  CHECK(d["auth_required"].IsFalse());
  std::vector<std::string> topics;
  for (const auto& t : d["topics"].GetArray())
    topics.emplace_back(t.GetString());
  CHECK(topics == std::vector<std::string>{"services", "health", "alerts", "incidents",
                                           "anomalies", "metrics:api"});
  CHECK(eventually([&] { return srv.gw.get_stats().websocket_clients == 1; }));
}

TEST_CASE("websocket accepts the watchkeeper.v1 subprotocol and echoes it") {
  ws_server srv;
  tc::ws_client c(srv.port(), "/", {"Sec-WebSocket-Protocol: watchkeeper.v1"});
  REQUIRE(c.upgraded());
  CHECK(c.response_head().find("watchkeeper.v1") != std::string::npos);
  CHECK(c.next_of_type("hello"));
  tc::ws_client other(srv.port(), "/", {"Sec-WebSocket-Protocol: mqtt"});
  CHECK_FALSE(other.upgraded());
}

TEST_CASE("websocket delivers subscribed topics only, in seq order, with the event frame") {
  ws_server srv;
  tc::ws_client c(srv.port());
  subscribe(c, R"(["health","metrics:api"])");
  srv.publish("health", 1);
  srv.publish("alerts", 2);  // not subscribed
  srv.publish("metrics:api", 3);
  srv.publish("metrics:db", 4);  // not subscribed
  srv.publish("health", 5);

  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 3; ++i) {
    const auto e = c.next_of_type("event");
    REQUIRE(e);
    const auto d = parse(*e);
    seqs.push_back(d["seq"].GetUint64());
    CHECK(d["ts"].GetInt64() >= 1000);
    CHECK(std::string(d["kind"].GetString()) == "test");
    CHECK(d["data"].HasMember("n"));
    const std::string topic = d["topic"].GetString();
    CHECK((topic == "health" || topic == "metrics:api"));
  }
  CHECK(seqs == std::vector<std::uint64_t>{1, 3, 5});
  CHECK(srv.hub->has_subscribers("metrics:api"));

  REQUIRE(c.send_text(R"({"type":"unsubscribe","topics":["health","metrics:api"]})"));
  REQUIRE(c.next_of_type("unsubscribed"));
  CHECK_FALSE(srv.hub->has_subscribers("metrics:api"));
  srv.publish("health", 6);
  REQUIRE(c.send_text(R"({"type":"ping","id":"after"})"));
  const auto pong = c.next_text();
  REQUIRE(pong);
  CHECK(tc::type_of(*pong) == "pong");  // no event 6 in between
  CHECK(tc::seq_of(*pong) == 6);
}

TEST_CASE("websocket answers ping with the id and the current seq") {
  ws_server srv;
  srv.publish("health");
  tc::ws_client c(srv.port());
  REQUIRE(c.next_of_type("hello"));
  REQUIRE(c.send_text(R"({"type":"ping","id":"x1"})"));
  auto pong = c.next_of_type("pong");
  REQUIRE(pong);
  auto d = parse(*pong);
  CHECK(std::string(d["id"].GetString()) == "x1");
  CHECK(d["seq"].GetUint64() == 1);
  REQUIRE(c.send_text(R"({"type":"ping","id":42})"));
  pong = c.next_of_type("pong");
  REQUIRE(pong);
  CHECK(parse(*pong)["id"].GetInt() == 42);
}

TEST_CASE("websocket resumes with since: replays the missed events of its topics, then live") {
  ws_server srv;
  for (int i = 1; i <= 10; ++i)
    srv.publish(i % 2 ? "health" : "alerts", i);
  tc::ws_client c(srv.port());
  REQUIRE(c.next_of_type("hello"));
  REQUIRE(c.send_text(R"({"type":"subscribe","topics":["health"],"since":4})"));
  const auto subscribed = c.next_text();
  REQUIRE(subscribed);
  CHECK(tc::type_of(*subscribed) == "subscribed");
  CHECK(tc::seq_of(*subscribed) == 10);
  for (const std::uint64_t expected : {5u, 7u, 9u}) {
    const auto e = c.next_text();
    REQUIRE(e);
    CHECK(tc::type_of(*e) == "event");
    CHECK(tc::seq_of(*e) == expected);
  }
  srv.publish("health", 11);
  const auto live = c.next_text();
  REQUIRE(live);
  CHECK(tc::seq_of(*live) == 11);
}

TEST_CASE("websocket replay for a new topic does not repeat events already delivered") {
  ws_server srv;
  tc::ws_client c(srv.port());
  subscribe(c, R"(["health"])");
  srv.publish("alerts", 1);
  srv.publish("health", 2);
  srv.publish("alerts", 3);
  auto e = c.next_text();
  REQUIRE(e);
  CHECK(tc::seq_of(*e) == 2);
  REQUIRE(c.send_text(R"({"type":"subscribe","topics":["alerts"],"since":0})"));
  REQUIRE(c.next_of_type("subscribed"));
  std::vector<std::uint64_t> seqs;
  for (int i = 0; i < 2; ++i) {
    e = c.next_text();
    REQUIRE(e);
    seqs.push_back(tc::seq_of(*e));
  }
  CHECK(seqs == std::vector<std::uint64_t>{1, 3});
  srv.publish("health", 4);
  srv.publish("alerts", 5);
  for (const std::uint64_t expected : {4u, 5u}) {
    e = c.next_text();
    REQUIRE(e);
    CHECK(tc::seq_of(*e) == expected);
  }
  REQUIRE(c.send_text(R"({"type":"ping"})"));
  e = c.next_text();
  REQUIRE(e);
  CHECK(tc::type_of(*e) == "pong");  // nothing duplicated
}

TEST_CASE("websocket replays from the hub past the gateway's window") {
  auto hub = std::make_shared<event_hub>(wk::events::hub_options{50000, 256u << 20});
  ws_server srv({}, hub);
  for (int i = 1; i <= 20000; ++i)
    srv.publish(i % 1000 == 0 ? "incidents" : "metrics:api", i);
  tc::ws_client c(srv.port());
  subscribe(c, R"(["incidents"])", R"(,"since":0)");
  for (std::uint64_t expected = 1000; expected <= 20000; expected += 1000) {
    const auto e = c.next_text();
    REQUIRE(e);
    CHECK(tc::seq_of(*e) == expected);
  }
}

TEST_CASE("websocket tells a client whose since is too old to resync, then streams live") {
  auto hub = std::make_shared<event_hub>(wk::events::hub_options{10, 1 << 20});
  ws_server srv({}, hub);
  for (int i = 1; i <= 30; ++i)
    srv.publish("health", i);
  tc::ws_client c(srv.port());
  REQUIRE(c.next_of_type("hello"));
  REQUIRE(c.send_text(R"({"type":"subscribe","topics":["health"],"since":5})"));
  REQUIRE(c.next_of_type("subscribed"));
  const auto resync = c.next_text();
  REQUIRE(resync);
  const auto d = parse(*resync);
  CHECK(std::string(d["type"].GetString()) == "resync");
  CHECK(std::string(d["reason"].GetString()) == "gap too old");
  CHECK(d["oldest"].GetUint64() == 21);
  CHECK(d["seq"].GetUint64() == 30);
  srv.publish("health", 31);
  const auto live = c.next_text();
  REQUIRE(live);
  CHECK(tc::seq_of(*live) == 31);  // nothing replayed

  tc::ws_client ahead(srv.port());
  REQUIRE(ahead.next_of_type("hello"));
  REQUIRE(ahead.send_text(R"({"type":"subscribe","topics":["health"],"since":9999})"));
  REQUIRE(ahead.next_of_type("subscribed"));
  const auto restarted = ahead.next_text();
  REQUIRE(restarted);
  CHECK(tc::type_of(*restarted) == "resync");
}

TEST_CASE("websocket closes a client that stops reading with 4008; others keep receiving") {
  gateway_options o;
  o.websocket.max_backlog_events = 200;
  ws_server srv(o);
  tc::ws_client slow(srv.port());
  tc::ws_client fast(srv.port());
  subscribe(slow, R"(["metrics:api"])");
  subscribe(fast, R"(["metrics:api"])");

  const std::string blob(4000, 'x');
  std::uint64_t last = 0;
  std::uint64_t fast_seen = 0;
  // The slow client never reads: once the socket buffers fill, its backlog grows to the bound.
  for (int i = 0; i < 20000 && srv.gw.get_stats().ws_slow_closes == 0; ++i) {
    last = srv.hub->publish("metrics:api", "sample", "{\"b\":\"" + blob + "\"}", i);
    while (fast_seen < last) {
      const auto e = fast.next_text();
      REQUIRE(e);
      fast_seen = tc::seq_of(*e);
    }
  }
  CHECK(srv.gw.get_stats().ws_slow_closes == 1);
  // The fast one still gets new events.
  last = srv.publish("metrics:api", 1);
  const auto e = fast.next_of_type("event");
  REQUIRE(e);
  CHECK(tc::seq_of(*e) == last);
  // Reading now drains what was sent, then the close frame.
  CHECK(slow.wait_close(10000ms) == 4008);
  CHECK(eventually([&] { return srv.gw.get_stats().websocket_clients == 1; }));
}

TEST_CASE("websocket closes with 1009 on a message over max_message_bytes") {
  gateway_options o;
  o.websocket.max_message_bytes = 1024;
  ws_server srv(o);
  tc::ws_client c(srv.port());
  REQUIRE(c.next_of_type("hello"));
  REQUIRE(c.send_text(R"({"type":"ping","id":")" + std::string(2000, 'a') + "\"}"));
  CHECK(c.wait_close() == 1009);

  // The same limit holds for a message split into small fragments.
  tc::ws_client d(srv.port());
  REQUIRE(d.next_of_type("hello"));
  REQUIRE(d.send_frame(1, std::string(600, ' '), false));
  REQUIRE(d.send_frame(0, std::string(600, ' '), true));
  CHECK(d.wait_close() == 1009);
}

TEST_CASE("websocket reassembles a fragmented message") {
  ws_server srv;
  tc::ws_client c(srv.port());
  REQUIRE(c.next_of_type("hello"));
  REQUIRE(c.send_frame(1, R"({"type":"pi)", false));
  REQUIRE(c.send_frame(0, R"(ng","id":)", false));
  REQUIRE(c.send_frame(0, R"("frag"})", true));
  const auto pong = c.next_of_type("pong");
  REQUIRE(pong);
  CHECK(pong->find("\"frag\"") != std::string::npos);
}

TEST_CASE("websocket answers malformed messages with an error and keeps the connection") {
  ws_server srv;
  tc::ws_client c(srv.port());
  REQUIRE(c.next_of_type("hello"));
  for (const std::string& bad :
       {std::string("{not json"), std::string("[1,2]"), std::string(R"({"type":"dance"})"),
        std::string(R"({"type":"subscribe","topics":"health"})"),
        std::string(R"({"type":"subscribe","topics":["nope"]})"),
        std::string(R"({"type":"subscribe","topics":["health"],"since":-1})"),
        std::string(R"({"type":"ping","id":{"a":1}})"), std::string(50000, '[')}) {
    REQUIRE(c.send_text(bad));
    const auto reply = c.next_text();
    REQUIRE(reply);
    const auto d = parse(*reply);
    CHECK(std::string(d["type"].GetString()) == "error");
    CHECK(std::string(d["code"].GetString()) == "bad_message");
    CHECK(d["detail"].GetStringLength() > 0);
  }
  REQUIRE(c.send_text(R"({"type":"subscribe","topics":["health"]})"));
  REQUIRE(c.next_of_type("subscribed"));
  const auto seq = srv.publish("health");
  const auto e = c.next_of_type("event");
  REQUIRE(e);
  CHECK(tc::seq_of(*e) == seq);
}

TEST_CASE("websocket answers a binary frame with 'unsupported' and keeps the connection") {
  ws_server srv;
  tc::ws_client c(srv.port());
  REQUIRE(c.next_of_type("hello"));
  REQUIRE(c.send_binary(std::string("\x00\x01\x02", 3)));
  const auto reply = c.next_text();
  REQUIRE(reply);
  CHECK(std::string(parse(*reply)["code"].GetString()) == "unsupported");
  REQUIRE(c.send_text(R"({"type":"ping"})"));
  CHECK(c.next_of_type("pong"));
}

TEST_CASE("websocket closes with 1007 on invalid UTF-8 and 1008 after too many errors") {
  ws_server srv;
  tc::ws_client c(srv.port());
  REQUIRE(c.next_of_type("hello"));
  REQUIRE(c.send_text("{\"type\":\"ping\",\"id\":\"\xc3\x28\"}"));
  CHECK(c.wait_close() == 1007);

  tc::ws_client d(srv.port());
  REQUIRE(d.next_of_type("hello"));
  for (int i = 0; i < 10; ++i)
    REQUIRE(d.send_text("nonsense"));
  CHECK(d.wait_close() == 1008);
}

TEST_CASE("websocket auth: refused without a token, accepted by query, header or message") {
  gateway_options o;
  o.websocket.authorize = [](std::string_view token) { return token == "viewer-token"; };
  o.websocket.auth_timeout = std::chrono::seconds(1);
  ws_server srv(o);

  SUBCASE("subscribe before auth closes with 4001") {
    tc::ws_client c(srv.port());
    const auto hello = c.next_of_type("hello");
    REQUIRE(hello);
    CHECK(parse(*hello)["auth_required"].IsTrue());
    REQUIRE(c.send_text(R"({"type":"subscribe","topics":["health"]})"));
    CHECK(c.wait_close() == 4001);
  }
  SUBCASE("silence past auth_timeout closes with 4001") {
    tc::ws_client c(srv.port());
    REQUIRE(c.next_of_type("hello"));
    const auto start = std::chrono::steady_clock::now();
    CHECK(c.wait_close(5000ms) == 4001);
    CHECK(std::chrono::steady_clock::now() - start >= 800ms);
  }
  SUBCASE("a wrong token closes with 4001") {
    tc::ws_client c(srv.port(), "/?token=wrong");
    REQUIRE(c.upgraded());
    CHECK(c.wait_close() == 4001);
    tc::ws_client d(srv.port());
    REQUIRE(d.next_of_type("hello"));
    REQUIRE(d.send_text(R"({"type":"auth","token":"wrong"})"));
    CHECK(d.wait_close() == 4001);
  }
  SUBCASE("query token") {
    tc::ws_client c(srv.port(), "/ws?token=viewer-token");
    subscribe(c, R"(["health"])");
    const auto seq = srv.publish("health");
    const auto e = c.next_of_type("event");
    REQUIRE(e);
    CHECK(tc::seq_of(*e) == seq);
  }
  SUBCASE("bearer header") {
    tc::ws_client c(srv.port(), "/", {"Authorization: Bearer viewer-token"});
    subscribe(c, R"(["health"])");
  }
  SUBCASE("auth message") {
    tc::ws_client c(srv.port());
    REQUIRE(c.next_of_type("hello"));
    REQUIRE(c.send_text(R"({"type":"auth","token":"viewer-token"})"));
    REQUIRE(c.next_of_type("authenticated"));
    REQUIRE(c.send_text(R"({"type":"subscribe","topics":["alerts"]})"));
    REQUIRE(c.next_of_type("subscribed"));
    std::this_thread::sleep_for(1500ms);  // past auth_timeout: stays open
    const auto seq = srv.publish("alerts");
    const auto e = c.next_of_type("event");
    REQUIRE(e);
    CHECK(tc::seq_of(*e) == seq);
  }
}

TEST_CASE("websocket refuses an Origin outside the allowlist with 403") {
  gateway_options o;
  o.websocket.allowed_origins = {"https://ops.example.com"};
  ws_server srv(o);
  tc::ws_client evil(srv.port(), "/", {"Origin: https://evil.example.com"});
  CHECK(evil.status() == 403);
  tc::ws_client good(srv.port(), "/", {"Origin: https://OPS.example.com"});
  CHECK(good.upgraded());
  tc::ws_client tool(srv.port());  // no Origin: not a browser
  CHECK(tool.upgraded());
}

TEST_CASE("websocket refuses upgrades without a hub with 501, as before") {
  gateway_options o;
  o.bind_address = "127.0.0.1";
  o.port = 0;
  gateway gw(o, ws_server::ok);
  std::string error;
  REQUIRE(gw.start(&error));
  tc::ws_client c(gw.port());
  CHECK(c.status() == 501);
}

TEST_CASE("websocket clients and HTTP share the port") {
  ws_server srv;
  std::vector<std::unique_ptr<tc::ws_client>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<tc::ws_client>(srv.port()));
    subscribe(*clients.back(), R"(["health"])");
  }
  tc::curl_client http;
  for (int i = 0; i < 50; ++i) {
    srv.publish("health", i);
    const auto r = http.perform("GET", "http://127.0.0.1:" + std::to_string(srv.port()) + "/api/x");
    REQUIRE(r.code == CURLE_OK);
    CHECK(r.status == 200);
    CHECK(r.body == "ok /api/x");
  }
  for (auto& c : clients) {
    for (std::uint64_t seq = 1; seq <= 50; ++seq) {
      const auto e = c->next_text();
      REQUIRE(e);
      CHECK(tc::seq_of(*e) == seq);
    }
  }
  CHECK(srv.gw.get_stats().websocket_clients == 20);
}

TEST_CASE("websocket fans every event out to 500 clients, publishing from several threads") {
  gateway_options o;
  SUBCASE("one service thread") { o.service_threads = 1; }
  SUBCASE("three service threads") { o.service_threads = 3; }
  ws_server srv(o);
  constexpr int clients_n = 500;
  std::vector<std::unique_ptr<tc::ws_client>> clients;
  for (int i = 0; i < clients_n; ++i) {
    clients.push_back(std::make_unique<tc::ws_client>(srv.port()));
    subscribe(*clients.back(), R"(["incidents"])");
  }
  constexpr int per_thread = 50;
  std::vector<std::thread> publishers;
  for (int t = 0; t < 4; ++t)
    publishers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i)
        srv.publish("incidents", i);
    });
  for (auto& t : publishers)
    t.join();
  int complete = 0;
  for (auto& c : clients) {
    std::uint64_t expected = 1;
    for (; expected <= 4 * per_thread; ++expected) {
      const auto e = c->next_text();
      if (!e || tc::seq_of(*e) != expected)
        break;
    }
    complete += expected == 4 * per_thread + 1 ? 1 : 0;
  }
  CHECK(complete == clients_n);
  const auto stats = srv.gw.get_stats();
  CHECK(stats.ws_messages_sent >= clients_n * (4 * per_thread + 2));
  // Clients behind the burst got several events per send.
  CHECK(stats.ws_event_writes < clients_n * 4 * per_thread);
  CHECK(stats.open_per_thread.size() == o.service_threads);
  const std::uint64_t even_share = clients_n / o.service_threads;
  for (const auto n : stats.open_per_thread)
    CHECK((n == even_share || n == even_share + 1));
}

TEST_CASE("websocket heartbeat: lws pings a quiet client") {
  gateway_options o;
  o.websocket.ping_interval = std::chrono::seconds(1);
  o.websocket.idle_timeout = std::chrono::seconds(3);
  ws_server srv(o);
  tc::ws_client c(srv.port());
  REQUIRE(c.next_of_type("hello"));
  // next_frame answers pings; the connection outlives several idle timeouts.
  const auto until = std::chrono::steady_clock::now() + 4500ms;
  while (std::chrono::steady_clock::now() < until)
    c.next_frame(200ms);
  CHECK(c.pings_seen() >= 2);
  CHECK_FALSE(c.closed());
  REQUIRE(c.send_text(R"({"type":"ping"})"));
  CHECK(c.next_of_type("pong"));
}

TEST_CASE("websocket drops a client that answers no pings and forgets its subscriptions") {
  gateway_options o;
  o.websocket.ping_interval = std::chrono::seconds(1);
  o.websocket.idle_timeout = std::chrono::seconds(2);
  ws_server srv(o);
  tc::ws_client c(srv.port());
  subscribe(c, R"(["metrics:api"])");
  CHECK(srv.hub->has_subscribers("metrics:api"));
  // Not reading means not answering the server's pings.
  CHECK(eventually([&] { return srv.gw.get_stats().websocket_clients == 0; }, 6000ms));
  CHECK_FALSE(srv.hub->has_subscribers("metrics:api"));
}

TEST_CASE("websocket forgets the subscriptions of a client that disconnects") {
  ws_server srv;
  {
    tc::ws_client c(srv.port());
    subscribe(c, R"(["alerts","metrics:db"])");
    CHECK(srv.hub->has_subscribers("alerts"));
  }
  CHECK(eventually([&] { return srv.gw.get_stats().websocket_clients == 0; }));
  CHECK_FALSE(srv.hub->has_subscribers("alerts"));
  CHECK_FALSE(srv.hub->has_subscribers("metrics:db"));
  srv.publish("alerts");  // nobody to deliver to: nothing breaks
  tc::curl_client http;
  CHECK(http.perform("GET", "http://127.0.0.1:" + std::to_string(srv.port()) + "/").status == 200);
}

TEST_CASE("websocket stop() with clients connected is clean and the hub outlives it") {
  auto hub = std::make_shared<event_hub>();
  {
    ws_server srv({}, hub);
    tc::ws_client c(srv.port());
    subscribe(c, R"(["health"])");
    srv.gw.stop();
    CHECK(c.wait_close(3000ms) >= 0);
  }
  CHECK_FALSE(hub->has_subscribers("health"));
  CHECK(hub->publish("health", "k", "{}", 0) == 1);  // no waker into a dead context
}
