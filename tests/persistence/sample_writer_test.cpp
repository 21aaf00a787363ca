#include "persistence/sample_writer.hpp"
#include "persistence/error.hpp"
#include "persistence/migrations.hpp"
#include "tests/persistence/chunk_fixtures.hpp"
#include "tests/persistence/pg_test_support.hpp"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <limits>
#include <map>
#include <string>
#include <vector>

namespace wp = wk::persistence;
using wp::test::chunk_bytes;
using wp::test::make_chunk;
using wp::test::scratch_database;

namespace {

constexpr std::int64_t all_time_min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t all_time_max = std::numeric_limits<std::int64_t>::max();

bool same_json(const std::string& a, const std::string& b) {
  rapidjson::Document da, db;
  da.Parse(a.c_str());
  db.Parse(b.c_str());
  return !da.HasParseError() && !db.HasParseError() && da == db;
}

// Fingerprints across the whole unsigned range, including those with the top bit set.
std::uint64_t fingerprint_of(int series) {
  return 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(series + 1);
}

std::string labels_of(int series) {
  return R"({"job":"api \"quoted\" \\ slash","path":"/caf\u00e9/)" + std::to_string(series) +
         "\",\"emoji\":\"\xF0\x9F\x94\xA5\"}";
}

}  // namespace

TEST_CASE("sample round trip: identical bytes back, one series row per series") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  constexpr int series_count = 50;
  constexpr int chunks_per_series = 3;

  wp::sample_writer writer(db.url(), {});
  std::vector<wp::chunk_record> batch;
  for (int s = 0; s < series_count; ++s) {
    for (int i = 0; i < chunks_per_series; ++i) {
      batch.push_back(
          make_chunk(fingerprint_of(s), i, "metric_" + std::to_string(s), labels_of(s)));
    }
  }
  writer.enqueue(batch);
  std::string error;
  REQUIRE_MESSAGE(writer.flush(&error), error);

  auto stats = writer.stats();
  CHECK(stats.written_chunks == series_count * chunks_per_series);
  CHECK(stats.written_samples == series_count * chunks_per_series * 120);
  CHECK(stats.new_series == series_count);
  CHECK(stats.buffered_chunks == 0);
  CHECK(stats.buffered_bytes == 0);
  CHECK(stats.connected);
  CHECK(stats.last_flush_seconds > 0);

  // The same series again (later chunks): no second series row.
  std::vector<wp::chunk_record> later;
  for (int s = 0; s < series_count; ++s)
    later.push_back(make_chunk(fingerprint_of(s), 3, "m", "{}"));
  writer.enqueue(later);
  REQUIRE(writer.flush());
  CHECK(writer.stats().new_series == series_count);
  CHECK(db.scalar("SELECT count(*) FROM series") == std::to_string(series_count));

  // A fresh writer knows nothing cached; ON CONFLICT keeps the rows unique all the same.
  wp::sample_writer second(db.url(), {});
  second.enqueue({make_chunk(fingerprint_of(0), 4), make_chunk(fingerprint_of(0), 5)});
  REQUIRE(second.flush());
  CHECK(second.stats().new_series == 0);
  CHECK(db.scalar("SELECT count(*) FROM series") == std::to_string(series_count));

  const auto loaded = wp::load_chunks(db.url(), all_time_min, all_time_max);
  REQUIRE(loaded.size() == series_count);
  std::map<std::uint64_t, const wp::stored_sample_series*> by_fingerprint;
  for (const auto& s : loaded) by_fingerprint[s.fingerprint] = &s;
  for (int s = 0; s < series_count; ++s) {
    const auto it = by_fingerprint.find(fingerprint_of(s));
    REQUIRE(it != by_fingerprint.end());
    const auto& stored = *it->second;
    CHECK(stored.metric == "metric_" + std::to_string(s));  // the first write wins
    CHECK_MESSAGE(same_json(stored.labels_json, labels_of(s)), stored.labels_json);
    const std::size_t expected_chunks = s == 0 ? 6 : 4;
    REQUIRE(stored.chunks.size() == expected_chunks);
    for (std::size_t i = 0; i < expected_chunks; ++i) {
      CHECK(stored.chunks[i].first == static_cast<std::int64_t>(i) * 1000);
      CHECK(stored.chunks[i].second ==
            chunk_bytes(fingerprint_of(s), static_cast<std::int64_t>(i)));
    }
  }
  CHECK(db.scalar("SELECT sum(num_samples) FROM sample_chunks") ==
        std::to_string((series_count * 4 + 2) * 120));
}

TEST_CASE("one batch with many new series and the same series twice") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::sample_writer writer(db.url(), {});
  std::vector<wp::chunk_record> batch;
  for (int s = 0; s < 5000; ++s) batch.push_back(make_chunk(fingerprint_of(s), 0, "m", "{}"));
  for (int s = 0; s < 5000; ++s) batch.push_back(make_chunk(fingerprint_of(s), 1, "m", "{}"));
  writer.enqueue(std::move(batch));
  std::string error;
  REQUIRE_MESSAGE(writer.flush(&error), error);
  CHECK(writer.stats().new_series == 5000);
  CHECK(db.scalar("SELECT count(*) FROM series") == "5000");
  CHECK(db.scalar("SELECT count(*) FROM sample_chunks") == "10000");
}

