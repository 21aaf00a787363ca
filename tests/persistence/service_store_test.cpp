#include "persistence/service_store.hpp"
#include "persistence/error.hpp"
#include "persistence/migrations.hpp"
#include "tests/persistence/pg_test_support.hpp"

#include <doctest/doctest.h>

#include <string>

namespace wp = wk::persistence;
using wp::test::scratch_database;

TEST_CASE("service_store create, read, update, delete") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::service_store store(db.url());

  CHECK(store.list().empty());
  CHECK_FALSE(store.find("api").has_value());

  const std::string spec =
      "name: api\nurl: http://10.0.0.1:8080/metrics\nnote: \"caf\xC3\xA9\" \\ '\n";
  store.upsert({"api", spec});
  store.upsert({"db", "{\"name\":\"db\"}"});
  auto all = store.list();
  REQUIRE(all.size() == 2);
  CHECK(all[0].name == "api");
  CHECK(all[0].spec == spec);
  CHECK(all[1].name == "db");

  const std::string created = db.scalar("SELECT created_at FROM services WHERE name = 'api'");
  db.query("SELECT pg_sleep(0.01)");
  store.upsert({"api", "name: api\ninterval: 5s\n"});
  CHECK(store.find("api")->spec == "name: api\ninterval: 5s\n");
  CHECK(store.list().size() == 2);
  CHECK(db.scalar("SELECT created_at FROM services WHERE name = 'api'") == created);
  CHECK(db.scalar("SELECT updated_at > created_at FROM services WHERE name = 'api'") == "t");

  CHECK(store.remove("api"));
  CHECK_FALSE(store.remove("api"));
  CHECK_FALSE(store.find("api").has_value());
  all = store.list();
  REQUIRE(all.size() == 1);
  CHECK(all[0].name == "db");
}

TEST_CASE("service_store refuses input it cannot store faithfully") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::service_store store(db.url());
  store.upsert({"api", "x"});

  CHECK_THROWS_WITH_AS(store.upsert({"", "x"}), "service name is empty", wp::error);
  CHECK_THROWS_WITH_AS(store.upsert({std::string(257, 'n'), "x"}),
                       doctest::Contains("longer than 256 bytes"), wp::error);
  CHECK_THROWS_WITH_AS(store.upsert({"a\xFF", "x"}), doctest::Contains("not valid UTF-8"),
                       wp::error);
  CHECK_THROWS_WITH_AS(store.upsert({"api", std::string("x\0y", 3)}),
                       doctest::Contains("contains a NUL byte"), wp::error);
  CHECK_THROWS_WITH_AS(store.upsert({"api", std::string((1u << 20) + 1, 'x')}),
                       doctest::Contains("larger than 1048576 bytes"), wp::error);
  // "api\0x" must never reach libpq, which would cut it to "api" and delete the wrong row.
  CHECK_THROWS_AS(store.remove(std::string("api\0x", 5)), wp::error);
  CHECK(store.find("api").has_value());
  CHECK(store.find("api")->spec == "x");
}

TEST_CASE("service_store reconnects after the server drops its connection") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::service_store store(db.url());
  store.upsert({"api", "x"});
  db.terminate_other_sessions();
  CHECK(store.list().size() == 1);
  store.upsert({"web", "y"});
  db.terminate_other_sessions();
  CHECK(store.remove("web"));
  CHECK(db.scalar("SELECT count(*) FROM services") == "1");
}

TEST_CASE("service_store errors name the problem") {
  const scratch_database db;
  wp::service_store store(db.url());  // no migrations: the table is missing
  CHECK_THROWS_WITH_AS(store.list(), doctest::Contains("are the migrations applied?"), wp::error);
  wp::apply_migrations(db.url());
  CHECK(store.list().empty());  // the failed connect left nothing behind
  CHECK_THROWS_AS(wp::service_store("postgresql://h/db?bogus_option=1"), wp::error);
}
