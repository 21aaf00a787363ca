#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "tsdb/mem_series.hpp"

namespace wk::tsdb {

// Open-addressing hash set of series pointers keyed by a field of the series (its fingerprint
// or its id): one 8-byte slot per entry, no nodes. Linear probing with backward-shift deletion
// (no tombstones); growth by 1.5x up to a load of 0.8, so a table costs ~12 bytes a series.
// Pointers carry a 16-bit hash tag in their unused top bits, so probing rarely touches a
// series that is not the one sought. Ids are placed at id mod capacity: ids are handed out in
// sequence, so the series of one scrape target sit in neighbouring slots and a scrape's
// appends walk memory in order instead of missing the cache once per sample.
class series_map {
 public:
  enum class key_kind { fingerprint, id };

  explicit series_map(key_kind kind) : kind_(kind) {}

  // The first series with this key for which pred(series) holds, or nullptr.
  template <class Pred>
  mem_series* find(std::uint64_t key, Pred&& pred) const {
    if (size_ == 0) return nullptr;
    std::uint64_t h = mix(key);
    std::uint64_t tag = tag_of(h);
    for (std::size_t i = home(key, h);; i = next(i)) {
      std::uint64_t slot = slots_[i];
      if (slot == 0) return nullptr;
      if (!tagged_ || (slot & tag_mask) == tag) {
        mem_series* s = pointer_of(slot);
        if (key_of(s) == key && pred(s)) return s;
      }
    }
  }
  mem_series* find(std::uint64_t key) const {
    return find(key, [](const mem_series*) { return true; });
  }

  void insert(mem_series* s);  // may throw std::bad_alloc, leaving the map unchanged
  // Room for n series without growing, so the next inserts cannot fail.
  void reserve(std::size_t n);
  void erase(const mem_series* s);

  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < capacity_; ++i) {
      if (slots_[i] != 0) f(pointer_of(slots_[i]));
    }
  }

  std::size_t size() const { return size_; }
  std::size_t memory_bytes() const { return capacity_ * sizeof(std::uint64_t); }

 private:
  static constexpr int tag_shift = 48;
  static constexpr std::uint64_t tag_mask = 0xffffULL << tag_shift;

  static std::uint64_t mix(std::uint64_t x) {
    // MurmurHash3's finalizer: every input bit reaches every output bit.
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
  }
  static std::uint64_t tag_of(std::uint64_t h) { return (h & 0xffffULL) << tag_shift; }
  mem_series* pointer_of(std::uint64_t slot) const {
    return reinterpret_cast<mem_series*>(tagged_ ? slot & ~tag_mask : slot);
  }
  std::uint64_t key_of(const mem_series* s) const {
    return kind_ == key_kind::fingerprint ? s->fingerprint() : s->id();
  }
  std::size_t home(std::uint64_t key, std::uint64_t h) const {
    if (kind_ == key_kind::id) return static_cast<std::size_t>(key % capacity_);
    return static_cast<std::size_t>((static_cast<unsigned __int128>(h) * capacity_) >> 64);
  }
  std::size_t next(std::size_t i) const { return i + 1 == capacity_ ? 0 : i + 1; }
  std::uint64_t slot_for(const mem_series* s, std::uint64_t h) const;
  void rehash(std::size_t capacity, bool tagged);

  key_kind kind_;
  std::unique_ptr<std::uint64_t[]> slots_;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
  // Off only if the allocator ever hands out an address above 2^48 (not on x86-64 or
  // AArch64 Linux user space): then slots hold plain pointers.
  bool tagged_ = true;
};

}  // namespace wk::tsdb
