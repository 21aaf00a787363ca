#include "anomaly/series_scorer.hpp"

#include <cmath>

namespace wk::anomaly {

tsdb::label_set score_labels_of(const tsdb::label_set& series) {
  std::vector<tsdb::label> labels;
  labels.reserve(series.size() + 1);
  for (const auto& l : series.labels()) {
    if (l.name == tsdb::metric_name_label)
      labels.push_back({"metric", l.value});
    else if (l.name != "metric")
      labels.push_back(l);
  }
  labels.push_back({std::string(tsdb::metric_name_label), "watchkeeper_anomaly_score"});
  return tsdb::label_set(std::move(labels));
}

series_scorer::series_scorer(double threshold, std::size_t max_series, detector_options options)
    : threshold_(threshold), max_series_(max_series), options_(options) {
  detector probe(options_);  // validates the options once, here
  (void)probe;
}

std::vector<scored_sample> series_scorer::feed(const std::vector<tsdb::series_data>& series) {
  std::vector<scored_sample> out;
  std::size_t skipped = 0;
  for (const auto& s : series) {
    const auto fp = s.labels.fingerprint();
    auto it = detectors_.find(fp);
    if (it == detectors_.end()) {
      if (detectors_.size() >= max_series_) {
        ++skipped;
        continue;
      }
      it = detectors_.emplace(fp, tracked{detector(options_), score_labels_of(s.labels)}).first;
    }
    auto& t = it->second;
    for (const auto& p : s.samples) {
      if (p.t <= t.last_t) continue;
      t.last_t = p.t;
      const double score = t.det.update(p.t, p.v);
      const bool crossed = score >= threshold_ && t.last_score < threshold_;
      t.last_score = score;
      out.push_back({t.score_labels, s.labels, p.t, p.v, score, crossed});
    }
  }
  skipped_ = skipped;
  return out;
}

std::size_t series_scorer::memory_bytes() const {
  std::size_t bytes = sizeof(*this);
  for (const auto& [fp, t] : detectors_) {
    bytes += sizeof(fp) + sizeof(t) + 32;  // node overhead
    for (const auto& l : t.score_labels.labels()) bytes += l.name.capacity() + l.value.capacity();
  }
  return bytes;
}

}  // namespace wk::anomaly
