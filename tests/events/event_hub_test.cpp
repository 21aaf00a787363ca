#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>

#include "events/event_hub.hpp"

using wk::events::event_hub;
using wk::events::hub_options;

TEST_CASE("event_hub assigns monotonic seqs and renders each frame once as JSON") {
  event_hub hub;
  CHECK(hub.last_seq() == 0);
  CHECK(hub.oldest_seq() == 0);
  CHECK(hub.publish("health", "service_health", R"({"service":"api","up":false})", 1700) == 1);
  CHECK(hub.publish("alerts", "fired", "{}", 1701) == 2);
  CHECK(hub.last_seq() == 2);
  CHECK(hub.oldest_seq() == 1);

  bool gap = true;
  const auto events = hub.read_after(0, 10, &gap);
  CHECK_FALSE(gap);
  REQUIRE(events.size() == 2);
  rapidjson::Document d;
  d.Parse(events[0].frame->c_str());
  REQUIRE_FALSE(d.HasParseError());
  CHECK(std::string(d["type"].GetString()) == "event");
  CHECK(d["seq"].GetUint64() == 1);
  CHECK(d["ts"].GetInt64() == 1700);
  CHECK(std::string(d["topic"].GetString()) == "health");
  CHECK(std::string(d["kind"].GetString()) == "service_health");
  CHECK(std::string(d["data"]["service"].GetString()) == "api");
  CHECK(d["data"]["up"].IsFalse());

  // Readers share the frame rather than copying it.
  const auto again = hub.read_shared_after(0, 1, nullptr);
  REQUIRE(again.size() == 1);
  CHECK(again[0]->frame.get() == events[0].frame.get());
}

TEST_CASE("event_hub escapes topic and kind and refuses bad input without publishing") {
  event_hub hub;
  hub.publish("metrics:a\"b", "k\n", R"({"x":1})", 0);
  rapidjson::Document d;
  d.Parse(hub.read_after(0, 1, nullptr)[0].frame->c_str());
  REQUIRE_FALSE(d.HasParseError());
  CHECK(std::string(d["topic"].GetString()) == "metrics:a\"b");

  CHECK_THROWS_AS(hub.publish("health", "k", "{", 0), std::invalid_argument);
  CHECK_THROWS_AS(hub.publish("health", "k", "[1,2]", 0), std::invalid_argument);
  CHECK_THROWS_AS(hub.publish("health", "k", "{} {}", 0), std::invalid_argument);
  CHECK_THROWS_AS(hub.publish("health", "k", "", 0), std::invalid_argument);
  CHECK_THROWS_AS(hub.publish("health", "k", std::string("{}\0x", 4), 0), std::invalid_argument);
  CHECK_THROWS_AS(hub.publish("health", "k", "{\"a\":\"\xff\"}", 0), std::invalid_argument);
  CHECK_THROWS_AS(hub.publish("", "k", "{}", 0), std::invalid_argument);
  CHECK_THROWS_AS(hub.publish(std::string(300, 't'), "k", "{}", 0), std::invalid_argument);
  CHECK_THROWS_AS(hub.publish("health", "", "{}", 0), std::invalid_argument);
  CHECK(hub.last_seq() == 1);
}

TEST_CASE("event_hub seqs stay unique and in ring order under concurrent publishers") {
  event_hub hub({100000, 256u << 20});
  std::atomic<int> wakes{0};
  hub.set_waker([&] { ++wakes; });
  constexpr int threads = 4;
  constexpr int per_thread = 5000;
  std::vector<std::thread> pool;
  std::vector<std::vector<std::uint64_t>> seen(threads);
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      std::uint64_t previous = 0;
      for (int i = 0; i < per_thread; ++i) {
        const auto seq =
          hub.publish("t" + std::to_string(t), "k", "{\"i\":" + std::to_string(i) + "}", i);
        CHECK(seq > previous);  // monotonic as seen by each publisher
        previous = seq;
        seen[t].push_back(seq);
      }
    });
  for (auto& th : pool)
    th.join();
  CHECK(hub.last_seq() == threads * per_thread);
  CHECK(wakes.load() == threads * per_thread);
  std::set<std::uint64_t> all;
  for (const auto& v : seen)
    all.insert(v.begin(), v.end());
  CHECK(all.size() == threads * per_thread);

  const auto events = hub.read_shared_after(0, threads * per_thread, nullptr);
  REQUIRE(events.size() == threads * per_thread);
  std::vector<int> next_i(threads, 0);
  for (std::size_t i = 0; i < events.size(); ++i) {
    CHECK(events[i]->seq == i + 1);
    // Each publisher's events appear in its own order.
    const int t = std::stoi(events[i]->topic.substr(1));
    CHECK(*events[i]->frame == std::string("{\"type\":\"event\",\"seq\":") +
                                 std::to_string(i + 1) + ",\"ts\":" + std::to_string(next_i[t]) +
                                 ",\"topic\":\"t" + std::to_string(t) +
                                 "\",\"kind\":\"k\",\"data\":{\"i\":" +
                                 std::to_string(next_i[t]) + "}}");
    ++next_i[t];
  }
}

