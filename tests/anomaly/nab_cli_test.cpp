#include "anomaly/nab_cli.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "anomaly/nab.hpp"

using wk::anomaly::format_nab_timestamp;
using wk::anomaly::run_nab_command;
namespace fs = std::filesystem;

namespace {

const std::string testdata = std::string(WK_SOURCE_DIR) + "/tests/testdata/anomaly/";
constexpr std::int64_t t0_ms = 1'396'310'400'000;  // 2014-04-01 00:00 UTC
constexpr std::int64_t step_ms = 300'000;

struct command_result {
  int status;
  std::string out, err;
};

std::string slurp(std::FILE* f) {
  std::string s;
  std::rewind(f);
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) s.append(buf, n);
  std::fclose(f);
  return s;
}

command_result run(std::vector<std::string> args) {
  args.insert(args.begin(), "nab");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  REQUIRE(out);
  REQUIRE(err);
  const int status = run_nab_command(static_cast<int>(args.size()), argv.data(), out, err);
  return {status, slurp(out), slurp(err)};
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A scratch directory holding data/<category>/<file>.csv, removed at the end of the test.
struct scratch {
  fs::path root;
  scratch() {
    // Unique per process and per use: ctest may run the cases of this file in parallel.
    static int uses = 0;
    root = fs::temp_directory_path() /
           ("wk_nab_cli_" + std::to_string(::getpid()) + "_" + std::to_string(++uses));
    fs::remove_all(root);
    fs::create_directories(root / "data" / "cat");
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  std::string data() const { return (root / "data").string(); }
  std::string results() const { return (root / "results").string(); }
  // A flat noisy wave of 600 five-minute samples with a spike at index 450.
  void write_series(const std::string& name) const {
    std::ofstream f(root / "data" / "cat" / name);
    f << "timestamp,value\n";
    for (int i = 0; i < 600; ++i) {
      const double v = 10.0 + std::sin(i * 0.7) + (i == 450 ? 50.0 : 0.0);
      f << format_nab_timestamp(t0_ms + i * step_ms) << ',' << v << '\n';
    }
  }
  std::string write_labels() const {
    const fs::path p = root / "windows.json";
    std::ofstream f(p);
    f << "{\"cat/wave.csv\": [[\"" << format_nab_timestamp(t0_ms + 440 * step_ms) << "\", \""
      << format_nab_timestamp(t0_ms + 470 * step_ms) << "\"]]}";
    return p.string();
  }
};

}  // namespace

TEST_CASE("nab command writes NAB results files and scores with labels") {
  scratch s;
  s.write_series("wave.csv");
  const command_result r =
      run({"--data", s.data(), "--labels", s.write_labels(), "--out", s.results()});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("files 1 samples 600") != std::string::npos);
  CHECK(r.out.find("standard") != std::string::npos);
  CHECK(r.out.find("reward_low_FN_rate") != std::string::npos);
  const std::string csv =
      read_text(fs::path(s.results()) / "watchkeeper" / "cat" / "watchkeeper_wave.csv");
  CHECK(csv.rfind("timestamp,value,anomaly_score,label\n", 0) == 0);
  std::size_t rows = 0, labelled = 0;
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  double spike_score = 0.0;
  while (std::getline(lines, line)) {
    ++rows;
    labelled += line.back() == '1';
    if (line.rfind(format_nab_timestamp(t0_ms + 450 * step_ms), 0) == 0) {
      spike_score = std::stod(line.substr(line.find(',', line.find(',') + 1) + 1));
    }
  }
  CHECK(rows == 600);
  CHECK(labelled == 31);     // inclusive window of 31 samples
  CHECK(spike_score > 0.9);  // the very detector the service runs saw the spike
}

TEST_CASE("nab command without labels writes label 0 and no scores") {
  scratch s;
  s.write_series("wave.csv");
  const command_result r =
      run({"--out", s.results(), "--data", s.data(), "--detector", "watchkeeper"});
  REQUIRE(r.status == 0);
  CHECK(r.out == "files 1 samples 600\n");
  const std::string csv =
      read_text(fs::path(s.results()) / "watchkeeper" / "cat" / "watchkeeper_wave.csv");
  CHECK(csv.find(",1\n") == std::string::npos);
}

TEST_CASE("nab command: clear errors for a missing dir, bad CSV, unwritable out, bad labels") {
  scratch s;
  SUBCASE("missing data dir") {
    const auto missing = (s.root / "nope").string();
    const command_result r = run({"--data", missing, "--out", s.results()});
    CHECK(r.status == 1);
    CHECK(r.err == "nab: " + missing + ": not a directory\n");
  }
  SUBCASE("no CSV files") {
    const command_result r = run({"--data", s.data(), "--out", s.results()});
    CHECK(r.status == 1);
    CHECK(r.err.find("no <category>/<file>.csv files under") != std::string::npos);
  }
  SUBCASE("bad CSV names file and line") {
    fs::copy_file(testdata + "series.bad.csv", s.root / "data" / "cat" / "broken.csv");
    const command_result r = run({"--data", s.data(), "--out", s.results()});
    CHECK(r.status == 1);
    CHECK(r.err.find("broken.csv:3: bad value 'abc'") != std::string::npos);
    CHECK_FALSE(fs::exists(s.results()));  // nothing written before the input is known good
  }
  SUBCASE("unwritable out") {
    s.write_series("wave.csv");
    std::ofstream(s.root / "plain-file") << "x";
    const auto out = (s.root / "plain-file" / "results").string();
    const command_result r = run({"--data", s.data(), "--out", out});
    CHECK(r.status == 1);
    CHECK(r.err.find("nab: --out " + out + ": cannot create directory") == 0);
  }
  SUBCASE("labels file missing or malformed") {
    s.write_series("wave.csv");
    const auto missing = (s.root / "nope.json").string();
    command_result r = run({"--data", s.data(), "--out", s.results(), "--labels", missing});
    CHECK(r.status == 1);
    CHECK(r.err == "nab: " + missing + ": cannot open\n");
    r = run({"--data", s.data(), "--out", s.results(), "--labels", testdata + "windows.bad.json"});
    CHECK(r.status == 1);
    CHECK(r.err.find("windows.bad.json") != std::string::npos);
  }
}

TEST_CASE("nab command: usage errors exit 2 and say what is wrong") {
  command_result r = run({"--data", "/tmp"});
  CHECK(r.status == 2);
  CHECK(r.err.find("nab: --data and --out are required\nusage: nab --data DIR") == 0);
  r = run({"--data"});
  CHECK(r.status == 2);
  CHECK(r.err.find("nab: --data needs a value") == 0);
  r = run({"--data", "/tmp", "--out", "/tmp/x", "--detector", "htm"});
  CHECK(r.status == 2);
  CHECK(r.err.find("nab: unknown detector 'htm'") == 0);
  r = run({"--frobnicate"});
  CHECK(r.status == 2);
  CHECK(r.err.find("nab: unknown option '--frobnicate'") == 0);
  r = run({"--help"});
  CHECK(r.status == 0);
  CHECK(r.out.find("usage: nab") == 0);
  CHECK(r.out.find("watchkeeper") != std::string::npos);
  // No arguments at all, and a null argv, are usage errors, not crashes.
  r = run({});
  CHECK(r.status == 2);
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  CHECK(run_nab_command(3, nullptr, out, err) == 2);
  std::fclose(out);
  std::fclose(err);
}
