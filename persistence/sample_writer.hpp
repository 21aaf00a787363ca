#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace wk::persistence {

// One compressed chunk of one series, as the tsdb cuts it. `data` is opaque here.
struct chunk_record {
  std::uint64_t fingerprint = 0;
  std::string metric;
  std::string labels_json;  // {"a":"b",...} without __name__
  std::int64_t min_t = 0;
  std::int64_t max_t = 0;
  std::uint32_t count = 0;  // samples in the chunk
  std::string data;
};

struct writer_options {
  // Bound on buffered chunks (payload + labels + bookkeeping) while PostgreSQL is slow or
  // down; past it the oldest chunks are dropped and counted.
  std::uint64_t max_buffer_bytes = 256ull << 20;
  // Fingerprints remembered as already having a series row (~50 bytes each), so steady-state
  // flushes skip the series insert. Past the bound the cache starts over, costing one
  // redundant (conflict-ignored) insert per series; keep it above the active series count.
  std::uint64_t max_cached_series = 2'000'000;
};

struct writer_stats {
  std::uint64_t written_samples = 0;
  std::uint64_t written_chunks = 0;
  std::uint64_t dropped_samples = 0;  // evicted by the buffer bound
  std::uint64_t dropped_chunks = 0;
  std::uint64_t new_series = 0;  // series rows this writer inserted
  std::uint64_t failed_flushes = 0;
  std::uint64_t buffered_bytes = 0;
  std::uint64_t buffered_chunks = 0;
  double last_flush_seconds = 0;  // duration of the last flush that had something to write
  bool connected = false;
  std::uint64_t cached_series = 0;    // fingerprints known to have a series row
  std::uint64_t rejected_chunks = 0;  // invalid on enqueue (see last_rejection)
  std::string last_rejection;         // why the last rejected chunk was refused
};

// Write-behind of sample chunks: buffers, then writes new series rows and all chunks (COPY)
// in one transaction per flush. One connection, used from one thread (a detached actor);
// the constructor does no I/O. A failed flush keeps the buffer, drops the connection and
// reconnects on the next flush, so an outage costs only what the buffer bound evicts. If the
// connection dies during COMMIT itself the outcome is unknown; the batch is kept and may then
// be written twice (at least once, never silently lost).
class sample_writer {
 public:
  // Throws persistence::error when `url` cannot be parsed (a configuration error).
  sample_writer(std::string url, writer_options options);
  ~sample_writer();
  sample_writer(sample_writer&&) noexcept;
  sample_writer& operator=(sample_writer&&) noexcept;

  // Buffers the chunks. A chunk PostgreSQL could never store (bad UTF-8, labels that are not
  // a flat JSON object of strings, min_t > max_t, no samples) is rejected and counted rather
  // than left to fail every later flush. Never throws.
  void enqueue(std::vector<chunk_record> chunks) noexcept;

  // Writes everything buffered. Returns true when the buffer is empty afterwards; on failure
  // returns false and, when `error` is given, stores why. Never throws. Call it once more
  // before destroying the writer: the destructor does not write.
  bool flush(std::string* error = nullptr) noexcept;

  writer_stats stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

struct stored_sample_series {
  std::uint64_t fingerprint = 0;
  std::string metric;
  std::string labels_json;  // as PostgreSQL's jsonb prints it: {"a": "b"}
  std::vector<std::pair<std::int64_t, std::string>> chunks;  // (min_t, data) by min_t
};

// Raw chunks overlapping [mint, maxt], grouped per series (decoding is the tsdb's job).
// Throws persistence::error on failure or when more than `max_chunks` chunks match, so a
// careless range cannot exhaust memory.
std::vector<stored_sample_series> load_chunks(const std::string& url, std::int64_t mint,
                                              std::int64_t maxt,
                                              std::size_t max_chunks = 1'000'000);

}  // namespace wk::persistence