TEST_CASE("event_hub replays after a seq and reports a gap once the ring dropped events") {
  event_hub hub({5, 1 << 20});
  for (int i = 0; i < 12; ++i)
    hub.publish("health", "k", "{}", i);
  CHECK(hub.size() == 5);
  CHECK(hub.oldest_seq() == 8);
  CHECK(hub.last_seq() == 12);

  bool gap = false;
  auto events = hub.read_after(7, 100, &gap);
  CHECK_FALSE(gap);  // 8..12 are all still here
  REQUIRE(events.size() == 5);
  CHECK(events.front().seq == 8);
  CHECK(events.back().seq == 12);

  events = hub.read_after(6, 100, &gap);
  CHECK(gap);  // 7 is gone
  REQUIRE(events.size() == 5);
  CHECK(events.front().seq == 8);

  events = hub.read_after(9, 2, &gap);
  CHECK_FALSE(gap);
  REQUIRE(events.size() == 2);
  CHECK(events[0].seq == 10);
  CHECK(events[1].seq == 11);

  CHECK(hub.read_after(12, 100, &gap).empty());
  CHECK_FALSE(gap);
  CHECK(hub.read_after(1000, 100, &gap).empty());
  CHECK(hub.read_after(0, 0, &gap).empty());
}

TEST_CASE("event_hub bounds its memory by bytes but keeps the newest event") {
  hub_options options;
  options.capacity = 1000;
  options.max_bytes = 64 * 1024;
  event_hub hub(options);
  const std::string payload = "{\"blob\":\"" + std::string(1000, 'x') + "\"}";
  for (int i = 0; i < 500; ++i)
    hub.publish("metrics:api", "sample", payload, i);
  CHECK(hub.kept_bytes() <= options.max_bytes);
  CHECK(hub.size() < 70);
  CHECK(hub.size() > 40);
  CHECK(hub.oldest_seq() == 500 - hub.size() + 1);

  const std::string huge = "{\"blob\":\"" + std::string(200 * 1024, 'y') + "\"}";
  hub.publish("metrics:api", "sample", huge, 0);
  CHECK(hub.size() == 1);
  CHECK(hub.oldest_seq() == 501);
  hub.publish("health", "k", "{}", 0);
  CHECK(hub.size() == 1);  // the huge one is evicted as soon as it is not the newest
  CHECK(hub.oldest_seq() == 502);
}

TEST_CASE("event_hub counts subscribers per topic") {
  event_hub hub;
  CHECK_FALSE(hub.has_subscribers("metrics:api"));
  hub.add_subscriber("metrics:api");
  hub.add_subscriber("metrics:api");
  hub.add_subscriber("health");
  CHECK(hub.has_subscribers("metrics:api"));
  CHECK_FALSE(hub.has_subscribers("metrics:db"));
  hub.remove_subscriber("metrics:api");
  CHECK(hub.has_subscribers("metrics:api"));
  hub.remove_subscriber("metrics:api");
  CHECK_FALSE(hub.has_subscribers("metrics:api"));
  hub.remove_subscriber("metrics:api");  // unbalanced removal is harmless
  CHECK_FALSE(hub.has_subscribers("metrics:api"));
  CHECK(hub.has_subscribers("health"));
}

TEST_CASE("event_hub never calls a waker after it is replaced") {
  event_hub hub;
  std::atomic<int> calls{0};
  hub.set_waker([&] { ++calls; });
  hub.publish("health", "k", "{}", 0);
  hub.set_waker(nullptr);
  hub.publish("health", "k", "{}", 0);
  CHECK(calls.load() == 1);
}
