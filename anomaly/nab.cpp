#include "anomaly/nab.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

namespace wk::anomaly {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t max_windows_file_bytes = 64u << 20;
constexpr std::size_t max_line_bytes = 4096;

// Howard Hinnant's days_from_civil: proleptic Gregorian date -> days since 1970-01-01.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool digits(const std::string& s, std::size_t pos, std::size_t n, unsigned& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return true;
}

std::string trim(const std::string& s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '"')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '"')) --e;
  return s.substr(b, e - b);
}

enum class line_status { ok, eof, too_long };

// getline with a bound, so a hostile file without newlines cannot exhaust memory.
line_status read_line(std::istream& in, std::string& line) {
  line.clear();
  std::streambuf* buf = in.rdbuf();
  for (;;) {
    const int c = buf->sbumpc();
    if (c == std::char_traits<char>::eof()) return line.empty() ? line_status::eof : line_status::ok;
    if (c == '\n') return line_status::ok;
    if (line.size() >= max_line_bytes) return line_status::too_long;
    line.push_back(static_cast<char>(c));
  }
}

// Minimal JSON reader for the one shape NAB label files have; depth is fixed, so hostile
// nesting cannot recurse.
class windows_json_parser {
 public:
  explicit windows_json_parser(const std::string& text) : s_(text) {}

  std::map<std::string, std::vector<nab_window>> parse() {
    std::map<std::string, std::vector<nab_window>> out;
    expect('{');
    if (peek() == '}') {
      ++pos_;
    } else {
      for (;;) {
        std::string key = string_value();
        expect(':');
        out[key] = window_list();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect('}');
        break;
      }
    }
    if (peek() != '\0') fail("trailing data after the top-level object");
    return out;
  }

 private:
  std::vector<nab_window> window_list() {
    std::vector<nab_window> windows;
    expect('[');
    if (peek() == ']') {
      ++pos_;
      return windows;
    }
    for (;;) {
      expect('[');
      nab_window w;
      w.start_ms = timestamp();
      expect(',');
      w.end_ms = timestamp();
      expect(']');
      if (w.end_ms < w.start_ms) fail("window ends before it starts");
      windows.push_back(w);
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(']');
      return windows;
    }
  }

  std::int64_t timestamp() {
    const std::string text = string_value();
    try {
      return parse_nab_timestamp(text);
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }

  std::string string_value() {
    expect('"');
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c == '\\') {
        if (pos_ >= s_.size()) break;
        c = s_[pos_++];
        switch (c) {
          case '"': case '\\': case '/': break;
          case 'n': c = '\n'; break;
          case 't': c = '\t'; break;
          default: fail("unsupported escape in string");
        }
      }
      out.push_back(c);
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    ++pos_;
    return out;
  }

  char peek() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' ||
                                s_[pos_] == '\t')) {
      ++pos_;
    }
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }

  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("label windows JSON: " + what + " at offset " +
                             std::to_string(pos_));
  }

  const std::string& s_;
  std::size_t pos_ = 0;
};

// Point classes for the sweep.
constexpr int probationary = -2;
constexpr int outside = -1;

struct sweep_point {
  double anomaly = 0.0;
  double weighted = 0.0;  // NAB's sweep score if this point is a detection
  int window = outside;
};

double max_tp() { return nab_scaled_sigmoid(-1.0); }

// NAB's Sweeper.calcSweepScore: weight of each point were it detected.
std::vector<sweep_point> sweep(const nab_scored_file& file, const nab_profile& profile) {
  const std::size_t n = file.scores.size();
  const std::size_t prob = nab_probationary_length(n);
  std::vector<sweep_point> points(n);
  std::size_t next_window = 0;
  bool in_window = false;
  bool have_prev = false;
  double prev_width = 0.0;
  double prev_right = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    while (!in_window && next_window < file.windows.size() &&
           file.windows[next_window].second < i) {
      ++next_window;
    }
    if (!in_window && next_window < file.windows.size() &&
        file.windows[next_window].first <= i) {
      in_window = true;
    }
    sweep_point& p = points[i];
    p.anomaly = file.scores[i];
    if (in_window) {
      const auto& w = file.windows[next_window];
      const double width = static_cast<double>(w.second - w.first + 1);
      const double pos = -static_cast<double>(w.second - i + 1) / width;
      p.weighted = nab_scaled_sigmoid(pos) * profile.a_tp / max_tp();
      p.window = static_cast<int>(next_window);
    } else {
      double unweighted = -1.0;
      if (have_prev) {
        // A one-point window would divide by zero in NAB; treat its FP as far behind.
        unweighted = prev_width > 1.0
                         ? nab_scaled_sigmoid(std::fabs(prev_right - static_cast<double>(i)) /
                                              (prev_width - 1.0))
                         : -1.0;
      }
      p.weighted = unweighted * std::fabs(profile.a_fp);
    }
    if (i < prob) p.window = probationary;
    if (in_window && file.windows[next_window].second == i) {
      const auto& w = file.windows[next_window];
      have_prev = true;
      prev_width = static_cast<double>(w.second - w.first + 1);
      prev_right = static_cast<double>(w.second);
      in_window = false;
      ++next_window;
    }
  }
  return points;
}

