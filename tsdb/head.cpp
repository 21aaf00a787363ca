#include "tsdb/head.hpp"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <unordered_map>

#include "tsdb/mem_series.hpp"
#include "tsdb/postings.hpp"
#include "tsdb/series_map.hpp"
#include "tsdb/symbol_table.hpp"

namespace wk::tsdb {
namespace {

// A ref is [shard: 8 bits][shard epoch: 24 bits][series id: 32 bits].
constexpr int shard_shift = 56;
constexpr int epoch_shift = 32;
constexpr std::uint64_t epoch_mask = 0xffffff;
constexpr std::size_t max_shards = 256;
constexpr std::size_t max_labels = 65535;

}  // namespace

struct alignas(64) head_shard {
  explicit head_shard(std::uint32_t position) : index(position) {}
  ~head_shard() {
    by_id.for_each([](mem_series* s) { mem_series::destroy(s); });
  }
  head_shard(const head_shard&) = delete;
  head_shard& operator=(const head_shard&) = delete;

  void apply(const usage_delta& d) {
    if (d.samples != 0) samples.fetch_add(d.samples, std::memory_order_relaxed);
    if (d.chunk_bytes != 0) chunk_bytes.fetch_add(d.chunk_bytes, std::memory_order_relaxed);
    if (d.memory_bytes != 0) series_bytes.fetch_add(d.memory_bytes, std::memory_order_relaxed);
  }

  series_ref ref_of(const mem_series& s) const {
    return (static_cast<std::uint64_t>(index) << shard_shift) |
           ((static_cast<std::uint64_t>(epoch) & epoch_mask) << epoch_shift) | s.id();
  }

