#include "persistence/error.hpp"
#include "persistence/sample_writer.hpp"
#include "tests/persistence/chunk_fixtures.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace wp = wk::persistence;
using wp::test::make_chunk;

namespace {

// A URL where nothing listens: a port the kernel just handed out and we released.
std::string unreachable_url() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return "postgresql://postgres:hunter2@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) +
         "/watchkeeper";
}

}  // namespace

TEST_CASE("sample_writer rejects chunks PostgreSQL could never store, and counts them") {
  wp::sample_writer writer(unreachable_url(), {});
  std::vector<wp::chunk_record> chunks;
  chunks.push_back(make_chunk(1, 0));  // the only valid one
  auto no_samples = make_chunk(2, 0);
  no_samples.count = 0;
  chunks.push_back(no_samples);
  auto reversed = make_chunk(3, 0);
  std::swap(reversed.min_t, reversed.max_t);
  chunks.push_back(reversed);
  chunks.push_back(make_chunk(4, 0, "bad\xFFname"));
  chunks.push_back(make_chunk(5, 0, std::string("nul\0name", 8)));
  chunks.push_back(make_chunk(6, 0, ""));
  chunks.push_back(make_chunk(7, 0, "m", R"({"a":1})"));
  chunks.push_back(make_chunk(8, 0, "m", "not json"));
  auto huge_count = make_chunk(9, 0);
  huge_count.count = 0x80000000u;
  chunks.push_back(huge_count);
  auto huge_data = make_chunk(10, 0);
  huge_data.data.assign((16u << 20) + 1, 'x');
  chunks.push_back(huge_data);

  writer.enqueue(std::move(chunks));
  const auto stats = writer.stats();
  CHECK(stats.buffered_chunks == 1);
  CHECK(stats.rejected_chunks == 9);
  CHECK(stats.dropped_chunks == 0);
  CHECK(stats.last_rejection.find("chunk of series 10 rejected: has 16777217 bytes of data") == 0);

  writer.enqueue({make_chunk(11, 0, "m", R"({"a":"b","c":1})")});
  CHECK(writer.stats().last_rejection ==
        "chunk of series 11 rejected: labels_json: label \"c\" is not a string");
}

TEST_CASE("sample_writer bounds its buffer by dropping the oldest chunks") {
  wp::sample_writer probe(unreachable_url(), {});
  probe.enqueue({make_chunk(1, 0)});
  const std::uint64_t per_chunk = probe.stats().buffered_bytes;
  REQUIRE(per_chunk > 300);

  wp::sample_writer writer(unreachable_url(), {10 * per_chunk});
  for (int i = 0; i < 25; ++i) writer.enqueue({make_chunk(1, i)});
  auto stats = writer.stats();
  CHECK(stats.buffered_chunks == 10);
  CHECK(stats.buffered_bytes == 10 * per_chunk);
  CHECK(stats.dropped_chunks == 15);
  CHECK(stats.dropped_samples == 15 * 120);

  // One batch larger than the whole bound keeps only its newest part.
  std::vector<wp::chunk_record> batch;
  for (int i = 100; i < 130; ++i) batch.push_back(make_chunk(2, i));
  writer.enqueue(std::move(batch));
  stats = writer.stats();
  CHECK(stats.buffered_chunks == 10);
  CHECK(stats.dropped_chunks == 15 + 30);

  // A bound of zero keeps nothing and still counts everything.
  wp::sample_writer none(unreachable_url(), {0});
  none.enqueue({make_chunk(1, 0), make_chunk(1, 1)});
  CHECK(none.stats().buffered_chunks == 0);
  CHECK(none.stats().dropped_chunks == 2);
  CHECK(none.stats().buffered_bytes == 0);
}

TEST_CASE("sample_writer keeps its buffer when the database is unreachable") {
  const std::string url = unreachable_url();
  wp::sample_writer writer(url, {});
  CHECK(writer.flush());  // nothing buffered: nothing to do, no connection needed
  CHECK(writer.stats().failed_flushes == 0);

  writer.enqueue({make_chunk(1, 0), make_chunk(2, 0)});
  std::string error;
  CHECK_FALSE(writer.flush(&error));
  CHECK(error.find("cannot write 2 chunks: cannot connect to postgres@127.0.0.1:") == 0);
  CHECK(error.find("refused") != std::string::npos);
  CHECK(error.find("hunter2") == std::string::npos);
  CHECK_FALSE(writer.flush());

  const auto stats = writer.stats();
  CHECK(stats.failed_flushes == 2);
  CHECK(stats.buffered_chunks == 2);
  CHECK(stats.written_chunks == 0);
  CHECK_FALSE(stats.connected);
}

TEST_CASE("sample_writer refuses a malformed URL at construction") {
  CHECK_THROWS_AS(wp::sample_writer("postgresql://h/db?bogus_option=1", {}), wp::error);
}