// Windows that contain at least one scored point; the others can be neither hit nor missed.
std::vector<bool> scorable_windows(const nab_scored_file& file) {
  const std::size_t prob = nab_probationary_length(file.scores.size());
  std::vector<bool> out(file.windows.size());
  for (std::size_t w = 0; w < file.windows.size(); ++w) {
    out[w] = file.windows[w].second >= prob && file.windows[w].second < file.scores.size();
  }
  return out;
}

std::size_t count_true(const std::vector<bool>& v) {
  return static_cast<std::size_t>(std::count(v.begin(), v.end(), true));
}

struct threshold_step {
  double threshold;
  double delta;
};

// Per-file score as a step function of the threshold: lowering the threshold to `threshold`
// changes the score by `delta`. NAB's calcScoreByThreshold, as increments.
void append_steps(const nab_scored_file& file, const nab_profile& profile,
                  std::vector<threshold_step>& steps) {
  std::vector<sweep_point> points = sweep(file, profile);
  points.erase(std::remove_if(points.begin(), points.end(),
                              [](const sweep_point& p) { return p.window == probationary; }),
               points.end());
  std::stable_sort(points.begin(), points.end(),
                   [](const sweep_point& a, const sweep_point& b) { return a.anomaly > b.anomaly; });
  std::vector<double> best(file.windows.size(), 0.0);
  std::vector<bool> hit(file.windows.size(), false);
  for (std::size_t i = 0; i < points.size();) {
    const double thr = points[i].anomaly;
    double delta = 0.0;
    for (; i < points.size() && points[i].anomaly == thr; ++i) {
      const sweep_point& p = points[i];
      if (p.window == outside) {
        delta += p.weighted;
        continue;
      }
      const auto w = static_cast<std::size_t>(p.window);
      if (!hit[w]) {
        hit[w] = true;
        best[w] = p.weighted;
        delta += p.weighted - profile.a_fn;
      } else if (p.weighted > best[w]) {
        delta += p.weighted - best[w];
        best[w] = p.weighted;
      }
    }
    steps.push_back({thr, delta});
  }
}

struct optimum {
  double threshold = 0.0;
  double raw = 0.0;
};

optimum optimise_raw(const std::vector<nab_scored_file>& files, const nab_profile& profile) {
  std::vector<threshold_step> steps;
  double base = 0.0;
  double top = 0.0;
  for (const auto& f : files) {
    base += static_cast<double>(count_true(scorable_windows(f))) * profile.a_fn;
    append_steps(f, profile, steps);
    for (double s : f.scores) top = std::max(top, s);
  }
  std::stable_sort(steps.begin(), steps.end(), [](const threshold_step& a, const threshold_step& b) {
    return a.threshold > b.threshold;
  });
  // No detection at all: a threshold above every score.
  optimum best{std::nextafter(top, std::numeric_limits<double>::infinity()) + 1e-9, base};
  double cur = base;
  for (std::size_t i = 0; i < steps.size();) {
    const double thr = steps[i].threshold;
    for (; i < steps.size() && steps[i].threshold == thr; ++i) cur += steps[i].delta;
    if (cur > best.raw + 1e-12) best = {thr, cur};
  }
  return best;
}

}  // namespace

std::vector<nab_profile> nab_standard_profiles() {
  return {{"standard", 1.0, -0.11, 1.0, -1.0},
          {"reward_low_FP_rate", 1.0, -0.22, 1.0, -1.0},
          {"reward_low_FN_rate", 1.0, -0.11, 1.0, -2.0}};
}

