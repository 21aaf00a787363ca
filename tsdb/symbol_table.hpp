#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wk::tsdb {

using symbol_id = std::uint32_t;

// Interns label strings: each distinct string is stored once and series refer to it by a
// 32-bit id. Strings are reference counted and freed (their ids reused) when the last series
// using them is dropped, so label churn does not grow memory forever.
//
// view() takes no lock: an id is only read by someone who holds a live reference to it (a
// series under its shard lock, or the intern lock), and the storage of a live id never moves.
class symbol_table {
 public:
  static constexpr symbol_id none = 0xffffffffU;

  symbol_table();
  ~symbol_table();
  symbol_table(const symbol_table&) = delete;
  symbol_table& operator=(const symbol_table&) = delete;

  // Resolves or adds each string and takes one reference per string, under one lock.
  // Throws std::length_error when the id space or a string's length is exhausted.
  void acquire(const std::string_view* strings, std::size_t n, symbol_id* ids);
  // Drops one reference per id; strings left unreferenced are freed.
  void release(const symbol_id* ids, std::size_t n);
  // The id of s, or none when no live series uses s.
  symbol_id find(std::string_view s) const;

  std::string_view view(symbol_id id) const {
    const entry& e = slot(id);
    return {e.data, e.size};
  }

  // Counts strings freed so far. A reader that resolved ids, then sees this unchanged, knows
  // none of those ids has since been reused for another string.
  std::uint64_t frees() const { return frees_.load(std::memory_order_seq_cst); }

  std::size_t size() const;
  std::size_t memory_bytes() const;

 private:
  struct entry {
    const char* data;
    std::uint32_t size;
    std::uint32_t refs;
  };
  // Segment k holds 2^(k + base_bits) entries, so segments never move and 32-bit ids need at
  // most 32 - base_bits + 1 of them.
  static constexpr int base_bits = 10;
  static constexpr int max_segments = 32 - base_bits + 1;

  static std::size_t segment_of(symbol_id id, std::size_t& offset);
  entry& slot(symbol_id id) const {
    std::size_t offset;
    std::size_t seg = segment_of(id, offset);
    return segments_[seg].load(std::memory_order_acquire)[offset];
  }
  symbol_id allocate_id();

  mutable std::shared_mutex mutex_;
  std::array<std::atomic<entry*>, max_segments> segments_{};
  std::unordered_map<std::string_view, symbol_id> ids_;
  std::vector<symbol_id> free_ids_;
  std::atomic<std::uint64_t> frees_{0};
  symbol_id next_id_ = 0;
  std::size_t string_bytes_ = 0;
};

}  // namespace wk::tsdb
