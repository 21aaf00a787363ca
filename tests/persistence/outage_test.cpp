// Stops and starts the shared test server: registered RUN_SERIAL, never run alongside the
// other pg tests.

#include "persistence/database.hpp"
#include "persistence/error.hpp"
#include "persistence/health_store.hpp"
#include "persistence/migrations.hpp"
#include "persistence/sample_writer.hpp"
#include "persistence/service_store.hpp"
#include "tests/persistence/chunk_fixtures.hpp"
#include "tests/persistence/pg_test_support.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace wp = wk::persistence;
using wp::test::chunk_bytes;
using wp::test::make_chunk;
using wp::test::required_env;
using wp::test::scratch_database;

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The test server, driven through scripts/pg_cluster.sh.
class test_cluster {
 public:
  test_cluster() : dir_(required_env("WK_TEST_PG_DIR")), port_(required_env("WK_TEST_PG_PORT")) {}
  void stop() const { run("stop " + shell_quote(dir_)); }
  void start() const { run("start " + shell_quote(dir_) + " " + shell_quote(port_) + " --fast"); }

 private:
  static void run(const std::string& args) {
    const std::string command = shell_quote(std::string(WK_SOURCE_DIR) + "/scripts/pg_cluster.sh") +
                                " " + args + " >/dev/null";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
  }
  std::string dir_, port_;
};

// Stops the server for the scope; starts it again however the test ends.
class outage {
 public:
  explicit outage(const test_cluster& cluster) : cluster_(cluster) { cluster_.stop(); }
  ~outage() {
    if (!over_) cluster_.start();
  }
  void end() {
    cluster_.start();
    over_ = true;
  }

 private:
  const test_cluster& cluster_;
  bool over_ = false;
};

std::vector<wp::chunk_record> chunks(int first_index, int last_index) {
  std::vector<wp::chunk_record> out;
  for (std::uint64_t series = 1; series <= 5; ++series) {
    for (int i = first_index; i <= last_index; ++i) out.push_back(make_chunk(series, i));
  }
  return out;
}

}  // namespace

TEST_CASE("outage: flush fails and keeps the data, then writes the backlog exactly once") {
  const test_cluster cluster;
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::sample_writer writer(db.url(), {});
  writer.enqueue(chunks(0, 9));
  REQUIRE(writer.flush());

  outage down(cluster);
  writer.enqueue(chunks(10, 19));
  std::string error;
  CHECK_FALSE(writer.flush(&error));
  CHECK(error.find("cannot write 50 chunks") == 0);
  CHECK_FALSE(wp::ping(db.url()));
  writer.enqueue(chunks(20, 29));
  CHECK_FALSE(writer.flush(&error));
  auto stats = writer.stats();
  CHECK(stats.failed_flushes == 2);
  CHECK(stats.buffered_chunks == 100);
  CHECK(stats.written_chunks == 50);
  CHECK_FALSE(stats.connected);

  down.end();
  REQUIRE_MESSAGE(writer.flush(&error), error);
  stats = writer.stats();
  CHECK(stats.written_chunks == 150);
  CHECK(stats.written_samples == 150 * 120);
  CHECK(stats.buffered_chunks == 0);
  CHECK(stats.connected);
  CHECK(db.scalar("SELECT count(*) FROM sample_chunks") == "150");
  CHECK(db.scalar("SELECT count(DISTINCT (fingerprint, min_t)) FROM sample_chunks") == "150");

  const auto loaded = wp::load_chunks(db.url(), std::numeric_limits<std::int64_t>::min(),
                                      std::numeric_limits<std::int64_t>::max());
  REQUIRE(loaded.size() == 5);
  for (const auto& series : loaded) {
    REQUIRE(series.chunks.size() == 30);
    for (int i = 0; i < 30; ++i)
      CHECK(series.chunks[i].second == chunk_bytes(series.fingerprint, i));
  }
}

TEST_CASE("outage: a server that is down from the start") {
  const test_cluster cluster;
  const scratch_database db;
  wp::apply_migrations(db.url());
  outage down(cluster);

  wp::sample_writer writer(db.url(), {});
  wp::service_store services(db.url());
  wp::health_store health(db.url());
  writer.enqueue(chunks(0, 3));
  std::string error;
  CHECK_FALSE(writer.flush(&error));
  CHECK(error.find("cannot connect to") != std::string::npos);
  CHECK_FALSE(writer.stats().connected);
  CHECK_THROWS_WITH_AS(services.list(), doctest::Contains("cannot connect to"), wp::error);
  CHECK_THROWS_AS(health.record({"api", "http", "", "up", "ok", 1.0, 1}), wp::error);
  CHECK_THROWS_AS(wp::apply_migrations(db.url()), wp::error);
  CHECK_THROWS_AS(wp::load_chunks(db.url(), 0, 1), wp::error);
  CHECK_FALSE(wp::ping(db.url(), &error));
  CHECK(error.find("cannot reach") == 0);

  down.end();
  CHECK(wp::ping(db.url()));
  REQUIRE_MESSAGE(writer.flush(&error), error);
  CHECK(writer.stats().written_chunks == 20);
  CHECK(writer.stats().failed_flushes == 1);
  CHECK(services.list().empty());
  CHECK(health.record({"api", "http", "", "up", "ok", 1.0, 1}) > 0);
  CHECK(db.scalar("SELECT count(*) FROM sample_chunks") == "20");
}

TEST_CASE("outage: stores that were connected recover after a restart") {
  const test_cluster cluster;
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::service_store services(db.url());
  services.upsert({"api", "spec"});
  {
    outage down(cluster);
    CHECK_THROWS_AS(services.upsert({"web", "spec"}), wp::error);
  }
  services.upsert({"web", "spec"});
  CHECK(services.list().size() == 2);
}
