#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

// NAB (Numenta Anomaly Benchmark) data files, label windows, results files and scoring.
namespace wk::anomaly {

struct nab_sample {
  std::int64_t t_ms = 0;
  double value = 0.0;
};

struct nab_window {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
};

// One data file: `category/name.csv` relative to the data dir.
struct nab_series {
  std::string category;
  std::string name;
  std::vector<nab_sample> samples;
};

// Cost weights of one profile (signed, as NAB's paper writes them). Like NAB's scorer, the
// score never uses a_tn: true negatives earn nothing.
struct nab_profile {
  std::string name;
  double a_tp = 1.0;
  double a_fp = -0.11;
  double a_tn = 1.0;
  double a_fn = -1.0;
};

std::vector<nab_profile> nab_standard_profiles();

// "YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC) -> epoch milliseconds; throws std::runtime_error.
std::int64_t parse_nab_timestamp(const std::string& text);
std::string format_nab_timestamp(std::int64_t t_ms);

// Reads one NAB CSV (header line, then timestamp,value). Throws std::runtime_error naming the
// file and line on malformed input, unsorted timestamps, or more than max_rows rows.
std::vector<nab_sample> read_nab_csv(const std::string& path, std::size_t max_rows = 10'000'000);

// Every `<category>/<file>.csv` below data_dir, sorted by category then name.
std::vector<nab_series> read_nab_corpus(const std::string& data_dir);

// combined_windows.json: {"category/file.csv": [["start", "end"], ...], ...}.
std::map<std::string, std::vector<nab_window>> parse_nab_windows(const std::string& json);
std::map<std::string, std::vector<nab_window>> read_nab_windows(const std::string& path);

// Label per sample: 1 when inside any window (inclusive bounds).
std::vector<int> nab_labels(const std::vector<nab_sample>& samples,
                            const std::vector<nab_window>& windows);

// Writes RESULTS_DIR/<detector>/<category>/<detector>_<file>.csv, creating directories.
void write_nab_results(const std::string& results_dir, const std::string& detector_name,
                       const nab_series& series, const std::vector<double>& scores,
                       const std::vector<int>& labels);

// One file prepared for scoring: scores per sample, windows as inclusive index ranges.
struct nab_scored_file {
  std::vector<double> scores;
  std::vector<std::pair<std::size_t, std::size_t>> windows;
};

// Converts time windows to index windows over the samples (windows with no sample vanish).
std::vector<std::pair<std::size_t, std::size_t>> nab_index_windows(
    const std::vector<nab_sample>& samples, const std::vector<nab_window>& windows);

// NAB's first 15% of a file (at most 750 points) is probationary and not scored.
std::size_t nab_probationary_length(std::size_t n);

// NAB's scaled sigmoid: 2*sigmoid(-5x) - 1, and -1 beyond x > 3.
double nab_scaled_sigmoid(double relative_position);

struct nab_file_score {
  double score = 0.0;
  std::size_t tp = 0;
  std::size_t fp = 0;
  std::size_t fn = 0;
};

// Raw NAB score of one file at a threshold (detection: score >= threshold).
nab_file_score nab_score_file(const nab_scored_file& file, const nab_profile& profile,
                              double threshold);

struct nab_result {
  std::string profile;
  double threshold = 0.0;  // the optimised threshold
  double raw = 0.0;        // S
  double null_raw = 0.0;   // S_null
  double perfect_raw = 0.0;  // S_perfect
  double normalised = 0.0;   // 100 * (S - S_null) / (S_perfect - S_null)
  std::size_t tp = 0;
  std::size_t fp = 0;
  std::size_t fn = 0;
};

// Picks the threshold maximising the summed raw score over all files, then normalises
// between the null detector (constant score) and the perfect detector.
nab_result nab_optimise(const std::vector<nab_scored_file>& files, const nab_profile& profile);

}  // namespace wk::anomaly
