#include "tsdb/postings.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <new>

namespace wk::tsdb {
namespace {

constexpr std::size_t min_table_capacity = 4;

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

id_list::~id_list() {
  if (capacity_ != 0) std::free(heap_);
}

id_list::id_list(id_list&& other) noexcept : size_(other.size_), capacity_(other.capacity_) {
  std::memcpy(inline_, other.inline_, sizeof inline_);
  if (capacity_ != 0) heap_ = other.heap_;
  other.size_ = 0;
  other.capacity_ = 0;
}

id_list& id_list::operator=(id_list&& other) noexcept {
  if (this == &other) return *this;
  if (capacity_ != 0) std::free(heap_);
  size_ = other.size_;
  capacity_ = other.capacity_;
  if (capacity_ != 0) {
    heap_ = other.heap_;
  } else {
    std::memcpy(inline_, other.inline_, sizeof inline_);
  }
  other.size_ = 0;
  other.capacity_ = 0;
  return *this;
}

void id_list::push_back(std::uint32_t id) {
  std::uint32_t limit = capacity_ == 0 ? 2 : capacity_;
  if (size_ == limit) {
    std::uint32_t grown = size_ + size_ / 2 + 2;
    auto fresh = static_cast<std::uint32_t*>(std::malloc(grown * sizeof(std::uint32_t)));
    if (fresh == nullptr) throw std::bad_alloc();
    std::memcpy(fresh, data(), size_ * sizeof(std::uint32_t));
    if (capacity_ != 0) std::free(heap_);
    heap_ = fresh;
    capacity_ = grown;
  }
  data()[size_++] = id;
}

void id_list::resize_down(std::uint32_t n) {
  size_ = std::min(size_, n);
  if (capacity_ == 0) return;
  if (size_ <= 2) {
    std::uint32_t* heap = heap_;
    std::memcpy(inline_, heap, size_ * sizeof(std::uint32_t));
    std::free(heap);
    capacity_ = 0;
  } else if (capacity_ > 2 * size_ + 8) {
    if (void* smaller = std::realloc(heap_, size_ * sizeof(std::uint32_t))) {
      heap_ = static_cast<std::uint32_t*>(smaller);
      capacity_ = size_;
    }
  }
}

std::size_t postings_index::value_table::home(symbol_id value) const {
  return static_cast<std::size_t>((static_cast<unsigned __int128>(mix(value)) * capacity_) >> 64);
}

void postings_index::value_table::rehash(std::size_t capacity) {
  std::unique_ptr<slot[]> fresh(new slot[capacity]);
  std::unique_ptr<slot[]> old = std::move(slots_);
  std::size_t old_capacity = capacity_;
  slots_ = std::move(fresh);
  capacity_ = capacity;
  for (std::size_t i = 0; i < old_capacity; ++i) {
    if (old[i].value == symbol_table::none) continue;
    std::size_t j = home(old[i].value);
    while (slots_[j].value != symbol_table::none) j = next(j);
    slots_[j].value = old[i].value;
    slots_[j].ids = std::move(old[i].ids);
  }
}

id_list* postings_index::value_table::find(symbol_id value) {
  if (size_ == 0) return nullptr;
  for (std::size_t i = home(value);; i = next(i)) {
    if (slots_[i].value == value) return &slots_[i].ids;
    if (slots_[i].value == symbol_table::none) return nullptr;
  }
}

id_list& postings_index::value_table::find_or_add(symbol_id value) {
  if (id_list* ids = find(value)) return *ids;
  // Load at most 4/5, growing by half.
  if (5 * (size_ + 1) > 4 * capacity_) rehash(capacity_ < min_table_capacity ? min_table_capacity : capacity_ + capacity_ / 2);
  std::size_t i = home(value);
  while (slots_[i].value != symbol_table::none) i = next(i);
  slots_[i].value = value;
  ++size_;
  return slots_[i].ids;
}

void postings_index::value_table::erase(symbol_id value) {
  if (size_ == 0) return;
  std::size_t i = home(value);
  while (slots_[i].value != value) {
    if (slots_[i].value == symbol_table::none) return;
    i = next(i);
  }
  slots_[i].value = symbol_table::none;
  slots_[i].ids = id_list();
  --size_;
  // Backward-shift deletion, as in series_map.
  for (std::size_t j = next(i); slots_[j].value != symbol_table::none; j = next(j)) {
    std::size_t h = home(slots_[j].value);
    bool stays = (i <= j) ? (i < h && h <= j) : (i < h || h <= j);
    if (stays) continue;
    slots_[i].value = slots_[j].value;
    slots_[i].ids = std::move(slots_[j].ids);
    slots_[j].value = symbol_table::none;
    i = j;
  }
  if (capacity_ > min_table_capacity && 8 * size_ < capacity_) {
    try {
      rehash(std::max(min_table_capacity, capacity_ / 2));
    } catch (const std::bad_alloc&) {
      // Keeping the larger table is correct, only less compact.
    }
  }
}

std::size_t postings_index::value_table::memory_bytes() const {
  std::size_t bytes = sizeof(*this) + capacity_ * sizeof(slot);
  for (std::size_t i = 0; i < capacity_; ++i) bytes += slots_[i].ids.heap_bytes();
  return bytes;
}

postings_index::postings_index() = default;
postings_index::~postings_index() = default;

void postings_index::add(symbol_id name, symbol_id value, std::uint32_t id) {
  auto [it, inserted] = names_.try_emplace(name);
  try {
    if (inserted) it->second = std::make_unique<value_table>();
    id_list& ids = it->second->find_or_add(value);
    try {
      ids.push_back(id);
    } catch (...) {
      if (ids.empty()) it->second->erase(value);
      throw;
    }
  } catch (...) {
    if (it->second == nullptr || it->second->empty()) names_.erase(it);
    throw;
  }
}

const id_list* postings_index::get(symbol_id name, symbol_id value) const {
  auto it = names_.find(name);
  return it == names_.end() ? nullptr : it->second->find(value);
}

void postings_index::remove(std::vector<entry>& entries) {
  std::sort(entries.begin(), entries.end(), [](const entry& a, const entry& b) {
    if (a.name != b.name) return a.name < b.name;
    if (a.value != b.value) return a.value < b.value;
    return a.id < b.id;
  });
  for (std::size_t i = 0; i < entries.size();) {
    std::size_t j = i;
    while (j < entries.size() && entries[j].name == entries[i].name && entries[j].value == entries[i].value) ++j;
    auto name_it = names_.find(entries[i].name);
    id_list* ids = name_it == names_.end() ? nullptr : name_it->second->find(entries[i].value);
    if (ids != nullptr) {
      // One merge-like pass per list: both sides are sorted.
      std::uint32_t* data = ids->data();
      std::size_t k = i;
      std::uint32_t kept = 0;
      for (std::uint32_t n = 0; n < ids->size(); ++n) {
        while (k < j && entries[k].id < data[n]) ++k;
        if (k < j && entries[k].id == data[n]) continue;
        data[kept++] = data[n];
      }
      ids->resize_down(kept);
      if (ids->empty()) {
        name_it->second->erase(entries[i].value);
        if (name_it->second->empty()) names_.erase(name_it);
      }
    }
    i = j;
  }
}

void postings_index::renumber(const id_vector& old_ids) {
  for (auto& [name, values] : names_) {
    values->for_each_mutable([&](symbol_id, id_list& ids) {
      std::uint32_t* data = ids.data();
      for (std::uint32_t n = 0; n < ids.size(); ++n) {
        auto pos = std::lower_bound(old_ids.begin(), old_ids.end(), data[n]);
        data[n] = static_cast<std::uint32_t>(pos - old_ids.begin()) + 1;
      }
    });
  }
}

std::size_t postings_index::memory_bytes() const {
  // Each name costs a hash node and a bucket besides its table.
  std::size_t bytes = names_.size() * (4 * sizeof(void*));
  for (const auto& [name, values] : names_) bytes += values->memory_bytes();
  return bytes;
}

id_vector intersect(const id_vector& a, const id_vector& b) {
  id_vector out;
  const id_vector& small = a.size() <= b.size() ? a : b;
  const id_vector& large = a.size() <= b.size() ? b : a;
  // Galloping through the larger list keeps a tiny list against a huge one cheap.
  if (small.size() * 16 < large.size()) {
    auto from = large.begin();
    for (std::uint32_t id : small) {
      from = std::lower_bound(from, large.end(), id);
      if (from == large.end()) break;
      if (*from == id) out.push_back(id);
    }
    return out;
  }
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

id_vector subtract(const id_vector& a, const id_vector& b) {
  id_vector out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

id_vector merge(const std::vector<id_span>& spans) {
  id_vector out;
  std::size_t total = 0;
  for (const auto& s : spans) total += s.size();
  out.reserve(total);
  for (const auto& s : spans) out.insert(out.end(), s.begin, s.end);
  if (spans.size() > 1) {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  return out;
}

}  // namespace wk::tsdb
