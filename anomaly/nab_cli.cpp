#include "anomaly/nab_cli.hpp"

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "anomaly/detector.hpp"
#include "anomaly/nab.hpp"

namespace wk::anomaly {

namespace {

namespace fs = std::filesystem;

// The detectors this command can run; the service runs the first.
constexpr const char* detector_names[] = {"watchkeeper"};

struct nab_args {
  std::string data, labels, out;
  std::string detector = detector_names[0];
};

void usage(const char* self, std::FILE* to) {
  std::fprintf(to,
               "usage: %s --data DIR [--labels combined_windows.json] --out RESULTS_DIR "
               "[--detector NAME]\n"
               "  DIR holds <category>/<file>.csv (columns timestamp,value); results go to\n"
               "  RESULTS_DIR/<detector>/<category>/<detector>_<file>.csv. Detectors:",
               self);
  for (const char* name : detector_names) std::fprintf(to, " %s", name);
  std::fprintf(to, "\n");
}

// Fills `a`; on a usage error writes the reason and returns false.
bool parse_args(int argc, char** argv, nab_args& a, bool& help, std::FILE* err) {
  const char* self = argc > 0 && argv[0] ? argv[0] : "nab";
  for (int i = 1; i < argc; ++i) {
    const std::string opt = argv[i] ? argv[i] : "";
    if (opt == "--help" || opt == "-h") {
      help = true;
      return true;
    }
    std::string* dst = opt == "--data"       ? &a.data
                       : opt == "--labels"   ? &a.labels
                       : opt == "--out"      ? &a.out
                       : opt == "--detector" ? &a.detector
                                             : nullptr;
    if (!dst) {
      std::fprintf(err, "%s: unknown option '%s'\n", self, opt.c_str());
      return false;
    }
    if (i + 1 >= argc || !argv[i + 1] || argv[i + 1][0] == '\0') {
      std::fprintf(err, "%s: %s needs a value\n", self, opt.c_str());
      return false;
    }
    *dst = argv[++i];
  }
  if (a.data.empty() || a.out.empty()) {
    std::fprintf(err, "%s: --data and --out are required\n", self);
    return false;
  }
  bool known = false;
  for (const char* name : detector_names) known = known || a.detector == name;
  if (!known) {
    std::fprintf(err, "%s: unknown detector '%s'\n", self, a.detector.c_str());
    return false;
  }
  return true;
}

// Creates the results directory up front, so an unwritable destination fails before the work.
void prepare_out(const std::string& out) {
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) throw std::runtime_error("--out " + out + ": cannot create directory: " + ec.message());
  if (!fs::is_directory(out, ec)) throw std::runtime_error("--out " + out + ": not a directory");
  const fs::path probe = fs::path(out) / ".nab-write-probe";
  std::FILE* f = std::fopen(probe.c_str(), "wb");
  if (!f) throw std::runtime_error("--out " + out + ": not writable: " + std::strerror(errno));
  std::fclose(f);
  fs::remove(probe, ec);
}

int run(const nab_args& a, std::FILE* out, std::FILE* err, const char* self) {
  const std::vector<nab_series> corpus = read_nab_corpus(a.data);
  if (corpus.empty()) {
    std::fprintf(err, "%s: no <category>/<file>.csv files under %s\n", self, a.data.c_str());
    return 1;
  }
  std::map<std::string, std::vector<nab_window>> windows;
  if (!a.labels.empty()) windows = read_nab_windows(a.labels);
  prepare_out(a.out);

  std::vector<nab_scored_file> scored;
  scored.reserve(corpus.size());
  std::size_t samples = 0;
  const std::vector<nab_window> none;
  for (const auto& series : corpus) {
    detector det;
    nab_scored_file f;
    f.scores.reserve(series.samples.size());
    for (const auto& s : series.samples) f.scores.push_back(det.update(s.t_ms, s.value));
    samples += series.samples.size();
    const auto it = windows.find(series.category + "/" + series.name);
    const auto& w = it == windows.end() ? none : it->second;
    write_nab_results(a.out, a.detector, series, f.scores, nab_labels(series.samples, w));
    f.windows = nab_index_windows(series.samples, w);
    scored.push_back(std::move(f));
  }
  std::fprintf(out, "files %zu samples %zu\n", corpus.size(), samples);
  if (a.labels.empty()) return 0;
  for (const auto& profile : nab_standard_profiles()) {
    const nab_result r = nab_optimise(scored, profile);
    std::fprintf(out,
                 "%-20s score %7.2f  threshold %.6f  tp %zu fp %zu fn %zu  raw %.3f null %.3f "
                 "perfect %.3f\n",
                 r.profile.c_str(), r.normalised, r.threshold, r.tp, r.fp, r.fn, r.raw, r.null_raw,
                 r.perfect_raw);
  }
  return 0;
}

}  // namespace

int run_nab_command(int argc, char** argv, std::FILE* out, std::FILE* err) {
  if (!argv) argc = 0;
  const char* self = argc > 0 && argv[0] ? argv[0] : "nab";
  try {
    nab_args a;
    bool help = false;
    if (!parse_args(argc, argv, a, help, err)) {
      usage(self, err);
      return 2;
    }
    if (help) {
      usage(self, out);
      return 0;
    }
    return run(a, out, err, self);
  } catch (const std::exception& e) {
    std::fprintf(err, "%s: %s\n", self, e.what());
    return 1;
  }
}

}  // namespace wk::anomaly
