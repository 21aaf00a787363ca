#pragma once

// Turns one scrape's body into samples in the series head, the way Prometheus's scrape loop does:
// target labels attached (honor_labels or exported_ on conflict), sample_limit enforced for the
// whole scrape, a malformed body rejects the whole scrape, series that vanished get staleness
// markers, and the synthetic series up / scrape_duration_seconds / scrape_samples_scraped /
// scrape_series_added are written for every attempt.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/exposition_parser.hpp"
#include "tsdb/head.hpp"

namespace wk::watch {

struct scrape_target {
  // Attached to every series: job, instance, service and the service's own labels.
  std::vector<std::pair<std::string, std::string>> labels;
  std::uint64_t sample_limit = 0;  // 0 = unlimited
  bool honor_labels = false;
  bool honor_timestamps = true;
};

struct scrape_outcome {
  bool ok = false;
  std::string error;
  std::size_t samples_scraped = 0;
  std::size_t series_added = 0;
  std::size_t out_of_order = 0;  // samples the head refused (clock skew, duplicate timestamps)
};

class scrape_ingester {
 public:
  scrape_ingester(tsdb::head& head, scrape_target target);

  // Parses and appends; nothing is appended unless the whole body parses within the limits.
  scrape_outcome ingest(std::string_view body, std::string_view content_type, std::int64_t t_ms);

  // Marks every series of the last successful scrape stale (failed scrape, target removed).
  void mark_all_stale(std::int64_t t_ms);

  // The synthetic series for this attempt.
  void write_report(const scrape_outcome& outcome, double duration_seconds, std::int64_t t_ms);

 private:
  struct pending {
    tsdb::series_ref ref;
    std::int64_t t;
    double v;
  };
  void append_synthetic(const char* name, double v, std::int64_t t_ms);
  tsdb::series_ref resolve(const protocol::exposition_parser& parser, bool* created);
  void fill_labels(const protocol::exposition_parser& parser);
  void erase_cached(tsdb::series_ref ref);

  tsdb::head& head_;
  scrape_target target_;
  std::vector<pending> pending_;
  std::vector<std::pair<std::string_view, std::string_view>> label_buffer_;
  std::vector<std::string> renamed_;  // "exported_<name>" storage for the current series
  std::vector<tsdb::series_ref> previous_;
  std::vector<tsdb::series_ref> current_;
  // Scrape cache, as Prometheus keeps one: the series as written by the target (name and label
  // pairs) -> ref, so a known series costs one hash lookup instead of label sorting, hashing and
  // the head's index. Entries of series the target stopped exposing are pruned after a scrape.
  std::unordered_map<std::string, tsdb::series_ref> cache_;
  std::string key_;
};

}  // namespace wk::watch
