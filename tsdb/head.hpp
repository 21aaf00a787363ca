#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tsdb/labels.hpp"
#include "tsdb/matcher.hpp"
#include "tsdb/sample.hpp"

namespace wk::tsdb {

struct head_options {
  std::int64_t retention_ms = 2 * 3600 * 1000;
  std::size_t shards = 16;              // 1..256
  std::size_t samples_per_chunk = 120;  // 1..65535
  // Series ids are 32 bits per shard and never reused, so a stale ref can never reach another
  // series. When a shard's next id reaches this limit its series are renumbered and refs
  // handed out before get unknown_series. Lower it only to exercise that path.
  std::uint32_t series_id_limit = std::numeric_limits<std::uint32_t>::max();
};

using series_ref = std::uint64_t;  // opaque, stable for the life of the series in the head

enum class append_status {
  ok,
  duplicate,       // same t and same value bits as the newest sample: harmless, nothing stored
  out_of_order,    // older than the newest sample, or same t with another value
  too_old,         // older than the retention window of the last gc
  unknown_series,  // the ref's series was dropped by gc (or renumbered): call get_or_create again
};

struct series_data {
  label_set labels;
  std::vector<sample> samples;
};

struct chunk_snapshot {
  std::uint64_t fingerprint;
  label_set labels;
  std::int64_t min_t;
  std::int64_t max_t;
  std::uint32_t count;
  std::string data;  // xor_chunk bytes
};

struct head_stats {
  std::size_t series;
  std::size_t samples;
  std::size_t chunk_bytes;   // encoded sample bytes
  std::size_t memory_bytes;  // estimate of everything the head allocated
  std::size_t symbols;
};

class mem_series;
class symbol_table;
struct head_shard;
struct resolved_matcher;

// The in-memory series head: series sharded by fingerprint, each shard with its own lock and
// inverted index, labels interned once in a shared symbol table, samples in XOR chunks.
//
// Thread-safe: appends, queries, gc and collection may run concurrently from several threads.
// Appends to different series of a shard run in parallel (shared shard lock plus a per-series
// spin lock); only series creation and gc's final removal take a shard exclusively.
class head {
 public:
  // Throws std::invalid_argument when an option is out of range.
  explicit head(head_options options = {});
  ~head();
  head(const head&) = delete;
  head& operator=(const head&) = delete;

  // Scrape fast path: labels come unsorted from the parser as views; no allocation when the
  // series exists. Labels with empty values are ignored. Throws std::invalid_argument for an
  // empty label set, an empty or repeated label name, or more than 65535 labels.
  series_ref get_or_create(std::string_view metric_name, const std::vector<label_view>& labels,
                           bool* created = nullptr);
  series_ref get_or_create(const label_set& labels, bool* created = nullptr);

  append_status append(series_ref ref, std::int64_t t, double v);

  // Series matching every matcher with their samples in [mint, maxt] (inclusive), samples
  // ascending, series sorted by labels. Series without samples in the range are left out.
  std::vector<series_data> select(const std::vector<matcher>& matchers, std::int64_t mint, std::int64_t maxt) const;
  // Label sets of the series matching every matcher, sorted.
  std::vector<label_set> series(const std::vector<matcher>& matchers) const;
  std::vector<std::string> label_names() const;                       // sorted
  std::vector<std::string> label_values(std::string_view name) const;  // sorted

  // Drops chunks whose newest sample is older than now - retention, and the series left
  // empty; from then on appends older than that bound get too_old. Returns series dropped.
  std::size_t gc(std::int64_t now_ms);

  // Write-behind: for every series with samples appended since the previous call, one XOR
  // chunk of exactly those samples (a series with more than 65535 of them gets several).
  // Each sample is handed out once. Works shard by shard under shared locks.
  std::vector<chunk_snapshot> collect_unflushed();

  head_stats stats() const;
  const head_options& options() const { return options_; }

 private:
  series_ref lookup_or_create(std::vector<label_view>& scratch, bool* created);
  void renumber(head_shard& shard);
  void drop_series(head_shard& shard, const std::vector<mem_series*>& doomed);
  label_set labels_of(const mem_series& s) const;
  template <class F>
  void for_each_match(const std::vector<matcher>& matchers, F&& f) const;
  std::vector<std::uint32_t> candidates(const head_shard& shard, std::vector<resolved_matcher>& resolved) const;
  bool resolve(const std::vector<matcher>& matchers, std::vector<resolved_matcher>& out) const;

  head_options options_;
  std::unique_ptr<symbol_table> symbols_;
  std::vector<std::unique_ptr<head_shard>> shards_;
  std::atomic<std::int64_t> min_valid_t_{std::numeric_limits<std::int64_t>::min()};
  std::mutex gc_mutex_;
};

}  // namespace wk::tsdb
