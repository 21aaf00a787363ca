#include "watch/scrape_ingester.hpp"

#include <algorithm>

#include "tsdb/sample.hpp"

namespace wk::watch {

scrape_ingester::scrape_ingester(tsdb::head& head, scrape_target target)
  : head_(head), target_(std::move(target)) {
}

scrape_outcome scrape_ingester::ingest(std::string_view body, std::string_view content_type,
                                       std::int64_t t_ms) {
  scrape_outcome out;
  pending_.clear();
  current_.clear();
  protocol::exposition_parser parser(body, protocol::detect_exposition_format(content_type));
  for (;;) {
    auto e = parser.next();
    if (e == protocol::entry::eof)
      break;
    if (e == protocol::entry::error) {
      const auto& err = parser.error();
      out.error = "parse error at line " + std::to_string(err.line) + ", column " +
                  std::to_string(err.column) + ": " + err.message;
      pending_.clear();
      return out;
    }
    if (e != protocol::entry::series)
      continue;
    ++out.samples_scraped;
    if (target_.sample_limit > 0 && out.samples_scraped > target_.sample_limit) {
      out.error = "sample_limit exceeded: more than " + std::to_string(target_.sample_limit) +
                  " samples";
      pending_.clear();
      return out;
    }
    bool created = false;
    auto ref = resolve(parser, &created);
    if (created)
      ++out.series_added;
    auto ts = target_.honor_timestamps ? parser.timestamp_ms() : std::nullopt;
    pending_.push_back({ref, ts ? *ts : t_ms, parser.value()});
    current_.push_back(ref);
  }
  for (auto& p : pending_) {
    auto status = head_.append(p.ref, p.t, p.v);
    if (status == tsdb::append_status::unknown_series) {
      // Retention dropped the series since it was cached: create it again.
      erase_cached(p.ref);
      continue;
    }
    if (status == tsdb::append_status::out_of_order)
      ++out.out_of_order;
  }
  // Series present last time and gone now get a staleness marker, as in Prometheus.
  std::sort(current_.begin(), current_.end());
  current_.erase(std::unique(current_.begin(), current_.end()), current_.end());
  for (auto ref : previous_)
    if (!std::binary_search(current_.begin(), current_.end(), ref))
      head_.append(ref, t_ms, tsdb::stale_nan());
  previous_.swap(current_);
  if (cache_.size() > 2 * previous_.size() + 64)
    for (auto it = cache_.begin(); it != cache_.end();)
      it = std::binary_search(previous_.begin(), previous_.end(), it->second) ? std::next(it)
                                                                              : cache_.erase(it);
  out.ok = true;
  return out;
}

void scrape_ingester::erase_cached(tsdb::series_ref ref) {
  for (auto it = cache_.begin(); it != cache_.end();)
    it = it->second == ref ? cache_.erase(it) : std::next(it);
}

tsdb::series_ref scrape_ingester::resolve(const protocol::exposition_parser& parser,
                                          bool* created) {
  key_.assign(parser.metric_name());
  for (const auto& l : parser.labels()) {
    key_ += '\xff';
    key_ += l.name;
    key_ += '\xfe';
    key_ += l.value;
  }
  if (auto it = cache_.find(key_); it != cache_.end())
    return it->second;
  fill_labels(parser);
  auto ref = head_.get_or_create(parser.metric_name(), label_buffer_, created);
  cache_.emplace(key_, ref);
  return ref;
}

void scrape_ingester::fill_labels(const protocol::exposition_parser& parser) {
  label_buffer_.clear();
  renamed_.clear();
  const auto& parsed = parser.labels();
  renamed_.reserve(parsed.size());
  for (const auto& l : parsed) {
    bool clash = false;
    if (!target_.honor_labels)
      for (const auto& [name, value] : target_.labels)
        if (name == l.name) {
          clash = true;
          break;
        }
    if (clash) {
      renamed_.push_back("exported_" + std::string(l.name));
      label_buffer_.emplace_back(renamed_.back(), l.value);
    } else {
      label_buffer_.emplace_back(l.name, l.value);
    }
  }
  for (const auto& [name, value] : target_.labels) {
    bool present = false;
    if (target_.honor_labels)
      for (const auto& l : parsed)
        if (l.name == name) {
          present = true;
          break;
        }
    if (!present)
      label_buffer_.emplace_back(name, value);
  }
}

void scrape_ingester::mark_all_stale(std::int64_t t_ms) {
  for (auto ref : previous_)
    head_.append(ref, t_ms, tsdb::stale_nan());
  previous_.clear();
}

void scrape_ingester::append_synthetic(const char* name, double v, std::int64_t t_ms) {
  label_buffer_.clear();
  for (const auto& [n, value] : target_.labels)
    label_buffer_.emplace_back(n, value);
  auto ref = head_.get_or_create(name, label_buffer_);
  head_.append(ref, t_ms, v);
}

void scrape_ingester::write_report(const scrape_outcome& outcome, double duration_seconds,
                                   std::int64_t t_ms) {
  append_synthetic("up", outcome.ok ? 1.0 : 0.0, t_ms);
  append_synthetic("scrape_duration_seconds", duration_seconds, t_ms);
  append_synthetic("scrape_samples_scraped", static_cast<double>(outcome.samples_scraped), t_ms);
  append_synthetic("scrape_series_added", static_cast<double>(outcome.series_added), t_ms);
}

}  // namespace wk::watch
