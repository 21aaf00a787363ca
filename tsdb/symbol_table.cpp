#include "tsdb/symbol_table.hpp"

#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>

namespace wk::tsdb {

symbol_table::symbol_table() = default;

symbol_table::~symbol_table() {
  for (auto& [s, id] : ids_) delete[] slot(id).data;
  for (auto& seg : segments_) delete[] seg.load(std::memory_order_relaxed);
}

std::size_t symbol_table::segment_of(symbol_id id, std::size_t& offset) {
  std::uint64_t x = static_cast<std::uint64_t>(id) + (std::uint64_t{1} << base_bits);
  int top = 63 - __builtin_clzll(x);
  offset = static_cast<std::size_t>(x - (std::uint64_t{1} << top));
  return static_cast<std::size_t>(top - base_bits);
}

symbol_id symbol_table::allocate_id() {
  if (!free_ids_.empty()) {
    symbol_id id = free_ids_.back();
    free_ids_.pop_back();
    return id;
  }
  if (next_id_ == none) throw std::length_error("symbol table: no free symbol ids");
  symbol_id id = next_id_;
  std::size_t offset;
  std::size_t seg = segment_of(id, offset);
  if (offset == 0 && segments_[seg].load(std::memory_order_relaxed) == nullptr) {
    segments_[seg].store(new entry[std::size_t{1} << (seg + base_bits)](), std::memory_order_release);
  }
  ++next_id_;
  return id;
}

void symbol_table::acquire(const std::string_view* strings, std::size_t n, symbol_id* ids) {
  std::unique_lock lock(mutex_);
  std::size_t done = 0;
  try {
    for (; done < n; ++done) {
      std::string_view s = strings[done];
      auto it = ids_.find(s);
      if (it != ids_.end()) {
        ++slot(it->second).refs;
        ids[done] = it->second;
        continue;
      }
      if (s.size() > std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("symbol table: label string longer than 4 GiB");
      }
      std::unique_ptr<char[]> owned(new char[s.size()]);
      std::memcpy(owned.get(), s.data(), s.size());
      symbol_id id = allocate_id();
      char* data = owned.release();
      entry& e = slot(id);
      e = {data, static_cast<std::uint32_t>(s.size()), 1};
      try {
        ids_.emplace(std::string_view(data, s.size()), id);
      } catch (...) {
        delete[] data;
        e = {nullptr, 0, 0};
        free_ids_.push_back(id);
        throw;
      }
      string_bytes_ += s.size();
      ids[done] = id;
    }
  } catch (...) {
    lock.unlock();
    release(ids, done);
    throw;
  }
}

void symbol_table::release(const symbol_id* ids, std::size_t n) {
  std::unique_lock lock(mutex_);
  for (std::size_t i = 0; i < n; ++i) {
    entry& e = slot(ids[i]);
    if (--e.refs > 0) continue;
    ids_.erase(std::string_view(e.data, e.size));
    string_bytes_ -= e.size;
    delete[] e.data;
    e = {nullptr, 0, 0};
    try {
      free_ids_.push_back(ids[i]);
    } catch (const std::bad_alloc&) {
      // Out of memory: the id is just never reused; releasing must not fail half-way.
    }
    frees_.fetch_add(1, std::memory_order_seq_cst);
  }
}

symbol_id symbol_table::find(std::string_view s) const {
  std::shared_lock lock(mutex_);
  auto it = ids_.find(s);
  return it == ids_.end() ? none : it->second;
}

std::size_t symbol_table::size() const {
  std::shared_lock lock(mutex_);
  return ids_.size();
}

std::size_t symbol_table::memory_bytes() const {
  std::shared_lock lock(mutex_);
  std::size_t segment_bytes = 0;
  for (const auto& seg_ptr : segments_) {
    if (seg_ptr.load(std::memory_order_relaxed) == nullptr) break;
    segment_bytes += (std::size_t{1} << (&seg_ptr - segments_.data() + base_bits)) * sizeof(entry);
  }
  // An unordered_map node holds the key, the id and a next pointer, plus one bucket pointer.
  constexpr std::size_t node_bytes = sizeof(void*) + sizeof(std::string_view) + sizeof(symbol_id) + 8 + sizeof(void*);
  return segment_bytes + string_bytes_ + ids_.size() * node_bytes + free_ids_.capacity() * sizeof(symbol_id);
}

}  // namespace wk::tsdb