TEST_CASE("load_chunks returns chunks overlapping the range and bounds the result") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::sample_writer writer(db.url(), {});
  writer.enqueue({make_chunk(1, 0), make_chunk(1, 1), make_chunk(1, 2), make_chunk(2, 5)});
  REQUIRE(writer.flush());

  auto loaded = wp::load_chunks(db.url(), 1500, 2000);
  REQUIRE(loaded.size() == 1);
  REQUIRE(loaded[0].chunks.size() == 2);
  CHECK(loaded[0].chunks[0].first == 1000);
  CHECK(loaded[0].chunks[1].first == 2000);
  CHECK(loaded[0].metric == "http_requests_total");

  CHECK(wp::load_chunks(db.url(), 999, 999).at(0).chunks.size() == 1);
  CHECK(wp::load_chunks(db.url(), 3000, 4999).empty());
  CHECK(wp::load_chunks(db.url(), 0, 5000).size() == 2);

  CHECK_THROWS_WITH_AS(wp::load_chunks(db.url(), all_time_min, all_time_max, 3),
                       doctest::Contains("more than 3 chunks overlap"), wp::error);
  CHECK(wp::load_chunks(db.url(), all_time_min, all_time_max, 4).size() == 2);
}

TEST_CASE("buffer bound: the oldest chunks are dropped, the newest written") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::sample_writer probe(db.url(), {});
  probe.enqueue({make_chunk(7, 0)});
  const std::uint64_t per_chunk = probe.stats().buffered_bytes;

  wp::sample_writer writer(db.url(), {10 * per_chunk});
  for (int i = 0; i < 25; ++i) writer.enqueue({make_chunk(7, i)});
  CHECK(writer.stats().dropped_chunks == 15);
  CHECK(writer.stats().dropped_samples == 15 * 120);
  REQUIRE(writer.flush());
  CHECK(writer.stats().written_chunks == 10);

  const auto loaded = wp::load_chunks(db.url(), all_time_min, all_time_max);
  REQUIRE(loaded.size() == 1);
  REQUIRE(loaded[0].chunks.size() == 10);
  CHECK(loaded[0].chunks.front().first == 15000);
  CHECK(loaded[0].chunks.back().first == 24000);
}

TEST_CASE("a flush that fails on the schema keeps the data until the schema exists") {
  const scratch_database db;
  wp::sample_writer writer(db.url(), {});
  writer.enqueue({make_chunk(1, 0), make_chunk(2, 0)});
  std::string error;
  CHECK_FALSE(writer.flush(&error));
  CHECK(error.find("are the migrations applied?") != std::string::npos);
  CHECK(error.find("relation \"series\" does not exist") != std::string::npos);
  CHECK(writer.stats().buffered_chunks == 2);

  wp::apply_migrations(db.url());
  REQUIRE_MESSAGE(writer.flush(&error), error);
  CHECK(writer.stats().failed_flushes == 1);
  CHECK(db.scalar("SELECT count(*) FROM sample_chunks") == "2");
}

TEST_CASE("a connection killed between flushes is replaced without losing or doubling data") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::sample_writer writer(db.url(), {});
  writer.enqueue({make_chunk(1, 0)});
  REQUIRE(writer.flush());

  db.terminate_other_sessions();
  writer.enqueue({make_chunk(1, 1), make_chunk(2, 0)});
  std::string error;
  CHECK_MESSAGE(writer.flush(&error), error);
  CHECK(writer.stats().failed_flushes == 0);
  CHECK(writer.stats().written_chunks == 3);
  CHECK(db.scalar("SELECT count(*) FROM sample_chunks") == "3");
  CHECK(db.scalar("SELECT count(*) FROM series") == "2");
}

TEST_CASE("the series cache is bounded and starting over keeps series rows unique") {
  const scratch_database db;
  wp::apply_migrations(db.url());
  wp::sample_writer cached(db.url(), {});
  cached.enqueue({make_chunk(1, 0), make_chunk(2, 0), make_chunk(3, 0)});
  REQUIRE(cached.flush());
  CHECK(cached.stats().cached_series == 3);

  wp::writer_options small;
  small.max_cached_series = 2;
  wp::sample_writer writer(db.url(), small);
  writer.enqueue({make_chunk(4, 0), make_chunk(5, 0), make_chunk(6, 0)});
  REQUIRE(writer.flush());
  CHECK(writer.stats().cached_series == 0);  // 3 > 2: started over
  CHECK(writer.stats().new_series == 3);
  writer.enqueue({make_chunk(4, 1), make_chunk(1, 1)});
  REQUIRE(writer.flush());
  CHECK(writer.stats().cached_series == 2);
  CHECK(writer.stats().new_series == 3);
  CHECK(db.scalar("SELECT count(*) FROM series") == "6");
  CHECK(db.scalar("SELECT count(*) FROM sample_chunks") == "8");
}
