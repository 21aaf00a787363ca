#include <doctest/doctest.h>

#include <chrono>
#include <set>

#include "oncall/config.hpp"
#include "silences/id.hpp"
#include "silences/match.hpp"

using namespace wk::silences;
using wk::notify::matcher;
using wk::notify::parse_matchers;

namespace {

std::vector<matcher> ms(std::initializer_list<const char*> texts) {
  std::vector<matcher> out;
  for (const char* t : texts) {
    auto error = parse_matchers(t, out);
    REQUIRE_MESSAGE(!error, *error);
  }
  return out;
}

silence make(std::string id, std::vector<matcher> m, std::int64_t start, std::int64_t end) {
  silence s;
  s.id = std::move(id);
  s.matchers = std::move(m);
  s.starts_at_ms = start;
  s.ends_at_ms = end;
  return s;
}

}  // namespace

TEST_CASE("match: every matcher must accept, a missing label reads as empty") {
  std::map<std::string, std::string> labels{{"service", "db"}, {"severity", "critical"}};
  CHECK(matches(ms({"service=\"db\""}), labels));
  CHECK(matches(ms({"service=\"db\"", "severity=~\"crit.*\""}), labels));
  CHECK_FALSE(matches(ms({"service=\"db\"", "severity=\"warning\""}), labels));
  CHECK(matches({}, labels));
  // Missing label = "": env="" matches, env!="" does not, env=~".*" does, env=~".+" does not.
  CHECK(matches(ms({"env=\"\""}), labels));
  CHECK_FALSE(matches(ms({"env!=\"\""}), labels));
  CHECK(matches(ms({"env=~\".*\""}), labels));
  CHECK_FALSE(matches(ms({"env=~\".+\""}), labels));
  CHECK(matches(ms({"env!=\"prod\""}), labels));
  CHECK(matches(ms({"env!~\"prod|staging\""}), labels));
  // A present but empty label behaves like a missing one.
  CHECK(matches(ms({"env=\"\""}), {{"env", ""}}));
}

TEST_CASE("match: regexes are anchored at both ends") {
  std::map<std::string, std::string> labels{{"service", "db-replica"}};
  CHECK_FALSE(matches(ms({"service=~\"db\""}), labels));
  CHECK_FALSE(matches(ms({"service=~\"replica\""}), labels));
  CHECK(matches(ms({"service=~\"db.*\""}), labels));
  CHECK(matches(ms({"service=~\"db-replica|cache\""}), labels));
  // Alternation binds inside the anchors: "a|b" must not become "^a|b$".
  CHECK_FALSE(matches(ms({"service=~\"db|xyz\""}), labels));
  CHECK(matches(ms({"service!~\"db\""}), labels));
  CHECK_FALSE(matches(ms({"service!~\"db.*\""}), labels));
}

TEST_CASE("match: active from starts_at up to but excluding ends_at") {
  auto s = make("a", ms({"service=\"db\""}), 1000, 2000);
  CHECK_FALSE(active(s, 999));
  CHECK(active(s, 1000));
  CHECK(active(s, 1999));
  CHECK_FALSE(active(s, 2000));
  CHECK_FALSE(active(s, INT64_MIN));
  CHECK_FALSE(active(s, INT64_MAX));
}

TEST_CASE("match: silenced_by lists the active silences that match, in order") {
  std::vector<silence> all{
      make("db", ms({"service=\"db\""}), 0, 10000),
      make("crit", ms({"severity=\"critical\""}), 5000, 10000),
      make("expired", ms({"service=\"db\""}), 0, 1000),
      make("other", ms({"service=\"api\""}), 0, 10000),
      make("empty", {}, 0, 10000),
  };
  std::map<std::string, std::string> labels{{"service", "db"}, {"severity", "critical"}};
  CHECK(silenced_by(all, labels, 500) == std::vector<std::string>{"db", "expired"});
  CHECK(silenced_by(all, labels, 5000) == std::vector<std::string>{"db", "crit"});
  CHECK(silenced_by(all, labels, 10000).empty());
  CHECK(silenced_by(all, {{"service", "web"}}, 5000).empty());
  // A matcher-less record is damaged data and mutes nothing.
  CHECK(silenced_by({make("empty", {}, 0, 10000)}, {}, 5000).empty());
}

TEST_CASE("match: silences of 10k matchers each stay fast") {
  std::vector<matcher> many;
  for (int i = 0; i < 10000; ++i)
    many.push_back(*matcher::make("l" + std::to_string(i), wk::notify::match_op::regex, "v.*", nullptr));
  std::map<std::string, std::string> labels;
  for (int i = 0; i < 10000; ++i)
    labels["l" + std::to_string(i)] = "value";
  std::vector<silence> all(10, make("x", many, 0, 10));
  auto t0 = std::chrono::steady_clock::now();
  auto ids = silenced_by(all, labels, 5);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(ids.size() == 10);
  // 100k regex matches with map lookups (about 2 us each here); generous for a shared machine.
  CHECK(elapsed < std::chrono::seconds(2));
  labels["l9999"] = "nope";
  CHECK(silenced_by(all, labels, 5).empty());
}

TEST_CASE("id: 32 lowercase hex characters, different every time") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_silence_id();
    REQUIRE(id.size() == 32);
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);
}