std::int64_t parse_nab_timestamp(const std::string& text) {
  unsigned y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  const bool ok = text.size() >= 19 && digits(text, 0, 4, y) && text[4] == '-' &&
                  digits(text, 5, 2, mo) && text[7] == '-' && digits(text, 8, 2, d) &&
                  (text[10] == ' ' || text[10] == 'T') && digits(text, 11, 2, h) &&
                  text[13] == ':' && digits(text, 14, 2, mi) && text[16] == ':' &&
                  digits(text, 17, 2, s);
  if (!ok || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    throw std::runtime_error("bad timestamp '" + text.substr(0, 64) +
                             "' (want YYYY-MM-DD HH:MM:SS[.ffffff])");
  }
  std::int64_t ms = 0;
  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::int64_t scale = 100;
    const std::size_t start = pos;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
      ms += (text[pos] - '0') * scale;
      scale /= 10;
    }
    if (pos == start) throw std::runtime_error("bad timestamp fraction in '" + text.substr(0, 64) + "'");
  }
  if (pos != text.size()) {
    throw std::runtime_error("trailing characters in timestamp '" + text.substr(0, 64) + "'");
  }
  const std::int64_t days = days_from_civil(y, mo, d);
  return ((days * 24 + h) * 60 + mi) * 60'000 + static_cast<std::int64_t>(s) * 1000 + ms;
}

std::string format_nab_timestamp(std::int64_t t_ms) {
  const std::int64_t day_ms = 86'400'000;
  std::int64_t days = t_ms / day_ms;
  std::int64_t rem = t_ms % day_ms;
  if (rem < 0) {
    rem += day_ms;
    --days;
  }
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  const auto secs = rem / 1000;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld:%02lld",
                static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  return buf;
}

std::vector<nab_sample> read_nab_csv(const std::string& path, std::size_t max_rows) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<nab_sample> out;
  std::string line;
  std::size_t line_no = 0;
  const auto fail = [&](const std::string& what) {
    throw std::runtime_error(path + ":" + std::to_string(line_no) + ": " + what);
  };
  for (;;) {
    const line_status st = read_line(in, line);
    if (st == line_status::eof) break;
    ++line_no;
    if (st == line_status::too_long) fail("line longer than " + std::to_string(max_line_bytes) + " bytes");
    if (line_no == 1) continue;  // header
    if (trim(line).empty()) continue;
    const auto comma = line.find(',');
    if (comma == std::string::npos) fail("want timestamp,value");
    nab_sample s;
    try {
      s.t_ms = parse_nab_timestamp(trim(line.substr(0, comma)));
    } catch (const std::exception& e) {
      fail(e.what());
    }
    const std::string v = trim(line.substr(comma + 1));
    char* end = nullptr;
    errno = 0;
    s.value = std::strtod(v.c_str(), &end);
    if (v.empty() || end != v.c_str() + v.size() || errno == ERANGE || !std::isfinite(s.value)) {
      fail("bad value '" + v.substr(0, 64) + "'");
    }
    if (!out.empty() && s.t_ms < out.back().t_ms) fail("timestamps go backwards");
    if (out.size() >= max_rows) fail("more than " + std::to_string(max_rows) + " rows");
    out.push_back(s);
  }
  if (line_no == 0) throw std::runtime_error(path + ": empty file (no header)");
  return out;
}

std::vector<nab_series> read_nab_corpus(const std::string& data_dir) {
  std::error_code ec;
  if (!fs::is_directory(data_dir, ec)) throw std::runtime_error(data_dir + ": not a directory");
  std::vector<nab_series> out;
  for (const auto& cat : fs::directory_iterator(data_dir)) {
    if (!cat.is_directory()) continue;
    for (const auto& file : fs::directory_iterator(cat.path())) {
      if (!file.is_regular_file() || file.path().extension() != ".csv") continue;
      nab_series s;
      s.category = cat.path().filename().string();
      s.name = file.path().filename().string();
      s.samples = read_nab_csv(file.path().string());
      out.push_back(std::move(s));
    }
  }
  std::sort(out.begin(), out.end(), [](const nab_series& a, const nab_series& b) {
    return a.category != b.category ? a.category < b.category : a.name < b.name;
  });
  return out;
}

std::map<std::string, std::vector<nab_window>> parse_nab_windows(const std::string& json) {
  return windows_json_parser(json).parse();
}

