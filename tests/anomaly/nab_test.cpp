#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "anomaly/detector.hpp"
#include "anomaly/nab.hpp"

using namespace wk::anomaly;

namespace {

const std::string testdata = std::string(WK_SOURCE_DIR) + "/tests/testdata/anomaly/";

nab_profile profile(const std::string& name) {
  for (const auto& p : nab_standard_profiles()) {
    if (p.name == name) return p;
  }
  throw std::logic_error("no profile " + name);
}

// 100 points, probationary 15, one window over indexes 50..59.
nab_scored_file one_window_file() {
  nab_scored_file f;
  f.scores.assign(100, 0.0);
  f.windows = {{50, 59}};
  return f;
}

}  // namespace

TEST_CASE("NAB timestamps parse and format") {
  const std::int64_t t = parse_nab_timestamp("2014-04-01 00:05:00");
  CHECK(t == 1'396'310'700'000);
  CHECK(parse_nab_timestamp("2014-04-01 00:05:00.250000") == t + 250);
  CHECK(format_nab_timestamp(t) == "2014-04-01 00:05:00");
  CHECK(format_nab_timestamp(parse_nab_timestamp("1969-12-31 23:59:59")) == "1969-12-31 23:59:59");
  for (const char* bad : {"", "2014-04-01", "2014-13-01 00:00:00", "2014-04-01 24:00:00",
                          "2014-04-01 00:00:00x", "2014-04-01 00:00:00.", "20a4-04-01 00:00:00"}) {
    CHECK_THROWS_AS(parse_nab_timestamp(bad), std::runtime_error);
  }
}

TEST_CASE("NAB CSV reader accepts good files and names the bad line") {
  const auto s = read_nab_csv(testdata + "series.good.csv");
  REQUIRE(s.size() == 3);
  CHECK(s[1].value == -2000.0);
  CHECK(s[2].t_ms - s[0].t_ms == 600'000);
  try {
    read_nab_csv(testdata + "series.bad.csv");
    FAIL("bad CSV accepted");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("series.bad.csv:3") != std::string::npos);
  }
  CHECK_THROWS_AS(read_nab_csv(testdata + "missing.csv"), std::runtime_error);
  const auto long_line = std::filesystem::temp_directory_path() / "wk_anomaly_long_line.csv";
  {
    std::ofstream out(long_line);
    out << "timestamp,value\n2014-04-01 00:00:00," << std::string(1 << 20, '1');
  }
  CHECK_THROWS_WITH_AS(read_nab_csv(long_line.string()), doctest::Contains("longer than"),
                       std::runtime_error);
  std::filesystem::remove(long_line);
  CHECK_THROWS_AS(read_nab_csv(testdata + "series.good.csv", 2), std::runtime_error);
}

TEST_CASE("NAB label windows parse, and malformed JSON is rejected") {
  const auto w = read_nab_windows(testdata + "windows.good.json");
  REQUIRE(w.size() == 2);
  CHECK(w.at("cat/a.csv").empty());
  REQUIRE(w.at("cat/b.csv").size() == 2);
  CHECK(w.at("cat/b.csv")[1].end_ms - w.at("cat/b.csv")[1].start_ms == 3'600'500);
  CHECK_THROWS_AS(read_nab_windows(testdata + "windows.bad.json"), std::runtime_error);
  const std::vector<std::string> bad_inputs{
      "", "{", "[]", R"({"a": [["2014-04-01 00:00:00"]]})",
      R"({"a": [["2014-04-02 00:00:00", "2014-04-01 00:00:00"]]})", R"({"a": []} x)",
      R"({"a\q": []})", R"({"a": [[1, 2]]})", "{\"a\": " + std::string(100000, '[')};
  for (const auto& bad : bad_inputs) {
    CHECK_THROWS_AS(parse_nab_windows(bad), std::runtime_error);
  }
}

TEST_CASE("NAB index windows and labels follow inclusive time bounds") {
  const auto s = read_nab_csv(testdata + "series.good.csv");
  const std::vector<nab_window> w{{s[1].t_ms, s[2].t_ms + 1}, {s[2].t_ms + 5, s[2].t_ms + 9}};
  const auto idx = nab_index_windows(s, w);
  REQUIRE(idx.size() == 1);
  CHECK(idx[0] == std::make_pair(std::size_t{1}, std::size_t{2}));
  CHECK(nab_labels(s, w) == std::vector<int>{0, 1, 1});
}

TEST_CASE("NAB scaled sigmoid and probationary period") {
  CHECK(nab_scaled_sigmoid(0.0) == doctest::Approx(0.0));
  CHECK(nab_scaled_sigmoid(-1.0) == doctest::Approx(0.98661429815));
  CHECK(nab_scaled_sigmoid(1.0) == doctest::Approx(-0.98661429815));
  CHECK(nab_scaled_sigmoid(3.01) == -1.0);
  CHECK(nab_probationary_length(100) == 15);
  CHECK(nab_probationary_length(100000) == 750);
}

