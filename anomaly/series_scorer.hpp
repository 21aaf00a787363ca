#pragma once

// The anomaly scores of one service's selected series: one online detector per series, fed
// only the samples it has not seen, in order. Each score becomes a sample of
// watchkeeper_anomaly_score{metric="<name>", <the series' labels>} and a score crossing the
// threshold upwards is an anomaly event. Constant memory per series; a cap on series.

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "anomaly/detector.hpp"
#include "tsdb/head.hpp"

namespace wk::anomaly {

struct scored_sample {
  tsdb::label_set score_labels;  // watchkeeper_anomaly_score{metric=..., ...}
  tsdb::label_set series;        // the scored series
  std::int64_t t_ms;
  double value;
  double score;
  bool crossed;  // the score reached the threshold; the previous one was below
};

class series_scorer {
 public:
  series_scorer(double threshold, std::size_t max_series, detector_options options = {});

  // Feeds the samples of these series newer than what each detector has seen. Series beyond
  // max_series get no detector (counted in skipped_series()).
  std::vector<scored_sample> feed(const std::vector<tsdb::series_data>& series);

  std::size_t series() const { return detectors_.size(); }
  std::size_t skipped_series() const { return skipped_; }
  std::size_t memory_bytes() const;

 private:
  struct tracked {
    detector det;
    tsdb::label_set score_labels;
    std::int64_t last_t = INT64_MIN;
    double last_score = 0;
  };
  double threshold_;
  std::size_t max_series_;
  detector_options options_;
  std::unordered_map<std::uint64_t, tracked> detectors_;
  std::size_t skipped_ = 0;
};

// watchkeeper_anomaly_score{metric="<__name__>", rest of the labels}.
tsdb::label_set score_labels_of(const tsdb::label_set& series);

}  // namespace wk::anomaly