  mutable std::shared_mutex mutex;
  series_map by_fingerprint{series_map::key_kind::fingerprint};
  series_map by_id{series_map::key_kind::id};
  postings_index postings;
  const std::uint32_t index;
  std::uint32_t next_id = 1;
  std::uint32_t epoch = 0;
  // Updated after the shard lock is released, read without it: statistics only.
  std::atomic<std::int64_t> samples{0};
  std::atomic<std::int64_t> chunk_bytes{0};
  std::atomic<std::int64_t> series_bytes{0};  // series records, chunks and chunk arrays
};

// A matcher with its strings resolved to symbols; regex verdicts are cached per value symbol
// so each distinct value is matched once per query, not once per shard.
struct resolved_matcher {
  const matcher* m;
  bool matches_empty;  // true: selects by subtracting the values that do not match
  bool direct;         // = or != with a value: one postings list, no value scan
  symbol_id name = symbol_table::none;
  symbol_id value = symbol_table::none;
  std::unordered_map<symbol_id, bool> verdicts;
};

head::head(head_options options) : options_(options), symbols_(std::make_unique<symbol_table>()) {
  if (options_.retention_ms <= 0) throw std::invalid_argument("head: retention_ms must be positive");
  if (options_.shards == 0 || options_.shards > max_shards) {
    throw std::invalid_argument("head: shards must be between 1 and 256");
  }
  if (options_.samples_per_chunk == 0 || options_.samples_per_chunk > xor_encoder::max_samples) {
    throw std::invalid_argument("head: samples_per_chunk must be between 1 and 65535");
  }
  if (options_.series_id_limit < 2) throw std::invalid_argument("head: series_id_limit must be at least 2");
  shards_.reserve(options_.shards);
  for (std::size_t i = 0; i < options_.shards; ++i) {
    shards_.push_back(std::make_unique<head_shard>(static_cast<std::uint32_t>(i)));
  }
}

head::~head() = default;

series_ref head::get_or_create(std::string_view metric_name, const std::vector<label_view>& labels, bool* created) {
  thread_local std::vector<label_view> scratch;
  scratch.clear();
  if (!metric_name.empty()) scratch.emplace_back(metric_name_label, metric_name);
  scratch.insert(scratch.end(), labels.begin(), labels.end());
  return lookup_or_create(scratch, created);
}

series_ref head::get_or_create(const label_set& labels, bool* created) {
  thread_local std::vector<label_view> scratch;
  scratch.clear();
  for (const auto& l : labels.labels()) scratch.emplace_back(l.name, l.value);
  return lookup_or_create(scratch, created);
}

series_ref head::lookup_or_create(std::vector<label_view>& scratch, bool* created) {
  normalize_label_views(scratch);
  if (scratch.empty()) throw std::invalid_argument("a series needs at least one label with a value");
  if (scratch.size() > max_labels) throw std::invalid_argument("a series has at most 65535 labels");
  std::uint64_t fingerprint = fingerprint_of(scratch);
  head_shard& shard = *shards_[fingerprint % shards_.size()];
  auto same_labels = [&](const mem_series* s) {
    if (s->label_count() != scratch.size()) return false;
    const symbol_id* ids = s->symbols();
    for (std::size_t i = 0; i < scratch.size(); ++i) {
      if (symbols_->view(ids[2 * i]) != scratch[i].first || symbols_->view(ids[2 * i + 1]) != scratch[i].second) {
        return false;
      }
    }
    return true;
  };
  if (created != nullptr) *created = false;
  {
    std::shared_lock lock(shard.mutex);
    if (const mem_series* s = shard.by_fingerprint.find(fingerprint, same_labels)) return shard.ref_of(*s);
  }
  std::unique_lock lock(shard.mutex);
  if (const mem_series* s = shard.by_fingerprint.find(fingerprint, same_labels)) return shard.ref_of(*s);
  if (shard.next_id >= options_.series_id_limit) renumber(shard);
  if (shard.next_id >= options_.series_id_limit) {
    throw std::length_error("head: shard already holds series_id_limit series");
  }

  thread_local std::vector<std::string_view> strings;
  thread_local std::vector<symbol_id> ids;
  strings.clear();
  for (const auto& [name, value] : scratch) {
    strings.push_back(name);
    strings.push_back(value);
  }
  ids.resize(strings.size());
  symbols_->acquire(strings.data(), strings.size(), ids.data());
  mem_series* s = nullptr;
  std::vector<postings_index::entry> added;
  try {
    added.reserve(scratch.size());
    s = mem_series::create(fingerprint, shard.next_id, ids.data(), ids.size());
    shard.by_fingerprint.insert(s);
    try {
      shard.by_id.insert(s);
      for (std::size_t i = 0; i < scratch.size(); ++i) {
        shard.postings.add(ids[2 * i], ids[2 * i + 1], s->id());
        added.push_back({ids[2 * i], ids[2 * i + 1], s->id()});
      }
    } catch (...) {
      shard.postings.remove(added);
      shard.by_id.erase(s);
      shard.by_fingerprint.erase(s);
      throw;
    }
  } catch (...) {
    if (s != nullptr) mem_series::destroy(s);
    symbols_->release(ids.data(), ids.size());
    throw;
  }
  ++shard.next_id;
  shard.series_bytes.fetch_add(static_cast<std::int64_t>(s->allocation_bytes()), std::memory_order_relaxed);
  if (created != nullptr) *created = true;
  return shard.ref_of(*s);
}

void head::renumber(head_shard& shard) {
  std::vector<mem_series*> all;
  all.reserve(shard.by_id.size());
  shard.by_id.for_each([&](mem_series* s) { all.push_back(s); });
  std::sort(all.begin(), all.end(), [](const mem_series* a, const mem_series* b) { return a->id() < b->id(); });
  std::vector<std::uint32_t> old_ids;
  old_ids.reserve(all.size());
  for (const mem_series* s : all) old_ids.push_back(s->id());
  series_map fresh(series_map::key_kind::id);
  fresh.reserve(all.size());
  // Nothing below allocates, so the shard cannot be left half renumbered.
  shard.postings.renumber(old_ids);
  for (std::size_t i = 0; i < all.size(); ++i) {
    all[i]->set_id(static_cast<std::uint32_t>(i + 1));
    fresh.insert(all[i]);
  }
  shard.by_id = std::move(fresh);
  shard.next_id = static_cast<std::uint32_t>(all.size() + 1);
  ++shard.epoch;
}

append_status head::append(series_ref ref, std::int64_t t, double v) {
  std::size_t index = static_cast<std::size_t>(ref >> shard_shift);
  if (index >= shards_.size()) return append_status::unknown_series;
  head_shard& shard = *shards_[index];
  usage_delta delta;
  append_status status;
  {
    std::shared_lock lock(shard.mutex);
    if (((ref >> epoch_shift) & epoch_mask) != (shard.epoch & epoch_mask)) return append_status::unknown_series;
    mem_series* s = shard.by_id.find(static_cast<std::uint32_t>(ref));
    if (s == nullptr) return append_status::unknown_series;
    s->lock();
    try {
      status = s->append(t, v, min_valid_t_.load(std::memory_order_relaxed), options_.samples_per_chunk, delta);
    } catch (...) {
      s->unlock();
      throw;
    }
    s->unlock();
  }
  shard.apply(delta);
  return status;
}

label_set head::labels_of(const mem_series& s) const {
  std::vector<label> labels;
  labels.reserve(s.label_count());
  const symbol_id* ids = s.symbols();
  for (std::size_t i = 0; i < s.label_count(); ++i) {
    labels.push_back({std::string(symbols_->view(ids[2 * i])), std::string(symbols_->view(ids[2 * i + 1]))});
  }
  return label_set(std::move(labels));
}

bool head::resolve(const std::vector<matcher>& matchers, std::vector<resolved_matcher>& out) const {
  out.clear();
  for (const matcher& m : matchers) {
    resolved_matcher r{&m, m.matches(""), false, symbols_->find(m.name()), symbol_table::none, {}};
    if (r.name == symbol_table::none) {
      // No series has this label, so every series has it empty.
      if (r.matches_empty) continue;
      return false;
    }
    if ((m.op() == match_op::equal || m.op() == match_op::not_equal) && !m.value().empty()) {
      r.direct = true;
      r.value = symbols_->find(m.value());
      if (r.value == symbol_table::none) {
        if (m.op() == match_op::equal) return false;
        continue;
      }
    }
    out.push_back(std::move(r));
  }
  // Narrow with single lists first, then regexes, and subtract last.
  auto rank = [](const resolved_matcher& r) { return r.matches_empty ? 2 : (r.direct ? 0 : 1); };
  std::stable_sort(out.begin(), out.end(),
                   [&](const resolved_matcher& a, const resolved_matcher& b) { return rank(a) < rank(b); });
  return true;
}

std::vector<std::uint32_t> head::candidates(const head_shard& shard, std::vector<resolved_matcher>& resolved) const {
  id_vector acc;
  bool narrowed = false;
  std::vector<id_span> minus;
  std::vector<id_span> lists;
  for (resolved_matcher& r : resolved) {
    lists.clear();
    if (r.direct) {
      if (const id_list* l = shard.postings.get(r.name, r.value)) lists.push_back(l->span());
    } else {
      shard.postings.for_each_value(r.name, [&](symbol_id value, const id_list& l) {
        auto [it, fresh] = r.verdicts.try_emplace(value, false);
        if (fresh) it->second = r.m->matches(symbols_->view(value));
        // Positive matchers collect matching values; the others collect values to subtract.
        if (it->second != r.matches_empty) lists.push_back(l.span());
      });
    }
    if (r.matches_empty) {
      minus.insert(minus.end(), lists.begin(), lists.end());
      continue;
    }
    if (lists.empty()) return {};
    id_vector matched = merge(lists);
    acc = narrowed ? intersect(acc, matched) : std::move(matched);
    narrowed = true;
    if (acc.empty()) return acc;
  }
  if (!narrowed) {
    acc.reserve(shard.by_id.size());
    shard.by_id.for_each([&](const mem_series* s) { acc.push_back(s->id()); });
    std::sort(acc.begin(), acc.end());
  }
  if (!minus.empty()) acc = subtract(acc, merge(minus));
  return acc;
}

template <class F>
void head::for_each_match(const std::vector<matcher>& matchers, F&& f) const {
  std::vector<resolved_matcher> resolved;
  std::uint64_t frees_seen = symbols_->frees();
  if (!resolve(matchers, resolved)) return;
  for (const auto& shard_ptr : shards_) {
    const head_shard& shard = *shard_ptr;
    std::shared_lock lock(shard.mutex);
    // A symbol freed since resolving may now stand for another string: resolve again. Ids
    // seen under this lock stay valid, as the series holding them cannot go away meanwhile.
    if (std::uint64_t frees = symbols_->frees(); frees != frees_seen) {
      frees_seen = frees;
      if (!resolve(matchers, resolved)) return;
    }
    for (std::uint32_t id : candidates(shard, resolved)) {
      if (mem_series* s = shard.by_id.find(id)) f(*s);
    }
  }
}

std::vector<series_data> head::select(const std::vector<matcher>& matchers, std::int64_t mint, std::int64_t maxt) const {
  std::vector<series_data> out;
  if (mint > maxt) return out;
  for_each_match(matchers, [&](mem_series& s) {
    std::vector<sample> samples;
    s.lock();
    try {
      s.read(mint, maxt, samples);
    } catch (...) {
      s.unlock();
      throw;
    }
    s.unlock();
    if (!samples.empty()) out.push_back({labels_of(s), std::move(samples)});
  });
  std::sort(out.begin(), out.end(), [](const series_data& a, const series_data& b) { return a.labels < b.labels; });
  return out;
}

std::vector<label_set> head::series(const std::vector<matcher>& matchers) const {
  std::vector<label_set> out;
  for_each_match(matchers, [&](const mem_series& s) { out.push_back(labels_of(s)); });
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> head::label_names() const {
  std::vector<std::string> names;
  for (const auto& shard_ptr : shards_) {
    std::shared_lock lock(shard_ptr->mutex);
    shard_ptr->postings.for_each_name([&](symbol_id name) { names.emplace_back(symbols_->view(name)); });
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::vector<std::string> head::label_values(std::string_view name) const {
  std::vector<std::string> values;
  std::uint64_t frees_seen = symbols_->frees();
  symbol_id name_id = symbols_->find(name);
  for (const auto& shard_ptr : shards_) {
    std::shared_lock lock(shard_ptr->mutex);
    if (std::uint64_t frees = symbols_->frees(); frees != frees_seen) {
      frees_seen = frees;
      name_id = symbols_->find(name);
    }
    if (name_id == symbol_table::none) continue;
    shard_ptr->postings.for_each_value(name_id, [&](symbol_id value, const id_list&) {
      values.emplace_back(symbols_->view(value));
    });
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

std::size_t head::gc(std::int64_t now_ms) {
  std::lock_guard gc_lock(gc_mutex_);
  std::int64_t cutoff = now_ms < std::numeric_limits<std::int64_t>::min() + options_.retention_ms
                            ? std::numeric_limits<std::int64_t>::min()
                            : now_ms - options_.retention_ms;
  std::int64_t previous = min_valid_t_.load();
  while (previous < cutoff && !min_valid_t_.compare_exchange_weak(previous, cutoff)) {
  }
  std::size_t dropped = 0;
  for (const auto& shard_ptr : shards_) {
    head_shard& shard = *shard_ptr;
    std::vector<mem_series*> doomed;
    usage_delta delta;
    {
      // Chunks go under the shared lock, series by series, so appends keep flowing.
      std::shared_lock lock(shard.mutex);
      shard.by_id.for_each([&](mem_series* s) {
        s->lock();
        bool drop = s->truncate(cutoff, delta);
        s->unlock();
        if (drop) doomed.push_back(s);
      });
    }
    shard.apply(delta);
    if (doomed.empty()) continue;
    std::unique_lock lock(shard.mutex);
    // Only gc removes series and gc runs alone, so the pointers are still valid; an append
    // between the two locks may have revived a series, though.
    doomed.erase(std::remove_if(doomed.begin(), doomed.end(), [](const mem_series* s) { return !s->empty(); }),
                 doomed.end());
    drop_series(shard, doomed);
    dropped += doomed.size();
  }
  return dropped;
}

void head::drop_series(head_shard& shard, const std::vector<mem_series*>& doomed) {
  std::vector<postings_index::entry> entries;
  for (const mem_series* s : doomed) {
    const symbol_id* ids = s->symbols();
    for (std::size_t i = 0; i < s->label_count(); ++i) entries.push_back({ids[2 * i], ids[2 * i + 1], s->id()});
  }
  if (doomed.size() * 4 > shard.by_id.size()) {
    // Dropping a large part of the shard: rebuilding the maps from the survivors touches
    // each series once, where erasing one by one shifts long probe runs again and again.
    std::vector<mem_series*> sorted(doomed);
    std::sort(sorted.begin(), sorted.end());
    series_map by_fingerprint(series_map::key_kind::fingerprint);
    series_map by_id(series_map::key_kind::id);
    by_fingerprint.reserve(shard.by_id.size() - doomed.size());
    by_id.reserve(shard.by_id.size() - doomed.size());
    shard.by_id.for_each([&](mem_series* s) {
      if (std::binary_search(sorted.begin(), sorted.end(), s)) return;
      by_fingerprint.insert(s);
      by_id.insert(s);
    });
    shard.by_fingerprint = std::move(by_fingerprint);
    shard.by_id = std::move(by_id);
  } else {
    for (const mem_series* s : doomed) {
      shard.by_fingerprint.erase(s);
      shard.by_id.erase(s);
    }
  }
  shard.postings.remove(entries);
  for (mem_series* s : doomed) {
    symbols_->release(s->symbols(), 2 * s->label_count());
    shard.series_bytes.fetch_sub(static_cast<std::int64_t>(s->allocation_bytes()), std::memory_order_relaxed);
    mem_series::destroy(s);
  }
}

std::vector<chunk_snapshot> head::collect_unflushed() {
  std::vector<chunk_snapshot> out;
  std::vector<xor_chunk> chunks;
  for (const auto& shard_ptr : shards_) {
    std::shared_lock lock(shard_ptr->mutex);
    shard_ptr->by_id.for_each([&](mem_series* s) {
      s->lock();
      try {
        s->take_unflushed(chunks);
      } catch (...) {
        s->unlock();
        throw;
      }
      s->unlock();
      if (chunks.empty()) return;
      label_set labels = labels_of(*s);
      for (std::size_t i = 0; i < chunks.size(); ++i) {
        xor_chunk& c = chunks[i];
        out.push_back({s->fingerprint(), i + 1 == chunks.size() ? std::move(labels) : labels, c.min_time(),
                       c.max_time(), static_cast<std::uint32_t>(c.num_samples()), c.take_bytes()});
      }
    });
  }
  return out;
}

head_stats head::stats() const {
  head_stats st{};
  std::int64_t samples = 0;
  std::int64_t chunk_bytes = 0;
  std::int64_t memory = 0;
  for (const auto& shard_ptr : shards_) {
    const head_shard& shard = *shard_ptr;
    std::shared_lock lock(shard.mutex);
    st.series += shard.by_id.size();
    samples += shard.samples.load(std::memory_order_relaxed);
    chunk_bytes += shard.chunk_bytes.load(std::memory_order_relaxed);
    memory += shard.series_bytes.load(std::memory_order_relaxed);
    memory += static_cast<std::int64_t>(sizeof(head_shard) + shard.by_id.memory_bytes() +
                                        shard.by_fingerprint.memory_bytes() + shard.postings.memory_bytes());
  }
  st.samples = static_cast<std::size_t>(std::max<std::int64_t>(samples, 0));
  st.chunk_bytes = static_cast<std::size_t>(std::max<std::int64_t>(chunk_bytes, 0));
  st.symbols = symbols_->size();
  st.memory_bytes = static_cast<std::size_t>(std::max<std::int64_t>(memory, 0)) + symbols_->memory_bytes();
  return st;
}

}  // namespace wk::tsdb