std::map<std::string, std::vector<nab_window>> read_nab_windows(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_windows_file_bytes) throw std::runtime_error(path + ": larger than 64 MiB");
  }
  try {
    return parse_nab_windows(text);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

std::vector<int> nab_labels(const std::vector<nab_sample>& samples,
                            const std::vector<nab_window>& windows) {
  std::vector<int> labels(samples.size(), 0);
  for (const auto& [first, last] : nab_index_windows(samples, windows)) {
    for (std::size_t i = first; i <= last; ++i) labels[i] = 1;
  }
  return labels;
}

std::vector<std::pair<std::size_t, std::size_t>> nab_index_windows(
    const std::vector<nab_sample>& samples, const std::vector<nab_window>& windows) {
  std::vector<nab_window> sorted = windows;
  std::sort(sorted.begin(), sorted.end(),
            [](const nab_window& a, const nab_window& b) { return a.start_ms < b.start_ms; });
  std::vector<std::pair<std::size_t, std::size_t>> out;
  const auto by_time = [](const nab_sample& s, std::int64_t t) { return s.t_ms < t; };
  for (const auto& w : sorted) {
    const auto lo = std::lower_bound(samples.begin(), samples.end(), w.start_ms, by_time);
    auto hi = std::upper_bound(samples.begin(), samples.end(), w.end_ms,
                               [](std::int64_t t, const nab_sample& s) { return t < s.t_ms; });
    if (lo == samples.end() || hi == samples.begin() || lo >= hi) continue;
    auto first = static_cast<std::size_t>(lo - samples.begin());
    const auto last = static_cast<std::size_t>(hi - samples.begin()) - 1;
    // Overlapping windows merge so each point belongs to one window.
    if (!out.empty() && first <= out.back().second) {
      out.back().second = std::max(out.back().second, last);
      continue;
    }
    out.emplace_back(first, last);
  }
  return out;
}

void write_nab_results(const std::string& results_dir, const std::string& detector_name,
                       const nab_series& series, const std::vector<double>& scores,
                       const std::vector<int>& labels) {
  if (scores.size() != series.samples.size() || labels.size() != series.samples.size()) {
    throw std::runtime_error("results for " + series.name + ": size mismatch");
  }
  const fs::path dir = fs::path(results_dir) / detector_name / series.category;
  fs::create_directories(dir);
  const fs::path path = dir / (detector_name + "_" + series.name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error(path.string() + ": cannot write");
  out << "timestamp,value,anomaly_score,label\n";
  char buf[64];
  for (std::size_t i = 0; i < scores.size(); ++i) {
    out << format_nab_timestamp(series.samples[i].t_ms) << ',';
    std::snprintf(buf, sizeof buf, "%.17g", series.samples[i].value);
    out << buf << ',';
    std::snprintf(buf, sizeof buf, "%.17g", scores[i]);
    out << buf << ',' << labels[i] << '\n';
  }
  if (!out.flush()) throw std::runtime_error(path.string() + ": write failed");
}

std::size_t nab_probationary_length(std::size_t n) {
  return std::min(static_cast<std::size_t>(std::floor(0.15 * static_cast<double>(n))),
                  static_cast<std::size_t>(750));
}

double nab_scaled_sigmoid(double relative_position) {
  if (relative_position > 3.0) return -1.0;
  return 2.0 / (1.0 + std::exp(5.0 * relative_position)) - 1.0;
}

nab_file_score nab_score_file(const nab_scored_file& file, const nab_profile& profile,
                              double threshold) {
  const std::vector<sweep_point> points = sweep(file, profile);
  const std::vector<bool> scorable = scorable_windows(file);
  std::vector<bool> hit(file.windows.size(), false);
  nab_file_score out;
  for (const auto& p : points) {
    if (p.window == probationary || p.anomaly < threshold) continue;
    if (p.window == outside) {
      out.score += p.weighted;
      ++out.fp;
      continue;
    }
    const auto w = static_cast<std::size_t>(p.window);
    if (hit[w]) continue;  // only the first detection in a window counts
    hit[w] = true;
    out.score += p.weighted;
    ++out.tp;
  }
  for (std::size_t w = 0; w < scorable.size(); ++w) {
    if (scorable[w] && !hit[w]) {
      out.score += profile.a_fn;
      ++out.fn;
    }
  }
  return out;
}

nab_result nab_optimise(const std::vector<nab_scored_file>& files, const nab_profile& profile) {
  nab_result r;
  r.profile = profile.name;
  const optimum best = optimise_raw(files, profile);
  r.threshold = best.threshold;
  for (const auto& f : files) {
    const nab_file_score s = nab_score_file(f, profile, best.threshold);
    r.raw += s.score;
    r.tp += s.tp;
    r.fp += s.fp;
    r.fn += s.fn;
    r.perfect_raw += static_cast<double>(count_true(scorable_windows(f))) * profile.a_tp;
  }
  std::vector<nab_scored_file> null_files = files;
  for (auto& f : null_files) std::fill(f.scores.begin(), f.scores.end(), 0.5);
  r.null_raw = optimise_raw(null_files, profile).raw;
  const double span = r.perfect_raw - r.null_raw;
  r.normalised = span > 0.0 ? 100.0 * (r.raw - r.null_raw) / span : 0.0;
  return r;
}

}  // namespace wk::anomaly
