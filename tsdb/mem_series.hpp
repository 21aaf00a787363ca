#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tsdb/head.hpp"
#include "tsdb/symbol_table.hpp"
#include "tsdb/xor_chunk.hpp"

namespace wk::tsdb {

// Changes in a shard's accounting caused by one operation on a series.
struct usage_delta {
  std::int64_t samples = 0;
  std::int64_t chunk_bytes = 0;
  std::int64_t memory_bytes = 0;
};

// A full chunk: one allocation, this header followed by the XOR stream.
struct closed_chunk {
  std::int64_t min_t;
  std::int64_t max_t;
  std::uint32_t size;
  std::uint16_t count;

  const unsigned char* bytes() const { return reinterpret_cast<const unsigned char*>(this + 1); }
  std::size_t allocation_bytes() const { return sizeof(closed_chunk) + size; }
};

// The closed chunks of a series, oldest first: one allocation, this header followed by
// `capacity` pointers.
struct closed_list {
  std::uint32_t count;
  std::uint32_t capacity;

  closed_chunk** chunks() { return reinterpret_cast<closed_chunk**>(this + 1); }
  closed_chunk* const* chunks() const { return reinterpret_cast<closed_chunk* const*>(this + 1); }
  static std::size_t allocation_bytes(std::uint32_t capacity) {
    return sizeof(closed_list) + capacity * sizeof(closed_chunk*);
  }
};

// One series in the head, sized for a million of them: a 64-byte record followed by the
// label symbol ids (name, value, name, value...), in one allocation. It inherits the encoder
// privately so its small fields fill the encoder's tail padding. The open chunk is one
// allocation holding its stream size, then the stream; its capacity is a function of that
// size, so it is not stored.
//
// The sample data and the flush count are guarded by the series' spin lock; the labels,
// fingerprint and id never change while readers can see the series (under its shard lock).
class mem_series : private xor_encoder {
 public:
  static mem_series* create(std::uint64_t fingerprint, std::uint32_t id, const symbol_id* symbols,
                            std::size_t symbol_count);
  // Frees the series and its chunks; the caller releases the label symbols.
  static void destroy(mem_series* s) noexcept;

  std::uint64_t fingerprint() const { return fingerprint_; }
  std::uint32_t id() const { return id_; }
  void set_id(std::uint32_t id) { id_ = id; }
  std::size_t label_count() const { return label_count_; }
  const symbol_id* symbols() const { return reinterpret_cast<const symbol_id*>(this + 1); }
  std::size_t allocation_bytes() const { return sizeof(mem_series) + 2 * label_count_ * sizeof(symbol_id); }

  void lock();
  void unlock() { state_.fetch_and(static_cast<std::uint8_t>(~locked), std::memory_order_release); }

  // --- the rest needs lock() ---
  bool empty() const { return head_ == nullptr && closed_count() == 0; }
  append_status append(std::int64_t t, double v, std::int64_t min_valid_t, std::size_t samples_per_chunk,
                       usage_delta& delta);
  // Appends the samples in [mint, maxt] to out, ascending.
  void read(std::int64_t mint, std::int64_t maxt, std::vector<sample>& out) const;
  // Replaces out with XOR streams of the samples appended since the previous call (several
  // only past xor_encoder::max_samples), then marks them handed out.
  void take_unflushed(std::vector<xor_chunk>& out);
  // Drops chunks whose newest sample is older than cutoff. True when the series should go:
  // retention emptied it, or it has been empty since the previous collection (a series that
  // was created but never written is kept for one round so its first append can land).
  bool truncate(std::int64_t cutoff, usage_delta& delta);

 private:
  // Lock bit and flags share one byte; the flags only change while the lock is held.
  enum state_bit : std::uint8_t { locked = 1, seen_empty = 2 };
  bool has(state_bit bit) const { return (state_.load(std::memory_order_relaxed) & bit) != 0; }
  void set(state_bit bit) { state_.fetch_or(bit, std::memory_order_relaxed); }
  void clear(state_bit bit) { state_.fetch_and(static_cast<std::uint8_t>(~bit), std::memory_order_relaxed); }

  mem_series(std::uint64_t fingerprint, std::uint32_t id, std::size_t label_count);
  ~mem_series() = default;
  symbol_id* mutable_symbols() { return reinterpret_cast<symbol_id*>(this + 1); }
  std::uint32_t closed_count() const { return closed_ == nullptr ? 0 : closed_->count; }
  std::uint32_t head_size() const;  // stream bytes of the open chunk
  void set_head_size(std::uint32_t size);
  unsigned char* head_bytes() const { return head_ + sizeof(std::uint32_t); }
  void free_head(usage_delta& delta);
  void cut_head_chunk(usage_delta& delta);
  // Calls f(t, v) for the newest n samples, oldest first.
  template <class F>
  void for_each_of_newest(std::size_t n, F&& f) const;

  std::atomic<std::uint8_t> state_{0};
  std::uint16_t label_count_;
  std::uint32_t id_;
  std::uint32_t unflushed_ = 0;  // samples appended since the last take_unflushed()
  std::uint64_t fingerprint_;
  unsigned char* head_ = nullptr;  // open chunk: uint32 stream size, then the stream
  closed_list* closed_ = nullptr;
};

static_assert(sizeof(void*) != 8 || sizeof(mem_series) <= 64, "mem_series grew: check the memory budget");

}  // namespace wk::tsdb
