#include "tsdb/mem_series.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <thread>

namespace wk::tsdb {
namespace {

constexpr std::size_t size_prefix = sizeof(std::uint32_t);

// Allocation for an open chunk of `bytes` (size prefix included): quarter steps between
// powers of two, at sizes glibc's malloc uses fully (16k + 8). Slack stays near an eighth,
// and since this depends on the size alone the capacity need not be stored.
std::size_t head_allocation(std::size_t bytes) {
  if (bytes <= 24) return 24;
  std::size_t power = std::size_t{1} << (63 - __builtin_clzll(bytes));
  std::size_t step = power / 4;
  std::size_t rounded = (bytes + step - 1) / step * step;
  return ((rounded + 7) & ~std::size_t{15}) + 8;
}

void* checked_malloc(std::size_t n) {
  void* p = std::malloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

mem_series::mem_series(std::uint64_t fingerprint, std::uint32_t id, std::size_t label_count)
    : label_count_(static_cast<std::uint16_t>(label_count)), id_(id), fingerprint_(fingerprint) {}

mem_series* mem_series::create(std::uint64_t fingerprint, std::uint32_t id, const symbol_id* symbols,
                               std::size_t symbol_count) {
  void* mem = ::operator new(sizeof(mem_series) + symbol_count * sizeof(symbol_id));
  auto s = new (mem) mem_series(fingerprint, id, symbol_count / 2);
  std::memcpy(s->mutable_symbols(), symbols, symbol_count * sizeof(symbol_id));
  return s;
}

void mem_series::destroy(mem_series* s) noexcept {
  std::free(s->head_);
  if (s->closed_ != nullptr) {
    for (std::uint32_t i = 0; i < s->closed_->count; ++i) std::free(s->closed_->chunks()[i]);
    std::free(s->closed_);
  }
  s->~mem_series();
  ::operator delete(s);
}

void mem_series::lock() {
  while ((state_.fetch_or(locked, std::memory_order_acquire) & locked) != 0) {
    // Held only for one append or one series' decode: yield rather than burn the core.
    while ((state_.load(std::memory_order_relaxed) & locked) != 0) std::this_thread::yield();
  }
}

std::uint32_t mem_series::head_size() const {
  std::uint32_t size;
  std::memcpy(&size, head_, sizeof size);
  return size;
}

void mem_series::set_head_size(std::uint32_t size) { std::memcpy(head_, &size, sizeof size); }

void mem_series::free_head(usage_delta& delta) {
  delta.memory_bytes -= static_cast<std::int64_t>(head_allocation(size_prefix + head_size()));
  std::free(head_);
  head_ = nullptr;
}

void mem_series::cut_head_chunk(usage_delta& delta) {
  std::uint32_t size = head_size();
  std::uint32_t count = closed_count();
  std::uint32_t capacity = closed_ == nullptr ? 0 : closed_->capacity;
  auto chunk = static_cast<closed_chunk*>(checked_malloc(sizeof(closed_chunk) + size));
  if (count == capacity) {
    std::uint32_t grown = capacity == 0 ? 2 : 2 * capacity;
    void* list = std::realloc(closed_, closed_list::allocation_bytes(grown));
    if (list == nullptr) {
      std::free(chunk);
      throw std::bad_alloc();
    }
    closed_ = static_cast<closed_list*>(list);
    closed_->count = count;
    closed_->capacity = grown;
    delta.memory_bytes += static_cast<std::int64_t>(closed_list::allocation_bytes(grown) -
                                                    (capacity == 0 ? 0 : closed_list::allocation_bytes(capacity)));
  }
  xor_chunk::iterator first(std::string_view(reinterpret_cast<const char*>(head_bytes()), size));
  first.next();
  chunk->min_t = first.t();
  chunk->max_t = last_t();
  chunk->size = size;
  chunk->count = xor_encoder::count();
  std::memcpy(chunk + 1, head_bytes(), size);
  closed_->chunks()[closed_->count++] = chunk;
  delta.memory_bytes += static_cast<std::int64_t>(chunk->allocation_bytes());
  free_head(delta);
}

append_status mem_series::append(std::int64_t t, double v, std::int64_t min_valid_t,
                                 std::size_t samples_per_chunk, usage_delta& delta) {
  if (t < min_valid_t) return append_status::too_old;
  if (!empty()) {
    if (t < last_t()) return append_status::out_of_order;
    if (t == last_t()) {
      return value_bits(v) == last_v_bits() ? append_status::duplicate : append_status::out_of_order;
    }
  }
  // A failed allocation (std::bad_alloc) leaves the series as it was.
  if (head_ != nullptr && xor_encoder::count() >= samples_per_chunk) cut_head_chunk(delta);
  if (head_ == nullptr) {
    std::size_t allocation = head_allocation(size_prefix + xor_encoder::header_bytes);
    head_ = static_cast<unsigned char*>(checked_malloc(allocation));
    set_head_size(xor_encoder::header_bytes);
    write_count(head_bytes(), 0);
    restart();
    delta.memory_bytes += static_cast<std::int64_t>(allocation);
    delta.chunk_bytes += xor_encoder::header_bytes;
  }
  std::uint32_t size = head_size();
  const saved_state before = save();
  unsigned char scratch[1 + xor_encoder::max_sample_bytes];
  scratch[0] = head_bytes()[size - 1];
  std::size_t added = encode(t, v, scratch + 1);
  std::size_t needed = size + added;
  std::size_t have = head_allocation(size_prefix + size);
  std::size_t want = head_allocation(size_prefix + needed);
  if (want != have) {
    void* grown = std::realloc(head_, want);
    if (grown == nullptr) {
      restore(before);
      throw std::bad_alloc();
    }
    head_ = static_cast<unsigned char*>(grown);
    delta.memory_bytes += static_cast<std::int64_t>(want - have);
  }
  head_bytes()[size - 1] = scratch[0];
  std::memcpy(head_bytes() + size, scratch + 1, added);
  set_head_size(static_cast<std::uint32_t>(needed));
  write_count(head_bytes(), xor_encoder::count());
  if (unflushed_ != std::numeric_limits<std::uint32_t>::max()) ++unflushed_;
  if (has(seen_empty)) clear(seen_empty);
  delta.samples += 1;
  delta.chunk_bytes += static_cast<std::int64_t>(added);
  return append_status::ok;
}

template <class F>
void mem_series::for_each_of_newest(std::size_t n, F&& f) const {
  std::size_t total = head_ == nullptr ? 0 : xor_encoder::count();
  for (std::uint32_t i = 0; i < closed_count(); ++i) total += closed_->chunks()[i]->count;
  std::size_t skip = total > n ? total - n : 0;
  auto scan = [&](const unsigned char* bytes, std::size_t size, std::size_t count) {
    if (skip >= count) {
      skip -= count;
      return;
    }
    xor_chunk::iterator it(std::string_view(reinterpret_cast<const char*>(bytes), size));
    while (it.next()) {
      if (skip > 0) {
        --skip;
      } else {
        f(it.t(), it.v());
      }
    }
  };
  for (std::uint32_t i = 0; i < closed_count(); ++i) {
    const closed_chunk* c = closed_->chunks()[i];
    scan(c->bytes(), c->size, c->count);
  }
  if (head_ != nullptr) scan(head_bytes(), head_size(), xor_encoder::count());
}

void mem_series::read(std::int64_t mint, std::int64_t maxt, std::vector<sample>& out) const {
  auto scan = [&](const unsigned char* bytes, std::size_t size) {
    xor_chunk::iterator it(std::string_view(reinterpret_cast<const char*>(bytes), size));
    while (it.next() && it.t() <= maxt) {
      if (it.t() >= mint) out.push_back({it.t(), it.v()});
    }
  };
  for (std::uint32_t i = 0; i < closed_count(); ++i) {
    const closed_chunk* c = closed_->chunks()[i];
    if (c->max_t < mint) continue;
    if (c->min_t > maxt) return;
    scan(c->bytes(), c->size);
  }
  if (head_ != nullptr && last_t() >= mint) scan(head_bytes(), head_size());
}

void mem_series::take_unflushed(std::vector<xor_chunk>& out) {
  out.clear();
  if (unflushed_ == 0) return;
  for_each_of_newest(unflushed_, [&](std::int64_t t, double v) {
    if (out.empty() || out.back().num_samples() == xor_encoder::max_samples) out.emplace_back();
    out.back().append(t, v);
  });
  unflushed_ = 0;
}

bool mem_series::truncate(std::int64_t cutoff, usage_delta& delta) {
  bool had_samples = !empty();
  if (closed_ != nullptr) {
    closed_chunk** chunks = closed_->chunks();
    std::uint32_t dropped = 0;
    while (dropped < closed_->count && chunks[dropped]->max_t < cutoff) {
      const closed_chunk* c = chunks[dropped];
      delta.samples -= c->count;
      delta.chunk_bytes -= c->size;
      delta.memory_bytes -= static_cast<std::int64_t>(c->allocation_bytes());
      std::free(chunks[dropped]);
      ++dropped;
    }
    if (dropped > 0) {
      closed_->count -= dropped;
      std::memmove(chunks, chunks + dropped, closed_->count * sizeof(closed_chunk*));
      std::uint32_t capacity = closed_->capacity;
      if (closed_->count == 0) {
        std::free(closed_);
        closed_ = nullptr;
        delta.memory_bytes -= static_cast<std::int64_t>(closed_list::allocation_bytes(capacity));
      } else if (capacity > 2 * closed_->count + 2) {
        std::uint32_t smaller = closed_->count;
        if (void* list = std::realloc(closed_, closed_list::allocation_bytes(smaller))) {
          closed_ = static_cast<closed_list*>(list);
          closed_->capacity = smaller;
          delta.memory_bytes -= static_cast<std::int64_t>(closed_list::allocation_bytes(capacity) -
                                                          closed_list::allocation_bytes(smaller));
        }
      }
    }
  }
  if (head_ != nullptr && last_t() < cutoff) {
    delta.samples -= xor_encoder::count();
    delta.chunk_bytes -= head_size();
    free_head(delta);
  }
  if (!empty()) return false;
  if (had_samples || has(seen_empty)) return true;
  set(seen_empty);
  return false;
}

}  // namespace wk::tsdb