TEST_CASE("NAB file score: hand-computed cases") {
  const nab_profile std_p = profile("standard");
  const double max_tp = nab_scaled_sigmoid(-1.0);
  auto f = one_window_file();
  // Nothing detected: one missed window.
  CHECK(nab_score_file(f, std_p, 0.5).score == doctest::Approx(-1.0));
  // Detection at the window start earns the full A_TP.
  f.scores[50] = 1.0;
  auto s = nab_score_file(f, std_p, 0.5);
  CHECK(s.score == doctest::Approx(1.0));
  CHECK(s.tp == 1);
  // Only the first detection in a window counts.
  f.scores[55] = 1.0;
  CHECK(nab_score_file(f, std_p, 0.5).score == doctest::Approx(1.0));
  // A late detection earns less: at the window end, position -1/10.
  f = one_window_file();
  f.scores[59] = 1.0;
  CHECK(nab_score_file(f, std_p, 0.5).score == doctest::Approx(nab_scaled_sigmoid(-0.1) / max_tp));
  // False positives: before any window the full A_FP, just after a window almost nothing,
  // in the probationary period nothing at all.
  f = one_window_file();
  f.scores[30] = 1.0;
  f.scores[10] = 1.0;
  s = nab_score_file(f, std_p, 0.5);
  CHECK(s.score == doctest::Approx(-1.0 - 0.11));
  CHECK(s.fp == 1);
  f = one_window_file();
  f.scores[60] = 1.0;
  CHECK(nab_score_file(f, std_p, 0.5).score == doctest::Approx(-1.0 + 0.11 * nab_scaled_sigmoid(1.0 / 9.0)));
  f.scores[60] = 0.0;
  f.scores[95] = 1.0;
  CHECK(nab_score_file(f, std_p, 0.5).score == doctest::Approx(-1.0 - 0.11));
  // Profiles change the weights.
  CHECK(nab_score_file(f, profile("reward_low_FP_rate"), 0.5).score == doctest::Approx(-1.22));
  CHECK(nab_score_file(f, profile("reward_low_FN_rate"), 0.5).score == doctest::Approx(-2.11));
}

TEST_CASE("NAB normalisation: perfect detector 100, null detector 0") {
  std::vector<nab_scored_file> files(3, one_window_file());
  files[1].windows = {{30, 39}, {70, 89}};
  files[2].windows = {};
  for (const auto& p : nab_standard_profiles()) {
    std::vector<nab_scored_file> perfect = files;
    for (auto& f : perfect) {
      for (const auto& w : f.windows) f.scores[w.first] = 0.9;
    }
    const nab_result rp = nab_optimise(perfect, p);
    CHECK(rp.normalised == doctest::Approx(100.0));
    CHECK(rp.tp == 3);
    CHECK(rp.fp == 0);
    std::vector<nab_scored_file> null = files;
    for (auto& f : null) f.scores.assign(f.scores.size(), 0.5);
    CHECK(nab_optimise(null, p).normalised == doctest::Approx(0.0));
    std::vector<nab_scored_file> silent = files;
    CHECK(nab_optimise(silent, p).normalised == doctest::Approx(0.0));
  }
}

TEST_CASE("NAB threshold optimisation trades false positives against detections") {
  // Each window is found only together with many false positives (score 0.6); the true
  // detections alone (score 0.9) give the best total, so the threshold lands above 0.6.
  std::vector<nab_scored_file> files(2, one_window_file());
  for (auto& f : files) {
    f.scores[50] = 0.9;
    for (std::size_t i = 20; i < 45; ++i) f.scores[i] = 0.6;
  }
  files[1].scores[50] = 0.3;
  const nab_result r = nab_optimise(files, profile("standard"));
  CHECK(r.threshold > 0.6);
  CHECK(r.threshold <= 0.9);
  CHECK(r.tp == 1);
  CHECK(r.fn == 1);
  CHECK(r.raw == doctest::Approx(0.0));
  CHECK(r.normalised == doctest::Approx(50.0));
  // With a tiny FP cost the low threshold pays: 25 FP cost < a found window.
  nab_profile cheap_fp = profile("standard");
  cheap_fp.a_fp = -0.01;
  CHECK(nab_optimise(files, cheap_fp).threshold == doctest::Approx(0.3));
}

TEST_CASE("NAB results files have NAB's layout") {
  const auto dir = std::filesystem::temp_directory_path() / "wk_anomaly_results_test";
  std::filesystem::remove_all(dir);
  nab_series s;
  s.category = "cat";
  s.name = "b.csv";
  s.samples = read_nab_csv(testdata + "series.good.csv");
  write_nab_results(dir.string(), "watchkeeper", s, {0.0, 0.25, 1.0}, {0, 1, 1});
  std::ifstream in(dir / "watchkeeper" / "cat" / "watchkeeper_b.csv");
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str() ==
        "timestamp,value,anomaly_score,label\n"
        "2014-04-01 00:00:00,1.5,0,0\n"
        "2014-04-01 00:05:00,-2000,0.25,1\n"
        "2014-04-01 00:10:00,7,1,1\n");
  CHECK_THROWS_AS(write_nab_results(dir.string(), "watchkeeper", s, {0.0}, {0}), std::runtime_error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("NAB dev corpus: the detector keeps its score") {
  const std::string root = std::string(WK_SHARED_DIR) + "/data/nab-dev/";
  const auto corpus = read_nab_corpus(root + "data");
  const auto windows = read_nab_windows(root + "labels/combined_windows.json");
  REQUIRE(corpus.size() == 24);
  std::vector<nab_scored_file> files;
  for (const auto& series : corpus) {
    detector d;
    nab_scored_file f;
    for (const auto& s : series.samples) f.scores.push_back(d.update(s.t_ms, s.value));
    f.windows = nab_index_windows(series.samples, windows.at(series.category + "/" + series.name));
    files.push_back(std::move(f));
  }
  // Scores reached by the committed parameters, minus a small margin: 74.07 / 69.34 / 78.42
  // (69.89 / 59.62 / 75.02 before the recurrence discount; its optimised threshold moved from
  // 0.907 to 0.831).
  CHECK(nab_optimise(files, profile("standard")).normalised >= 73.6);
  CHECK(nab_optimise(files, profile("reward_low_FP_rate")).normalised >= 68.9);
  CHECK(nab_optimise(files, profile("reward_low_FN_rate")).normalised >= 78.0);
}
