// Every tests/testdata/config/*.good.yml loads; every *.bad.yml fails with exactly the errors
// its leading "# expect: <line>:<key>:<message fragment>" lines name.

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/loader.hpp"
#include "tests/config/scoped_env.hpp"

namespace {

namespace fs = std::filesystem;

struct expectation {
  int line = 0;
  std::string key;
  std::string fragment;
};

const fs::path fixture_dir = fs::path(WK_SOURCE_DIR) / "tests/testdata/config";

std::vector<fs::path> fixtures(std::string_view suffix) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(fixture_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The "# expect:" lines of the comment block that opens the file.
std::vector<expectation> expectations(const std::string& text) {
  constexpr std::string_view marker = "# expect: ";
  std::vector<expectation> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line) && line.rfind('#', 0) == 0) {
    if (line.rfind(marker, 0) != 0) continue;
    const std::string rest = line.substr(marker.size());
    const auto first = rest.find(':');
    const auto second = rest.find(':', first + 1);
    REQUIRE_MESSAGE(second != std::string::npos, "malformed expectation: " << line);
    out.push_back({std::stoi(rest.substr(0, first)), rest.substr(first + 1, second - first - 1),
                   rest.substr(second + 1)});
  }
  return out;
}

}  // namespace

TEST_CASE("every good fixture loads without errors") {
  const wk::config::test::fixture_env env;
  const auto files = fixtures(".good.yml");
  CHECK(files.size() >= 5);
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    const auto result = wk::config::load_config_file(file.string());
    INFO(wk::config::config_error_report(result.errors));
    CHECK(result.errors.empty());
    CHECK(result.config.has_value());
  }
}

TEST_CASE("every bad fixture fails with exactly the errors it expects") {
  const wk::config::test::fixture_env env;
  const auto files = fixtures(".bad.yml");
  CHECK(files.size() >= 15);
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    const auto expected = expectations(read_file(file));
    REQUIRE_MESSAGE(!expected.empty(), "a bad fixture needs at least one # expect: line");
    const auto result = wk::config::load_config_file(file.string());
    const std::string report = wk::config::config_error_report(result.errors);
    INFO(report);
    CHECK_FALSE(result.config.has_value());
    CHECK(result.errors.size() == expected.size());
    for (const auto& want : expected) {
      CAPTURE(want.line);
      CAPTURE(want.key);
      CAPTURE(want.fragment);
      const bool found =
          std::any_of(result.errors.begin(), result.errors.end(), [&](const auto& e) {
            return e.line == want.line && e.key == want.key &&
                   e.message.find(want.fragment) != std::string::npos;
          });
      CHECK(found);
    }
    for (const auto& error : result.errors) {
      CHECK(error.file == file.string());
      CHECK(error.column >= (error.line > 0 ? 1 : 0));
    }
  }
}
