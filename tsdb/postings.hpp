#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "tsdb/symbol_table.hpp"

namespace wk::tsdb {

using id_vector = std::vector<std::uint32_t>;

// A read-only run of ascending series ids.
struct id_span {
  const std::uint32_t* begin;
  const std::uint32_t* end;
  std::size_t size() const { return static_cast<std::size_t>(end - begin); }
};

// Ascending series ids in 16 bytes: up to two inline (most label pairs of a shard are rare),
// then a heap array grown by half, not doubled.
class id_list {
 public:
  id_list() = default;
  ~id_list();
  id_list(id_list&& other) noexcept;
  id_list& operator=(id_list&& other) noexcept;
  id_list(const id_list&) = delete;
  id_list& operator=(const id_list&) = delete;

  std::uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const std::uint32_t* data() const { return capacity_ == 0 ? inline_ : heap_; }
  std::uint32_t* data() { return capacity_ == 0 ? inline_ : heap_; }
  id_span span() const { return {data(), data() + size_}; }
  std::size_t heap_bytes() const { return capacity_ * sizeof(std::uint32_t); }

  void push_back(std::uint32_t id);   // may throw std::bad_alloc, leaving the list unchanged
  void resize_down(std::uint32_t n);  // keeps the first n ids; gives back memory when sparse

 private:
  union {
    std::uint32_t* heap_;
    std::uint32_t inline_[2];
  };
  std::uint32_t size_ = 0;
  std::uint32_t capacity_ = 0;  // 0: the ids are inline
};

// The inverted index of one shard: label name -> label value -> ids of the series carrying
// that pair. Series ids only grow, so adding a series appends to each of its lists. Each
// name's values live in a flat open-addressing table of {value, id_list}.
class postings_index {
 public:
  struct entry {
    symbol_id name;
    symbol_id value;
    std::uint32_t id;
  };

  postings_index();
  ~postings_index();
  postings_index(const postings_index&) = delete;
  postings_index& operator=(const postings_index&) = delete;

  void add(symbol_id name, symbol_id value, std::uint32_t id);  // id above every id present
  // Removes the given (name, value, id) entries; absent ones are ignored. Sorts `entries`.
  void remove(std::vector<entry>& entries);
  // Rewrites every id to its rank + 1 in old_ids (ascending, holding every id present).
  void renumber(const id_vector& old_ids);

  const id_list* get(symbol_id name, symbol_id value) const;
  template <class F>
  void for_each_value(symbol_id name, F&& f) const;
  template <class F>
  void for_each_name(F&& f) const {
    for (const auto& [name, values] : names_) f(name);
  }

  std::size_t memory_bytes() const;

 private:
  class value_table;
  std::unordered_map<symbol_id, std::unique_ptr<value_table>> names_;
};

// Set operations on ascending ids.
id_vector intersect(const id_vector& a, const id_vector& b);
id_vector subtract(const id_vector& a, const id_vector& b);
// Sorted union of several spans.
id_vector merge(const std::vector<id_span>& spans);

class postings_index::value_table {
 public:
  struct slot {
    id_list ids;
    symbol_id value = symbol_table::none;  // none: the slot is free
  };

  id_list* find(symbol_id value);
  const id_list* find(symbol_id value) const { return const_cast<value_table*>(this)->find(value); }
  id_list& find_or_add(symbol_id value);  // may throw std::bad_alloc
  void erase(symbol_id value);
  bool empty() const { return size_ == 0; }
  std::size_t memory_bytes() const;

  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < capacity_; ++i) {
      if (slots_[i].value != symbol_table::none) f(slots_[i].value, slots_[i].ids);
    }
  }
  template <class F>
  void for_each_mutable(F&& f) {
    for (std::size_t i = 0; i < capacity_; ++i) {
      if (slots_[i].value != symbol_table::none) f(slots_[i].value, slots_[i].ids);
    }
  }

 private:
  std::size_t home(symbol_id value) const;
  std::size_t next(std::size_t i) const { return i + 1 == capacity_ ? 0 : i + 1; }
  void rehash(std::size_t capacity);

  std::unique_ptr<slot[]> slots_;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
};

template <class F>
void postings_index::for_each_value(symbol_id name, F&& f) const {
  auto it = names_.find(name);
  if (it != names_.end()) it->second->for_each(f);
}

}  // namespace wk::tsdb
