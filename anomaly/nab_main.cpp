// wk_nab: runs the Watchkeeper detector over a NAB corpus, writes NAB results files and prints
// the normalised scores per cost profile.
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "anomaly/detector.hpp"
#include "anomaly/nab.hpp"

namespace {

constexpr const char* detector_name = "watchkeeper";

int usage() {
  std::fprintf(stderr, "usage: wk_nab --data DIR [--labels combined_windows.json] --out RESULTS_DIR\n");
  return 2;
}

int run(const std::string& data, const std::string& labels_path, const std::string& out) {
  using namespace wk::anomaly;
  const std::vector<nab_series> corpus = read_nab_corpus(data);
  if (corpus.empty()) {
    std::fprintf(stderr, "wk_nab: no <category>/<file>.csv files under %s\n", data.c_str());
    return 1;
  }
  std::map<std::string, std::vector<nab_window>> windows;
  if (!labels_path.empty()) windows = read_nab_windows(labels_path);

  std::vector<nab_scored_file> scored;
  std::size_t samples = 0;
  for (const auto& series : corpus) {
    detector det;
    nab_scored_file f;
    f.scores.reserve(series.samples.size());
    for (const auto& s : series.samples) f.scores.push_back(det.update(s.t_ms, s.value));
    samples += series.samples.size();
    const auto it = windows.find(series.category + "/" + series.name);
    const std::vector<nab_window> none;
    const auto& w = it == windows.end() ? none : it->second;
    write_nab_results(out, detector_name, series, f.scores, nab_labels(series.samples, w));
    f.windows = nab_index_windows(series.samples, w);
    scored.push_back(std::move(f));
  }
  std::printf("files %zu samples %zu\n", corpus.size(), samples);
  if (labels_path.empty()) return 0;
  for (const auto& profile : nab_standard_profiles()) {
    const nab_result r = nab_optimise(scored, profile);
    std::printf("%-20s score %7.2f  threshold %.6f  tp %zu fp %zu fn %zu  raw %.3f null %.3f perfect %.3f\n",
                r.profile.c_str(), r.normalised, r.threshold, r.tp, r.fp, r.fn, r.raw, r.null_raw,
                r.perfect_raw);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, labels, out;
  for (int i = 1; i < argc; ++i) {
    const auto value = [&](std::string& dst) {
      if (i + 1 >= argc) return false;
      dst = argv[++i];
      return true;
    };
    bool ok = false;
    if (std::strcmp(argv[i], "--data") == 0) ok = value(data);
    else if (std::strcmp(argv[i], "--labels") == 0) ok = value(labels);
    else if (std::strcmp(argv[i], "--out") == 0) ok = value(out);
    if (!ok) return usage();
  }
  if (data.empty() || out.empty()) return usage();
  try {
    return run(data, labels, out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wk_nab: %s\n", e.what());
    return 1;
  }
}
