#include "persistence/migrations.hpp"
#include "persistence/conninfo.hpp"
#include "persistence/error.hpp"
#include "tests/persistence/pg_test_support.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace wp = wk::persistence;
using wp::test::scratch_database;

TEST_CASE("migrations apply once and a second run applies nothing") {
  const scratch_database db;
  const auto& all = wp::embedded_migrations();

  const auto first = wp::apply_migrations(db.url());
  REQUIRE(first.applied.size() == all.size());
  CHECK(first.applied.front() == "0001_init.sql");
  CHECK(first.already_applied == 0);
  CHECK(first.unknown.empty());

  CHECK(db.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name IN"
                  " ('series','sample_chunks','services','health_transitions','health_current',"
                  "  'schema_migrations')") == "6");
  CHECK(db.scalar("SELECT checksum FROM schema_migrations WHERE version = 1") ==
        wp::migration_checksum(all.front().sql));
  CHECK(db.scalar("SELECT name FROM schema_migrations WHERE version = 1") == "0001_init.sql");

  const auto second = wp::apply_migrations(db.url());
  CHECK(second.applied.empty());
  CHECK(second.already_applied == all.size());
  CHECK(db.scalar("SELECT count(*) FROM schema_migrations") == std::to_string(all.size()));
}

TEST_CASE("a migration edited after it was applied is an error") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  db.query("UPDATE schema_migrations SET checksum = 'abc123' WHERE version = 1");
  CHECK_THROWS_WITH_AS(wp::apply_migrations(db.url()),
                       doctest::Contains("migration 0001_init.sql (version 1) was changed after it "
                                         "was applied: recorded checksum abc123"),
                       wp::error);

}

TEST_CASE("checksums are verified before any new migration is applied") {
  const scratch_database db;
  std::vector<wp::migration> set{{1, "0001_a.sql", "CREATE TABLE a (x int);"},
                                 {3, "0003_c.sql", "CREATE TABLE c (x int);"}};
  wp::apply_migrations(db.url(), set);
  set[1].sql = "CREATE TABLE c (x bigint);";
  set.push_back({2, "0002_b.sql", "CREATE TABLE b (x int);"});
  CHECK_THROWS_WITH_AS(wp::apply_migrations(db.url(), set),
                       doctest::Contains("migration 0003_c.sql (version 3) was changed"),
                       wp::error);
  CHECK(db.scalar("SELECT to_regclass('b') IS NULL") == "t");
}

TEST_CASE("a failing migration is rolled back and named while earlier ones stay") {
  const scratch_database db;
  std::vector<wp::migration> set{
      {1, "0001_a.sql", "CREATE TABLE a (x int); INSERT INTO a VALUES (1);"},
      {2, "0002_b.sql", "CREATE TABLE b (x int); SELECT * FROM no_such_table;"},
  };
  CHECK_THROWS_WITH_AS(wp::apply_migrations(db.url(), set),
                       doctest::Contains("migration 0002_b.sql failed: relation \"no_such_table\" "
                                         "does not exist"),
                       wp::error);
  CHECK(db.scalar("SELECT count(*) FROM a") == "1");
  CHECK(db.scalar("SELECT to_regclass('b') IS NULL") == "t");
  CHECK(db.scalar("SELECT string_agg(version::text, ',') FROM schema_migrations") == "1");

  set[1].sql = "CREATE TABLE b (x int);";
  const auto fixed = wp::apply_migrations(db.url(), set);
  CHECK(fixed.applied == std::vector<std::string>{"0002_b.sql"});
  CHECK(fixed.already_applied == 1);
}

TEST_CASE("concurrent starts apply each migration exactly once") {
  const scratch_database db;
  std::vector<wp::migration> set;
  for (int v = 1; v <= 5; ++v) {
    // pg_sleep widens the window in which a second runner would apply it again.
    set.push_back({v, "000" + std::to_string(v) + "_t.sql",
                   "SELECT pg_sleep(0.05); CREATE TABLE t" + std::to_string(v) + " (x int);"});
  }
  std::atomic<int> applied{0}, failures{0};
  std::vector<std::thread> starts;
  for (int i = 0; i < 4; ++i) {
    starts.emplace_back([&] {
      try {
        const auto report = wp::apply_migrations(db.url(), set);
        applied += static_cast<int>(report.applied.size());
        if (report.applied.size() + report.already_applied != set.size()) ++failures;
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  for (auto& t : starts) t.join();
  CHECK(failures == 0);
  CHECK(applied == 5);
  CHECK(db.scalar("SELECT count(*) FROM schema_migrations") == "5");
}

TEST_CASE("migrations recorded by a newer binary are reported, not fatal") {
  const scratch_database db;
  const std::vector<wp::migration> newer{{1, "0001_a.sql", "CREATE TABLE a (x int);"},
                                         {2, "0002_b.sql", "CREATE TABLE b (x int);"}};
  wp::apply_migrations(db.url(), newer);
  const auto report = wp::apply_migrations(db.url(), {newer[0]});
  CHECK(report.applied.empty());
  CHECK(report.already_applied == 1);
  CHECK(report.unknown == std::vector<std::string>{"0002_b.sql"});
}

TEST_CASE("an invalid migration set is refused before touching the database") {
  const scratch_database db;
  CHECK_THROWS_WITH_AS(wp::apply_migrations(db.url(), {{1, "0001_a.sql", "SELECT 1"},
                                                       {1, "0001_b.sql", "SELECT 1"}}),
                       doctest::Contains("version 1 is used twice"), wp::error);
  CHECK_THROWS_WITH_AS(wp::apply_migrations(db.url(), {{0, "0000_a.sql", "SELECT 1"}}),
                       doctest::Contains("version must be positive"), wp::error);
  CHECK(db.scalar("SELECT to_regclass('schema_migrations') IS NULL") == "t");
}

TEST_CASE("apply_migrations names the database it cannot reach") {
  const scratch_database db;
  CHECK_THROWS_WITH_AS(wp::apply_migrations(wp::with_database(db.url(), db.name() + "_missing")),
                       doctest::Contains("cannot connect to"), wp::error);
}

TEST_CASE("a URL without a database name works: libpq's default is the user's database") {
  // A login role owning a database of the same name, so the default lands in it.
  struct role_with_database {
    std::string name = wp::test::unique_name();
    role_with_database() {
      wp::test::sql_client admin(wp::test::server_url());
      admin.exec("CREATE ROLE " + name + " LOGIN");
      admin.exec("CREATE DATABASE " + name + " OWNER " + name);
    }
    ~role_with_database() {
      try {
        wp::test::sql_client admin(wp::test::server_url());
        admin.exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        admin.exec("DROP ROLE IF EXISTS " + name);
      } catch (const std::exception& e) {
        MESSAGE("cleanup failed: " << e.what());
      }
    }
  };
  const role_with_database owner;
  wp::test::sql_client admin(wp::test::server_url());
  const std::string address = admin.scalar("SELECT host(inet_server_addr())");
  const std::string port = admin.scalar("SELECT inet_server_port()");
  const std::string url = "postgresql://" + owner.name + "@" + address + ":" + port;

  CHECK(wp::describe(url) == owner.name + "@" + address + ":" + port + "/" + owner.name);
  const auto report = wp::apply_migrations(url);
  CHECK(report.applied.size() == wp::embedded_migrations().size());
  wp::test::sql_client in_database(wp::with_database(wp::test::server_url(), owner.name));
  CHECK(in_database.scalar("SELECT count(*) FROM schema_migrations") ==
        std::to_string(report.applied.size()));
}
