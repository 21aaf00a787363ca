#include "tsdb/series_map.hpp"

#include <algorithm>

namespace wk::tsdb {
namespace {

constexpr std::size_t min_capacity = 16;

// Grow beyond a load of 4/5 (probe runs stay short with tags) and by half each time.
bool over_load(std::size_t n, std::size_t capacity) { return 5 * n > 4 * capacity; }
std::size_t grown(std::size_t capacity) { return capacity < min_capacity ? min_capacity : capacity + capacity / 2; }

}  // namespace

std::uint64_t series_map::slot_for(const mem_series* s, std::uint64_t h) const {
  auto address = reinterpret_cast<std::uint64_t>(s);
  return tagged_ ? address | tag_of(h) : address;
}

void series_map::rehash(std::size_t capacity, bool tagged) {
  std::unique_ptr<std::uint64_t[]> fresh(new std::uint64_t[capacity]());
  std::unique_ptr<std::uint64_t[]> old = std::move(slots_);
  std::size_t old_capacity = capacity_;
  bool old_tagged = tagged_;
  slots_ = std::move(fresh);
  capacity_ = capacity;
  tagged_ = tagged;
  for (std::size_t i = 0; i < old_capacity; ++i) {
    if (old[i] == 0) continue;
    auto s = reinterpret_cast<mem_series*>(old_tagged ? old[i] & ~tag_mask : old[i]);
    std::uint64_t key = key_of(s);
    std::uint64_t h = mix(key);
    std::size_t j = home(key, h);
    while (slots_[j] != 0) j = next(j);
    slots_[j] = slot_for(s, h);
  }
}

void series_map::reserve(std::size_t n) {
  std::size_t capacity = std::max(capacity_, min_capacity);
  while (over_load(n, capacity)) capacity = grown(capacity);
  if (capacity != capacity_) rehash(capacity, tagged_);
}

void series_map::insert(mem_series* s) {
  bool fits_tag = (reinterpret_cast<std::uint64_t>(s) & tag_mask) == 0;
  if (over_load(size_ + 1, capacity_) || (tagged_ && !fits_tag)) {
    rehash(over_load(size_ + 1, capacity_) ? grown(capacity_) : capacity_, tagged_ && fits_tag);
  }
  std::uint64_t key = key_of(s);
  std::uint64_t h = mix(key);
  std::size_t i = home(key, h);
  while (slots_[i] != 0) i = next(i);
  slots_[i] = slot_for(s, h);
  ++size_;
}

void series_map::erase(const mem_series* s) {
  if (size_ == 0) return;
  std::size_t i = home(key_of(s), mix(key_of(s)));
  while (pointer_of(slots_[i]) != s) {
    if (slots_[i] == 0) return;
    i = next(i);
  }
  slots_[i] = 0;
  --size_;
  // Backward shift: pull later entries of the probe run into the hole unless their home lies
  // cyclically within (hole, entry].
  for (std::size_t j = next(i); slots_[j] != 0; j = next(j)) {
    std::uint64_t key = key_of(pointer_of(slots_[j]));
    std::size_t h = home(key, mix(key));
    bool stays = (i <= j) ? (i < h && h <= j) : (i < h || h <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    slots_[j] = 0;
    i = j;
  }
  // Shrink after mass deletion so a burst of churn does not pin the table size.
  if (capacity_ > min_capacity && 8 * size_ < capacity_) {
    try {
      rehash(std::max(min_capacity, capacity_ / 2), tagged_);
    } catch (const std::bad_alloc&) {
      // Keeping the larger table is correct, only less compact.
    }
  }
}

}  // namespace wk::tsdb
