#include "persistence/error.hpp"
#include "persistence/migrations.hpp"
#include "persistence/silence_store.hpp"
#include "tests/persistence/pg_test_support.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace wp = wk::persistence;
namespace ws = wk::silences;
using wp::test::scratch_database;

namespace {

constexpr std::int64_t t0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

std::vector<wk::notify::matcher> matchers(const std::vector<std::string>& texts) {
  std::vector<wk::notify::matcher> out;
  for (const auto& t : texts) {
    const auto problem = wk::notify::parse_matchers(t, out);
    REQUIRE_MESSAGE(!problem, t);
  }
  return out;
}

ws::silence silence(std::string id, std::int64_t starts, std::int64_t ends) {
  ws::silence s;
  s.id = std::move(id);
  s.matchers = matchers({"service=\"db\""});
  s.starts_at_ms = starts;
  s.ends_at_ms = ends;
  s.created_by = "token-ops";
  s.comment = "migration";
  s.created_at_ms = starts;
  return s;
}

std::vector<std::string> texts(const ws::silence& s) {
  std::vector<std::string> out;
  for (const auto& m : s.matchers) out.push_back(m.str());
  return out;
}

}  // namespace

TEST_CASE("silence_store saves, lists and round-trips matchers through their text") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::silence_store store(db.url());
  CHECK(store.all(0).empty());

  auto s = silence("0123456789abcdef0123456789abcdef", t0, t0 + 3'600'000);
  s.matchers = matchers({"service=\"db\"", "team=~\"a|b\\\\.c\"", "env!=\"prod \\\"x\\\"\"",
                         "{note!~\"ü.*\", region=\"\"}"});
  s.comment = "Wartung 🛠 \"quoted\"\nsecond line";
  s.created_at_ms = t0 - 5;
  store.save(s);
  store.save(silence("later", t0 + 1000, t0 + 2000));

  const auto all = store.all(0);
  REQUIRE(all.size() == 2);
  const auto& got = all[0];
  CHECK(got.id == s.id);
  CHECK(texts(got) == texts(s));
  REQUIRE(got.matchers.size() == 5);
  CHECK(got.matchers[1].op() == wk::notify::match_op::regex);
  CHECK(got.matchers[1].matches("b.c"));
  CHECK_FALSE(got.matchers[1].matches("bxc"));
  CHECK(got.matchers[2].value() == "prod \"x\"");
  CHECK(got.matchers[3].op() == wk::notify::match_op::not_regex);
  CHECK(got.matchers[4].value().empty());
  CHECK(got.starts_at_ms == t0);
  CHECK(got.ends_at_ms == t0 + 3'600'000);
  CHECK(got.created_by == "token-ops");
  CHECK(got.comment == s.comment);
  CHECK(got.created_at_ms == t0 - 5);
  CHECK(got.source == "api");
  CHECK(all[1].id == "later");

  // ends_at_ms > ended_after_ms: a silence that ended exactly then is gone.
  CHECK(store.all(t0 + 1999).size() == 2);
  CHECK(store.all(t0 + 2000).size() == 1);
  CHECK(store.all(t0 + 3'600'000).empty());

  // Upsert by id.
  auto changed = silence("later", t0 + 1000, t0 + 9000);
  changed.matchers = matchers({"alertname=\"Down\""});
  store.save(changed);
  const auto again = store.all(t0 + 2000);
  REQUIRE(again.size() == 2);
  CHECK(again[1].ends_at_ms == t0 + 9000);
  CHECK(texts(again[1]) == std::vector<std::string>{"alertname=\"Down\""});
  CHECK(db.scalar("SELECT count(*) FROM silences") == "2");
}

TEST_CASE("silence_store expires active and pending silences and reports unknown ids") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::silence_store store(db.url());
  store.save(silence("active", t0, t0 + 10'000));
  store.save(silence("pending", t0 + 5000, t0 + 10'000));
  store.save(silence("short", t0, t0 + 100));

  CHECK(store.expire("active", t0 + 2000));
  CHECK(store.expire("pending", t0 + 2000));
  CHECK(store.expire("short", t0 + 2000));  // already over: keeps its earlier end
  CHECK_FALSE(store.expire("nope", t0));

  const auto all = store.all(0);
  REQUIRE(all.size() == 3);
  CHECK(all[0].id == "active");
  CHECK(all[0].starts_at_ms == t0);
  CHECK(all[0].ends_at_ms == t0 + 2000);
  CHECK(all[1].id == "short");
  CHECK(all[1].ends_at_ms == t0 + 100);
  CHECK(all[2].id == "pending");
  CHECK(all[2].starts_at_ms == t0 + 2000);  // never started: an empty range at the expiry
  CHECK(all[2].ends_at_ms == t0 + 2000);
  CHECK(store.all(t0 + 2000).empty());
}

TEST_CASE("silence_store refuses what it cannot store faithfully") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::silence_store store(db.url());
  const auto refused = [&](const ws::silence& s, const char* why) {
    CHECK_THROWS_WITH_AS(store.save(s), doctest::Contains(why), wp::error);
  };
  auto bad = silence("", t0, t0 + 1);
  refused(bad, "silence id is empty");
  bad = silence("cfg-x", t0, t0 + 1);
  bad.source = "config";
  refused(bad, "only API silences");
  bad = silence("s", t0, t0 + 1);
  bad.matchers.clear();
  refused(bad, "has no matchers");
  bad = silence("s", t0 + 1, t0);
  refused(bad, "ends before it starts");
  bad = silence("s", -1, t0);
  refused(bad, "starts_at_ms -1");
  bad = silence("s", t0, t0 + 1);
  bad.comment = "\xE0\x80\x80";
  refused(bad, "comment is not valid UTF-8");
  bad = silence("s", t0, t0 + 1);
  bad.matchers = matchers({"k=\"\xC3\""});  // parses, but is not text PostgreSQL accepts
  refused(bad, "matcher is not valid UTF-8");
  CHECK_THROWS_AS(store.expire(std::string("a\0b", 3), t0), wp::error);
  CHECK(db.scalar("SELECT count(*) FROM silences") == "0");
}

TEST_CASE("silence_store names a stored matcher that no longer parses") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::silence_store store(db.url());
  store.save(silence("s1", t0, t0 + 1000));
  db.query("UPDATE silences SET matchers = ARRAY['service=~\"(\"']");
  CHECK_THROWS_WITH_AS(store.all(0), doctest::Contains("silence s1: stored matcher"), wp::error);
}
