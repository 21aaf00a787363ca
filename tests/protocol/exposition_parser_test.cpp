#include "protocol/exposition_parser.hpp"

#include "protocol/exposition_float.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Counts heap allocations so a test can show that steady-state parsing makes none. GCC flags
// free() on memory from operator new even when both are replaced together, as here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
std::atomic<std::size_t> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace std::string_view_literals;
using wk::protocol::entry;
using wk::protocol::exposition_format;
using wk::protocol::exposition_parser;
using wk::protocol::metric_type;
using wk::protocol::parse_error;

constexpr auto prom = exposition_format::prometheus_text;
constexpr auto om = exposition_format::openmetrics;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in, "cannot open " << path);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string corpus(const char* name) {
  return read_file(std::filesystem::path(WK_SHARED_DIR) / "data" / "exposition" / name);
}

std::filesystem::path testdata_dir() {
  return std::filesystem::path(WK_SOURCE_DIR) / "tests" / "testdata" / "protocol";
}

std::uint64_t bits_of(double value) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

using label_list = std::vector<std::pair<std::string, std::string>>;

struct sample {
  std::string name;
  label_list labels;
  double value = 0;
  std::optional<std::int64_t> timestamp;
  metric_type type = metric_type::untyped;
};

struct metadata {
  entry kind;
  std::string family;
  metric_type type;
  std::string help;
  std::string unit;
};

struct parse_result {
  std::vector<sample> samples;
  std::vector<metadata> metadata_lines;
  std::size_t types = 0;
  std::size_t helps = 0;
  std::size_t units = 0;
  std::size_t comments = 0;
  std::optional<parse_error> error;
};

parse_result parse_all(std::string_view body, exposition_format format) {
  parse_result result;
  exposition_parser parser(body, format);
  // Every entry but the last consumes input, so this bound proves progress.
  for (std::size_t step = 0; step <= body.size() + 1; ++step) {
    const entry kind = parser.next();
    switch (kind) {
      case entry::series: {
        sample s{std::string(parser.metric_name()),
                 {},
                 parser.value(),
                 parser.timestamp_ms(),
                 parser.current_type()};
        for (const auto& label : parser.labels()) s.labels.emplace_back(label.name, label.value);
        result.samples.push_back(std::move(s));
        break;
      }
      case entry::type:
      case entry::help:
      case entry::unit:
        result.types += kind == entry::type;
        result.helps += kind == entry::help;
        result.units += kind == entry::unit;
        result.metadata_lines.push_back({kind, std::string(parser.family_name()), parser.family_type(),
                                         std::string(parser.help()), std::string(parser.unit())});
        break;
      case entry::comment:
        ++result.comments;
        break;
      case entry::eof:
        CHECK(parser.next() == entry::eof);
        return result;
      case entry::error:
        result.error = parser.error();
        CHECK(parser.next() == entry::error);
        CHECK(parser.error().message == result.error->message);
        return result;
    }
  }
  FAIL("the parser made no progress");
  return result;
}

const sample* find_sample(const parse_result& result, std::string_view name, const label_list& labels) {
  for (const sample& s : result.samples) {
    if (s.name == name && s.labels == labels) return &s;
  }
  return nullptr;
}

std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

struct error_case {
  std::string_view input;
  std::size_t line;
  std::size_t column;
  std::string_view fragment;
};

void check_errors(exposition_format format, const std::vector<error_case>& cases) {
  for (const error_case& c : cases) {
    INFO("input: ", printable(c.input));
    const parse_result result = parse_all(c.input, format);
    REQUIRE(result.error.has_value());
    INFO("error: ", wk::protocol::describe(*result.error));
    CHECK(result.error->line == c.line);
    CHECK(result.error->column == c.column);
    CHECK(result.error->message.find(c.fragment) != std::string::npos);
  }
}

// Prometheus text rendering of samples, escaping label values the way the parser unescapes them.
std::string render(const std::vector<sample>& samples) {
  std::string out;
  for (const sample& s : samples) {
    out += s.name;
    out += '{';
    for (const auto& [name, value] : s.labels) {
      out += name + "=\"";
      for (const char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
          out += "\\n";
        } else {
          out += c;
        }
      }
      out += "\",";
    }
    out += "} ";
    char number[64];
    if (std::isnan(s.value)) {
      std::snprintf(number, sizeof number, "NaN");
    } else if (std::isinf(s.value)) {
      std::snprintf(number, sizeof number, "%sInf", s.value > 0 ? "+" : "-");
    } else {
      std::snprintf(number, sizeof number, "%.17g", s.value);
    }
    out += number;
    if (s.timestamp) out += " " + std::to_string(*s.timestamp);
    out += '\n';
  }
  return out;
}

void check_same_samples(const std::vector<sample>& actual, const std::vector<sample>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO("sample ", i, ": ", expected[i].name);
    CHECK(actual[i].name == expected[i].name);
    CHECK(actual[i].labels == expected[i].labels);
    CHECK(bits_of(actual[i].value) == bits_of(expected[i].value));
    CHECK(actual[i].timestamp == expected[i].timestamp);
  }
}

double normal_nan() {
  double value = 0;
  std::memcpy(&value, &wk::protocol::normal_nan_bits, sizeof value);
  return value;
}

constexpr double inf = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("detect_exposition_format reads the media type") {
  using wk::protocol::detect_exposition_format;
  CHECK(detect_exposition_format("application/openmetrics-text; version=1.0.0; charset=utf-8") == om);
  CHECK(detect_exposition_format("application/openmetrics-text") == om);
  CHECK(detect_exposition_format("  Application/OpenMetrics-Text ;version=0.0.1") == om);
  CHECK(detect_exposition_format("text/plain; version=0.0.4; charset=utf-8") == prom);
  CHECK(detect_exposition_format("") == prom);
  CHECK(detect_exposition_format("application/json") == prom);
  CHECK(detect_exposition_format("application/openmetrics-textual") == prom);
  CHECK(detect_exposition_format(";application/openmetrics-text") == prom);
}

TEST_CASE("Prometheus text corpus: 237 families, 1857 samples") {
  const std::string body = corpus("alltypes.237mfs.prom.txt");
  const parse_result result = parse_all(body, prom);
  REQUIRE_FALSE(result.error.has_value());
  CHECK(result.samples.size() == 1857);
  CHECK(result.types == 237);
  CHECK(result.helps == 237);
  CHECK(result.comments == 1);  // the trailing "# EOF" is an ordinary comment in this format
  CHECK(result.units == 0);

  std::size_t by_type[8] = {};
  for (const sample& s : result.samples) ++by_type[static_cast<int>(s.type)];
  CHECK(by_type[static_cast<int>(metric_type::untyped)] == 0);
  CHECK(by_type[static_cast<int>(metric_type::counter)] == 319);
  CHECK(by_type[static_cast<int>(metric_type::gauge)] == 193);
  CHECK(by_type[static_cast<int>(metric_type::histogram)] == 1209);
  CHECK(by_type[static_cast<int>(metric_type::summary)] == 136);

  const sample* s = find_sample(result, "go_gc_duration_seconds", {{"quantile", "0.25"}});
  REQUIRE(s);
  CHECK(s->value == 0.00010188);
  CHECK(s->type == metric_type::summary);
  CHECK_FALSE(s->timestamp.has_value());

  s = find_sample(result, "go_gc_duration_seconds_count", {});
  REQUIRE(s);
  CHECK(s->value == 190932);
  CHECK(s->type == metric_type::summary);

  s = find_sample(result, "go_gc_gomemlimit_bytes", {});
  REQUIRE(s);
  CHECK(s->value == 9.03676723e+08);
  CHECK(s->type == metric_type::gauge);

  s = find_sample(result, "go_gc_heap_allocs_by_size_bytes_bucket", {{"le", "24.999999999999996"}});
  REQUIRE(s);
  CHECK(s->value == 1.9429106442e+10);
  CHECK(s->type == metric_type::histogram);

  s = find_sample(result, "prometheus_sd_consul_rpc_duration_seconds",
                  {{"call", "service"}, {"endpoint", "catalog"}, {"quantile", "0.5"}});
  REQUIRE(s);
  CHECK(bits_of(s->value) == wk::protocol::normal_nan_bits);

  s = find_sample(
      result, "prometheus_rule_evaluations_total",
      {{"rule_group", "/etc/prometheus/rules/ansible_managed.rules;ansible managed alert rules"}});
  REQUIRE(s);
  CHECK(s->value == 118092);
  CHECK(s->type == metric_type::counter);

  s = find_sample(result, "promhttp_metric_handler_requests_total", {{"code", "200"}});
  REQUIRE(s);
  CHECK(s->value == 4.059092e+06);

  // Metadata: the first family, help unescaped and typed.
  REQUIRE(result.metadata_lines.size() >= 2);
  CHECK(result.metadata_lines[0].kind == entry::help);
  CHECK(result.metadata_lines[0].family == "go_gc_cycles_automatic_gc_cycles_total");
  CHECK(result.metadata_lines[0].help ==
        "Count of completed GC cycles generated by the Go runtime. Sourced from "
        "/gc/cycles/automatic:gc-cycles");
  CHECK(result.metadata_lines[1].kind == entry::type);
  CHECK(result.metadata_lines[1].type == metric_type::counter);
}

TEST_CASE("OpenMetrics corpus: exemplars skipped, _total and _created typed") {
  const std::string body = corpus("alltypes.5mfs.om.txt");
  const parse_result result = parse_all(body, om);
  REQUIRE_FALSE(result.error.has_value());
  CHECK(result.samples.size() == 53);
  CHECK(result.types == 5);
  CHECK(result.helps == 5);
  CHECK(result.comments == 0);

  const sample* s = find_sample(result, "go_build_info", {{"checksum", ""}, {"path", ""}, {"version", ""}});
  REQUIRE(s);
  CHECK(s->value == 1.0);
  CHECK(s->type == metric_type::gauge);

  s = find_sample(result, "promhttp_metric_handler_errors_total", {{"cause", "encoding"}});
  REQUIRE(s);
  CHECK(s->value == 0.0);
  CHECK(s->type == metric_type::counter);
  s = find_sample(result, "promhttp_metric_handler_errors_created", {{"cause", "gathering"}});
  REQUIRE(s);
  CHECK(s->value == 1.726839813016395e+09);
  CHECK(s->type == metric_type::counter);

  // An exemplar-carrying bucket: value and labels of the sample only.
  s = find_sample(result, "rpc_durations_histogram_seconds_bucket", {{"le", "-0.0002899999999999998"}});
  REQUIRE(s);
  CHECK(s->value == 3);
  CHECK_FALSE(s->timestamp.has_value());
  CHECK(s->type == metric_type::histogram);
  s = find_sample(result, "rpc_durations_histogram_seconds_bucket", {{"le", "+Inf"}});
  REQUIRE(s);
  CHECK(s->value == 15);

  s = find_sample(result, "rpc_durations_histogram_seconds_created", {});
  REQUIRE(s);
  CHECK(s->type == metric_type::histogram);
  CHECK(s->value == 1.726839813016302e+09);

  s = find_sample(result, "rpc_durations_seconds", {{"service", "normal"}, {"quantile", "0.5"}});
  REQUIRE(s);
  CHECK(s->value == -5.066758674917046e-06);
  CHECK(s->type == metric_type::summary);
  s = find_sample(result, "rpc_durations_seconds_created", {{"service", "normal"}});
  REQUIRE(s);
  CHECK(s->type == metric_type::summary);

  s = find_sample(result, "rpc_requests_total", {{"service", "uniform"}});
  REQUIRE(s);
  CHECK(s->value == 11.0);
  CHECK(s->type == metric_type::counter);
}

TEST_CASE("Prometheus text: syntax promparse accepts") {
  const parse_result result = parse_all(
      "# HELP nohelp1\n"
      "#\n"
      "# HELPrandom comment\n"
      "#  \tTYPE spaced_type gauge\n"
      "spaced_type 1\n"
      "   \t\n"
      "a{x=\"1\" y=\"2\"} 3\n"  // no comma between labels
      "b{x=\"1\",}4\n"          // trailing comma, no blank before the value
      "c { x = \"1\" , y = \"2\" , } 5 \t 6 \t\n"
      "d{} 7\n"
      "_underscore 8\n"
      "e{_l=\"\\\\n is not a newline\"} 9\n"
      "f{a=\"x\ny\"} 10\n"  // promparse takes raw line breaks in label values
      "g{a=\"nul\0here\"} 11\n"
      "h 12 0\n"
      "i 13 9223372036854775807\n"
      "# EOF\n"
      "last_without_newline 14"sv,
      prom);
  REQUIRE_FALSE(result.error.has_value());
  CHECK(result.comments == 3);
  REQUIRE(result.metadata_lines.size() == 2);
  CHECK(result.metadata_lines[0].kind == entry::help);
  CHECK(result.metadata_lines[0].family == "nohelp1");
  CHECK(result.metadata_lines[0].help.empty());
  CHECK(result.metadata_lines[1].family == "spaced_type");
  CHECK(result.metadata_lines[1].type == metric_type::gauge);

  const std::vector<sample> expected = {
      {"spaced_type", {}, 1, std::nullopt},
      {"a", {{"x", "1"}, {"y", "2"}}, 3, std::nullopt},
      {"b", {{"x", "1"}}, 4, std::nullopt},
      {"c", {{"x", "1"}, {"y", "2"}}, 5, 6},
      {"d", {}, 7, std::nullopt},
      {"_underscore", {}, 8, std::nullopt},
      {"e", {{"_l", "\\n is not a newline"}}, 9, std::nullopt},
      {"f", {{"a", "x\ny"}}, 10, std::nullopt},
      {"g", {{"a", std::string("nul\0here", 8)}}, 11, std::nullopt},
      {"h", {}, 12, 0},
      {"i", {}, 13, std::numeric_limits<std::int64_t>::max()},
      {"last_without_newline", {}, 14, std::nullopt},
  };
  check_same_samples(result.samples, expected);
  CHECK(result.samples[0].type == metric_type::gauge);
  CHECK(result.samples[1].type == metric_type::untyped);
}

TEST_CASE("Prometheus text: HELP unescapes only \\\\ and \\n") {
  const parse_result result =
      parse_all("# HELP m a\\\\b\\nc \\\"d\\\" \\t e\\\n# HELP other  two spaces\n# TYPE m counter\n", prom);
  REQUIRE_FALSE(result.error.has_value());
  REQUIRE(result.metadata_lines.size() == 3);
  CHECK(result.metadata_lines[0].help == "a\\b\nc \\\"d\\\" \\t e\\");
  CHECK(result.metadata_lines[1].help == " two spaces");
  // TYPE for the family of the last HELP keeps its help; a new family starts afresh.
  CHECK(result.metadata_lines[2].family == "m");
  CHECK(result.metadata_lines[2].help.empty());
  CHECK(result.metadata_lines[2].type == metric_type::counter);
}

TEST_CASE("Prometheus text: malformed input names line, column and cause") {
  check_errors(
      prom, {
                {"a", 1, 2, "expected value after metric name, got end of input"},
                {"a\n", 1, 2, "expected value after metric name, got end of line"},
                {"a{b='c'} 1\n", 1, 5, "expected '\"' to open the value of label \"b\""},
                {"a{b=\n", 1, 5, "got end of line"},
                {"a{\xff=\"foo\"} 1\n", 1, 3, "expected label name, got \"\\xff\""},
                {"a{b=\"\xff\"} 1\n", 1, 6, "label value is not valid UTF-8"},
                {"a{b=\"ok\xed\xa0\x80\"} 1\n", 1, 8, "not valid UTF-8"},  // surrogate half
                {"a{b=\"\xc0\xaf\"} 1\n", 1, 6, "not valid UTF-8"},        // overlong '/'
                {"a true\n", 1, 3, "invalid value \"true\""},
                {"something_weird{problem=\"", 1, 25, "unterminated label value"},
                {"empty_label_name{=\"\"} 0", 1, 18, "expected label name, got \"=\""},
                {"a{b\"c\"} 1", 1, 4, "expected '=' after label name \"b\""},
                {"foo 1_2\n", 1, 5, "hexadecimal floats and '_' are not supported"},
                {"foo 0x1p-3\n", 1, 5, "not supported"},
                {"foo 1e400\n", 1, 5, "value \"1e400\" is out of range"},
                {"foo 0 1_2\n", 1, 7, "invalid timestamp \"1_2\""},
                {"foo 0 -5\n", 1, 7, "invalid timestamp \"-5\" (expected integer milliseconds)"},
                {"foo 0 1.5\n", 1, 7, "invalid timestamp \"1.5\""},
                {"foo 0 9223372036854775808\n", 1, 7, "timestamp \"9223372036854775808\" is out of range"},
                {"foo 0 1 2\n", 1, 9, "unexpected \"2\" after timestamp"},
                {"foo 0 1{\n", 1, 7, "invalid timestamp \"1{\""},
                {"{a=\"ok\"} 1", 1, 1, "expected a metric name before '{'"},
                {"{\"quoted.name\"} 1", 1, 1, "quoted metric names"},
                {"a{\"quoted.label\"=\"x\"} 1", 1, 3, "quoted label names are not supported"},
                {"a{b=\"c\"", 1, 8, "unterminated label set"},
                {"a{b=\"c\"\n} 1", 1, 8, "unterminated label set"},
                {"a{b=\"c\" 1", 1, 9, "expected label name, got \"1\""},
                {"a{b=\"c\"}} 1", 1, 9, "invalid value \"}\""},
                {"a{b=\"c\"} {", 1, 10, "expected value after label set, got \"{\""},
                {"a{b=\"c\\\nd\"} 1", 1, 7, "backslash before a line break"},
                {"a{b=\"c\\", 1, 5, "unterminated label value"},
                {"a{b=\"1\",b=\"2\"} 1\n", 1, 9, "duplicate label name \"b\""},
                {"a{b=\"1\",c=\"2\",d=\"3\",c=\"4\"} 1\n", 1, 21, "duplicate label name \"c\""},
                {"a{__name__=\"x\"} 1\n", 1, 3, "\"__name__\" is reserved"},
                {"ok 1\n  bad{x} 1\n", 2, 8, "expected '=' after label name \"x\""},
                {"\n\n# TYPE foo bogus\n", 3, 12, "invalid metric type \"bogus\" (expected counter, gauge"},
                {"# TYPE foo gaugehistogram\n", 1, 12, "invalid metric type \"gaugehistogram\""},
                {"# TYPE foo\n", 1, 11, "invalid metric type \"\""},
                {"# TYPE foo counter \n", 1, 12, "invalid metric type \"counter \""},
                {"# HELP 1foo x\n", 1, 8, "expected metric name after HELP, got \"1\""},
                {"# TYPE \n", 1, 8, "expected metric name after TYPE, got end of line"},
                {"# HELP foo{ x\n", 1, 11, "expected whitespace after metric name in HELP"},
                {"# HELP foo \xff\n", 1, 12, "HELP text is not valid UTF-8"},
                {"a 1\r\n", 1, 3, "CRLF line endings are not supported"},
                {"\ra 1\n", 1, 1, "unexpected character \"\\r\" at start of line"},
                {"\0a 1\n"sv, 1, 1, "unexpected character \"\\x00\""},
                {"9 1\n", 1, 1, "expected a metric name or '#'"},
                {"a{b=\"x\ny\", b=\"z\"} 1\n", 2, 5, "duplicate label name \"b\""},
                {"ok 1\na{b=\"x\ny 1\n", 2, 5, "unterminated label value"},
            });
}

TEST_CASE("Prometheus text: an unclosed quote is named when it surfaces later") {
  const parse_result result =
      parse_all("ok 1\nbroken{path=\"/a\",x=\"never closed} 1\nnext{a=\"b\"} 2\n", prom);
  REQUIRE(result.error.has_value());
  CHECK(result.error->line == 3);
  CHECK(result.error->column == 10);
  CHECK(result.error->message ==
        "expected '=' after label name \"b\", got \"\\\"\" (the label value opened at line 2, column 20 "
        "spans lines: is a closing '\"' missing?)");
}

TEST_CASE("OpenMetrics: strict syntax and # EOF") {
  const parse_result result = parse_all(
      "# HELP go_gc_duration_seconds A summary of the GC invocation durations.\n"
      "# TYPE go_gc_duration_seconds summary\n"
      "# UNIT go_gc_duration_seconds seconds\n"
      "go_gc_duration_seconds{quantile=\"0\"} 4.9351e-05\n"
      "go_gc_duration_seconds_count 99\n"
      "# HELP nohelp1 \n"
      "# HELP help2 escape \\ \\n \\\\ \\\" \\x chars\n"
      "# UNIT nounit \n"
      "some:aggregate:rate5m{a_b=\"c\"} 1\n"
      "go_goroutines 33 123.123\n"
      "empty{} 1 -1.5\n"
      "tiny 1 0.0015\n"
      "testmetric{label=\"\\\"bar\\\"\"} 1\n"
      "nul{a=\"abc\0\"} 1\n"
      "# EOF\n"sv,
      om);
  REQUIRE_FALSE(result.error.has_value());
  CHECK(result.units == 2);
  REQUIRE(result.metadata_lines.size() == 6);
  CHECK(result.metadata_lines[2].kind == entry::unit);
  CHECK(result.metadata_lines[2].unit == "seconds");
  CHECK(result.metadata_lines[2].type == metric_type::summary);
  CHECK(result.metadata_lines[2].help == "A summary of the GC invocation durations.");
  CHECK(result.metadata_lines[3].help.empty());
  CHECK(result.metadata_lines[4].help == "escape \\ \n \\ \" \\x chars");
  CHECK(result.metadata_lines[5].unit.empty());

  const std::vector<sample> expected = {
      {"go_gc_duration_seconds", {{"quantile", "0"}}, 4.9351e-05, std::nullopt},
      {"go_gc_duration_seconds_count", {}, 99, std::nullopt},
      {"some:aggregate:rate5m", {{"a_b", "c"}}, 1, std::nullopt},
      {"go_goroutines", {}, 33, 123123},
      {"empty", {}, 1, -1500},
      {"tiny", {}, 1, 1},  // 1.5 ms truncated toward zero, as Prometheus does
      {"testmetric", {{"label", "\"bar\""}}, 1, std::nullopt},
      {"nul", {{"a", std::string("abc\0", 4)}}, 1, std::nullopt},
  };
  check_same_samples(result.samples, expected);
  CHECK(result.samples[0].type == metric_type::summary);
  CHECK(result.samples[1].type == metric_type::summary);

  CHECK(parse_all("# EOF", om).samples.empty());
  CHECK_FALSE(parse_all("# EOF", om).error.has_value());
  CHECK_FALSE(parse_all("a 1\n# EOF", om).error.has_value());
}

TEST_CASE("OpenMetrics: exemplars are validated and skipped") {
  const parse_result result = parse_all(
      "# TYPE foo counter\n"
      "foo_total 17.0 1520879607.789 # {id=\"counter-test\"} 5\n"
      "# TYPE hhh histogram\n"
      "hhh_bucket{le=\"+Inf\"} 1 # {id=\"histogram-bucket-test\"} 4\n"
      "hhh_count 1 # {id=\"histogram-count-test\"} 4\n"
      "# TYPE ggh gaugehistogram\n"
      "ggh_bucket{le=\"+Inf\"} 1 # {id=\"gaugehistogram-bucket-test\",xx=\"yy\"} 4 123.123\n"
      "ggh_gcount 1 # {} -1.5e-3 1.5\n"
      "ggh_gsum 2 # {esc=\"a\\\"b\\\\c\\n\",id=\"x\"} NaN\n"
      "# EOF\n",
      om);
  REQUIRE_FALSE(result.error.has_value());
  const std::vector<sample> expected = {
      {"foo_total", {}, 17, 1520879607789}, {"hhh_bucket", {{"le", "+Inf"}}, 1, std::nullopt},
      {"hhh_count", {}, 1, std::nullopt},   {"ggh_bucket", {{"le", "+Inf"}}, 1, std::nullopt},
      {"ggh_gcount", {}, 1, std::nullopt},  {"ggh_gsum", {}, 2, std::nullopt},
  };
  check_same_samples(result.samples, expected);
  CHECK(result.samples[0].type == metric_type::counter);
  CHECK(result.samples[1].type == metric_type::histogram);
  CHECK(result.samples[4].type == metric_type::gauge_histogram);
  CHECK(result.samples[5].type == metric_type::gauge_histogram);
}

TEST_CASE("OpenMetrics: families map their suffixes to the family type") {
  const parse_result result = parse_all(
      "# TYPE c counter\nc_total 1\nc_created 2\nc 3\nc_bucket 4\n"
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\nh_sum 1\nh_created 1\nh_gcount 1\n"
      "# TYPE g gaugehistogram\ng_bucket{le=\"1\"} 1\ng_gcount 1\ng_gsum 1\ng_count 1\n"
      "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_count 1\ns_sum 1\ns_created 1\ns_bucket 1\n"
      "# TYPE i info\ni_info{v=\"1\"} 1\ni_total 1\n"
      "# TYPE st stateset\nst{st=\"a\"} 1\nst_total 1\n"
      "# TYPE ga gauge\nga 1\nga_total 1\n"
      "# TYPE u unknown\nu 1\n"
      "other 1\n"
      "# EOF\n",
      om);
  REQUIRE_FALSE(result.error.has_value());
  const std::vector<metric_type> expected = {
      metric_type::counter,
      metric_type::counter,
      metric_type::counter,
      metric_type::untyped,
      metric_type::histogram,
      metric_type::histogram,
      metric_type::histogram,
      metric_type::histogram,
      metric_type::untyped,
      metric_type::gauge_histogram,
      metric_type::gauge_histogram,
      metric_type::gauge_histogram,
      metric_type::untyped,
      metric_type::summary,
      metric_type::summary,
      metric_type::summary,
      metric_type::summary,
      metric_type::untyped,
      metric_type::info,
      metric_type::untyped,
      metric_type::stateset,
      metric_type::untyped,
      metric_type::gauge,
      metric_type::untyped,
      metric_type::untyped,
      metric_type::untyped,
  };
  REQUIRE(result.samples.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO(result.samples[i].name);
    CHECK(result.samples[i].type == expected[i]);
  }
}

TEST_CASE("OpenMetrics: malformed input names line, column and cause") {
  check_errors(
      om,
      {
          {"", 1, 1, "does not end with \"# EOF\""},
          {"\n", 1, 1, "empty line"},
          {"metric", 1, 7, "expected a space and the value after the metric name, got end of input"},
          {"metric 1", 1, 9, "does not end with \"# EOF\""},
          {"metric 1\n", 2, 1, "does not end with \"# EOF\""},
          {"metric_total 1 # {aa=\"bb\"} 4", 1, 29, "does not end with \"# EOF\""},
          {"a\n# EOF\n", 1, 2, "got end of line"},
          {"\n\n# EOF\n", 1, 1, "empty line"},
          {" a 1\n# EOF\n", 1, 1, "line starts with whitespace"},
          {"9\n# EOF\n", 1, 1, "unexpected character \"9\" at start of line"},
          {"# TYPE u untyped\n# EOF\n", 1, 10, "invalid metric type \"untyped\""},
          {"# TYPE c counter \n# EOF\n", 1, 10, "invalid metric type \"counter \""},
          {"#  TYPE c counter\n# EOF\n", 1, 3, "unsupported comment"},
          {"# TYPE \n# EOF\n", 1, 8, "expected metric name after TYPE, got end of line"},
          {"# TYPE m\n# EOF\n", 1, 9, "expected a space and the TYPE text"},
          {"# TYPE m counter", 1, 17, "does not end with \"# EOF\""},
          {"# UNIT metric suffix\n# EOF\n", 1, 15,
           "unit \"suffix\" is not a suffix of metric name \"metric\""},
          {"# UNIT metricsuffix suffix\n# EOF\n", 1, 21, "is not a suffix"},
          {"# UNIT m suffix\n# EOF\n", 1, 10, "is not a suffix"},
          {"# UNIT \n# EOF\n", 1, 8, "expected metric name after UNIT"},
          {"# HELP m\n# EOF\n", 1, 9, "expected a space and the HELP text"},
          {"# HELP m \xff\n# EOF\n", 1, 10, "HELP text is not valid UTF-8"},
          {"# random comment\n# EOF\n", 1, 3, "unsupported comment"},
          {"#\n# EOF\n", 1, 2, "expected a space after '#'"},
          {"a\t1\n# EOF\n", 1, 2, "expected a space and the value"},
          {"a  1\n# EOF\n", 1, 3, "expected value after the metric name, got \" \""},
          {"a 1\t2\n# EOF\n", 1, 3, "invalid value \"1\\t2\""},
          {"a 1 2 \n# EOF\n", 1, 6, "unexpected \" \" after timestamp"},
          {"a 1 2 #\n# EOF\n", 1, 6, "unexpected \" #\" after timestamp"},
          {"a 1  2\n# EOF\n", 1, 5, "unexpected \" \" after value"},
          {"a 1 \n# EOF\n", 1, 5, "expected timestamp after the value, got end of line"},
          {"a 1 #x\n# EOF\n", 1, 5, "invalid exemplar"},
          {"a 1 1z\n# EOF\n", 1, 5, "invalid timestamp \"1z\""},
          {"a 1 1 1\n# EOF\n", 1, 6, "unexpected \" 1\" after timestamp"},
          {" # EOF\n", 1, 1, "line starts with whitespace"},
          {"# EOF\na 1", 2, 1, "unexpected data after \"# EOF\""},
          {"# EOF\n\n", 2, 1, "unexpected data after \"# EOF\""},
          {"# EOFa 1", 1, 6, "unexpected data after \"# EOF\""},
          {"#\tTYPE c counter\n", 1, 2, "expected a space after '#'"},
          {"# TYPE c  counter\n# EOF\n", 1, 10, "invalid metric type \" counter\""},
          {"a{b='c'} 1\n# EOF\n", 1, 5, "expected '\"' to open the value of label \"b\""},
          {"a{b=\"c\",} 1\n# EOF\n", 1, 9, "expected label name, got \"}\""},
          {"a{,b=\"c\"} 1\n# EOF\n", 1, 3, "expected label name, got \",\""},
          {"a{b=\"c\"d=\"e\"} 1\n# EOF\n", 1, 8, "expected ',' or '}' after label value, got \"d\""},
          {"a{b=\"c\",,d=\"e\"} 1\n# EOF\n", 1, 9, "expected label name, got \",\""},
          {"a{b=\"c\", d=\"e\"} 1\n# EOF\n", 1, 9, "expected label name, got \" \""},
          {"a {b=\"c\"} 1\n# EOF\n", 1, 3, "invalid value \"{b=\\\"c\\\"}\""},
          {"a{b=\n", 1, 5, "got end of line"},
          {"a{b=\"c\nd\"} 1\n# EOF\n", 1, 7, "line break inside label value"},
          {"a{b=\"c\"\n", 1, 8, "unterminated label set"},
          {"a{\xff=\"foo\"} 1\n# EOF\n", 1, 3, "expected label name, got \"\\xff\""},
          {"a{b=\"\xff\"} 1\n# EOF\n", 1, 6, "label value is not valid UTF-8"},
          {"a{b=\"1\",b=\"2\"} 1\n# EOF\n", 1, 9, "duplicate label name \"b\""},
          {"a true\n# EOF\n", 1, 3, "invalid value \"true\""},
          {"something_weird{problem=\"\n# EOF\n", 1, 26, "line break inside label value"},
          {"empty_label_name{=\"\"} 0\n# EOF\n", 1, 18, "expected label name, got \"=\""},
          {"foo 1_2\n\n# EOF\n", 1, 5, "not supported"},
          {"foo 0x1P-3\n\n# EOF\n", 1, 5, "not supported"},
          {"foo 0 1_2\n\n# EOF\n", 1, 7,
           "invalid timestamp \"1_2\" (hexadecimal floats and '_' are not supported)"},
          {"custom_metric_total 1 # {aa=bb}\n# EOF\n", 1, 29,
           "expected '\"' to open the value of label \"aa\""},
          {"custom_metric_total 1 # {aa=\"bb\"}\n# EOF\n", 1, 34, "expected a space and the exemplar value"},
          {"custom_metric_total 1 # {aa=\"bb\"}", 1, 34, "got end of input"},
          {"custom_metric_total 1 # {aa=\"bb\",,cc=\"dd\"} 1\n# EOF\n", 1, 34,
           "expected label name, got \",\""},
          {"custom_metric_total 1 # {aa=\"bb\"} 1_2\n# EOF\n", 1, 35, "invalid exemplar value \"1_2\""},
          {"custom_metric_total 1 # {aa=\"bb\"} true\n# EOF\n", 1, 35, "invalid exemplar value \"true\""},
          {"custom_metric_total 1 # {aa=\"bb\",cc=}\n# EOF\n", 1, 37, "expected '\"'"},
          {"custom_metric_total 1 # {aa=\"bb\"} 1 2 3\n# EOF\n", 1, 38, "unexpected \" 3\" after exemplar"},
          {"custom_metric_total 1 # {aa=\"bb\"} 1 Inf\n# EOF\n", 1, 37,
           "invalid exemplar timestamp \"Inf\" (must be finite)"},
          {"{b=\"c\",} 1\n# EOF\n", 1, 1, "expected a metric name before '{'"},
          {"{\"quoted.name\"} 1\n# EOF\n", 1, 1, "quoted metric names"},
          {"a{\"quoted\"=\"x\"} 1\n# EOF\n", 1, 3, "quoted label names are not supported"},
          {"a 1 NaN\n# EOF\n", 1, 5, "invalid timestamp \"NaN\" (must be finite)"},
          {"a 1 -Inf\n# EOF\n", 1, 5, "must be finite"},
          {"a 1 1e300\n# EOF\n", 1, 5, "timestamp \"1e300\" is out of range"},
          {"a 1 9223372036854775.808\n# EOF\n", 1, 5, "is out of range"},
          {"# TYPE hhh histogram\nhhh_bucket{le=\"+Inf\"} 1 # {aa=\"bb\"} 4 NaN\n# EOF\n", 2, 39,
           "invalid exemplar timestamp \"NaN\""},
          {"a 1\r\n# EOF\n", 1, 3, "CRLF line endings are not supported"},
          {"a 1\n# EOF\r\n", 2, 6, "unexpected data after \"# EOF\""},
      });
}

TEST_CASE("parser state: terminal entries repeat and views survive until next()") {
  exposition_parser parser("a{x=\"1\\\"\",y=\"plain\"} 1\nb{x=\"2\\\\\",y=\"3\\n\"} 2\n", prom);
  REQUIRE(parser.next() == entry::series);
  REQUIRE(parser.labels().size() == 2);
  CHECK(parser.labels()[0].value == "1\"");
  CHECK(parser.labels()[1].value == "plain");
  REQUIRE(parser.next() == entry::series);
  CHECK(parser.metric_name() == "b");
  REQUIRE(parser.labels().size() == 2);
  CHECK(parser.labels()[0].value == "2\\");
  CHECK(parser.labels()[1].value == "3\n");
  CHECK(parser.next() == entry::eof);
  CHECK(parser.next() == entry::eof);

  exposition_parser empty_prom(std::string_view{}, prom);
  CHECK(empty_prom.next() == entry::eof);
  exposition_parser empty_om(std::string_view{}, om);
  REQUIRE(empty_om.next() == entry::error);
  CHECK(wk::protocol::describe(empty_om.error()) ==
        "line 1, column 1: OpenMetrics input does not end with \"# EOF\"");

  exposition_parser broken("ok 1\nbad{\n", prom);
  CHECK(broken.next() == entry::series);
  CHECK(broken.next() == entry::error);
  CHECK(wk::protocol::describe(broken.error()) == "line 2, column 5: unterminated label set (missing '}')");
  CHECK(broken.next() == entry::error);
  CHECK(broken.error().line == 2);
}

TEST_CASE("block scans stop at the right byte at every offset") {
  // Names and values of every length around the 16-byte scan blocks, each ended by every kind
  // of stop byte, also right at the end of the body where a block would not fit.
  for (std::size_t length = 1; length <= 40; ++length) {
    std::string name;
    for (std::size_t i = 0; i < length; ++i) name += "aZ9_:"[i % 5];
    name[0] = 'm';
    for (const std::string_view after : {" 1"sv, "{} 1"sv, "\t1"sv}) {
      const std::string body = name + std::string(after);
      const parse_result result = parse_all(body, prom);
      INFO("body: ", printable(body));
      REQUIRE_FALSE(result.error.has_value());
      CHECK(result.samples.at(0).name == name);
    }
    const parse_result cut = parse_all(name + "-", prom);
    REQUIRE(cut.error.has_value());
    CHECK(cut.error->column == length + 1);

    const std::string value(length, 'v');
    for (std::size_t at = 0; at < length; ++at) {
      std::string escaped = value;
      escaped.replace(at, 1, "\\\"");  // \" unescapes to "
      std::string unescaped = value;
      unescaped[at] = '"';
      std::string utf8 = value;
      utf8.replace(at, 1, "\xc3\xa9");
      const std::pair<std::string, std::string> cases[] = {{value, value}, {escaped, unescaped}, {utf8, utf8}};
      for (const auto& [raw, expected] : cases) {
        const std::string body = "m{l=\"" + raw + "\"} 1";
        const parse_result result = parse_all(body, prom);
        INFO("body: ", printable(body));
        REQUIRE_FALSE(result.error.has_value());
        CHECK(result.samples.at(0).labels.at(0).second == expected);
      }
      std::string broken = value;
      broken[at] = '\xff';
      const parse_result result = parse_all("m{l=\"" + broken + "\"} 1", prom);
      REQUIRE(result.error.has_value());
      CHECK(result.error->column == 6 + at);
      const parse_result unterminated = parse_all("m{l=\"" + value.substr(0, at + 1), prom);
      REQUIRE(unterminated.error.has_value());
      CHECK(unterminated.error->message.find("unterminated label value") != std::string::npos);
    }
  }
}

TEST_CASE("escaped label values stay intact while the unescape buffer grows") {
  // Many long escaped values in one series force the buffer to reallocate mid label set.
  std::string body = "wide{";
  std::vector<std::string> expected;
  for (int i = 0; i < 200; ++i) {
    const std::string raw = std::string(static_cast<std::size_t>(i) * 7 + 1, 'v') + std::to_string(i);
    body += "l" + std::to_string(i) + "=\"" + raw + "\\\"\\\\\\n\",";
    expected.push_back(raw + "\"\\\n");
  }
  body += "} 1\n";
  for (const exposition_format format : {prom, om}) {
    const std::string input = format == om ? body.substr(0, body.size() - 4) + "} 1\n# EOF\n" : body;
    std::string fixed = input;
    if (format == om) fixed.erase(fixed.rfind(",}"), 1);
    const parse_result result = parse_all(fixed, format);
    REQUIRE_FALSE(result.error.has_value());
    REQUIRE(result.samples.size() == 1);
    REQUIRE(result.samples[0].labels.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
      CHECK(result.samples[0].labels[i].second == expected[i]);
  }
}

TEST_CASE("steady-state parsing allocates nothing per sample") {
  const std::string once = corpus("alltypes.237mfs.prom.txt");
  // Escaped label values and HELP text too, so the reused buffers are exercised.
  const std::string extra = "# HELP esc a\\\\b\nesc{a=\"x\\\"y\",b=\"\\\\\"} 1\n";
  const std::string body = once + extra + once + extra;
  exposition_parser parser(body, prom);
  std::size_t samples = 0;
  std::size_t allocations_after_first_copy = 0;
  const std::size_t first_copy_samples = 1857 + 1;
  for (;;) {
    const entry kind = parser.next();
    if (kind == entry::series && ++samples == first_copy_samples) {
      allocations_after_first_copy = allocations.load(std::memory_order_relaxed);
    }
    if (kind == entry::eof || kind == entry::error) break;
  }
  const std::size_t allocations_at_end = allocations.load(std::memory_order_relaxed);
  CHECK(parser.next() == entry::eof);
  CHECK(samples == 2 * first_copy_samples);
  CHECK(allocations_at_end == allocations_after_first_copy);
}

TEST_CASE("hostile sizes: huge tokens, wide label sets, endless lines") {
  SUBCASE("an 8 MB label value, plain and escaped") {
    const std::string value(8u << 20, 'x');
    parse_result result = parse_all("big{v=\"" + value + "\"} 1\n", prom);
    REQUIRE_FALSE(result.error.has_value());
    CHECK(result.samples.at(0).labels.at(0).second.size() == value.size());
    std::string escaped;
    for (int i = 0; i < (1 << 20); ++i) escaped += "ab\\\"";
    result = parse_all("big{v=\"" + escaped + "\"} 1\n# EOF\n", om);
    REQUIRE_FALSE(result.error.has_value());
    CHECK(result.samples.at(0).labels.at(0).second.size() == 3u << 20);
  }
  SUBCASE("200k labels, then one duplicate") {
    std::string body = "wide{";
    for (int i = 0; i < 200'000; ++i) body += "l" + std::to_string(i) + "=\"v\",";
    parse_result result = parse_all(body + "} 1\n", prom);
    REQUIRE_FALSE(result.error.has_value());
    CHECK(result.samples.at(0).labels.size() == 200'000);
    const std::size_t duplicate_column = body.size() + 1;
    body += "l5=\"again\",l7=\"again\"";
    result = parse_all(body + "} 1\n", prom);
    REQUIRE(result.error.has_value());
    CHECK(result.error->column == duplicate_column);
    CHECK(result.error->message == "duplicate label name \"l5\"");
  }
  SUBCASE("a million digits") {
    const std::string digits(1'000'000, '7');
    parse_result result = parse_all("n " + digits + "\n", prom);
    REQUIRE(result.error.has_value());
    CHECK(result.error->message.find("is out of range") != std::string::npos);
    CHECK(result.error->message.size() < 200);  // quoted input is truncated
    result = parse_all("n 0." + digits + "\n", prom);
    REQUIRE_FALSE(result.error.has_value());
    CHECK(result.samples.at(0).value == doctest::Approx(0.7777777777777778));
  }
  SUBCASE("blank lines, an endless name, endless comments") {
    parse_result result = parse_all(std::string(2'000'000, '\n'), prom);
    CHECK_FALSE(result.error.has_value());
    result = parse_all(std::string(2'000'000, '\n'), om);
    REQUIRE(result.error.has_value());
    CHECK(result.error->line == 1);
    result = parse_all(std::string(4'000'000, 'a'), prom);
    REQUIRE(result.error.has_value());
    CHECK(result.error->column == 4'000'001);
    result = parse_all("#" + std::string(4'000'000, ' ') + "x\n", prom);
    CHECK_FALSE(result.error.has_value());
    CHECK(result.comments == 1);
    result = parse_all(std::string(1'000'000, '{'), prom);
    REQUIRE(result.error.has_value());
    CHECK(result.error->column == 1);
    result = parse_all("a{" + std::string(1'000'000, ' ') + "b=\"c\"}", prom);
    REQUIRE(result.error.has_value());
    CHECK(result.error->message == "expected value after label set, got end of input");
  }
}

TEST_CASE("fixtures: *.good.* parse, match their expectations and round-trip") {
  const std::string prom_body = read_file(testdata_dir() / "basic.good.prom");
  const parse_result prom_result = parse_all(prom_body, prom);
  REQUIRE_FALSE(prom_result.error.has_value());
  CHECK(prom_result.comments == 2);
  CHECK(prom_result.types == 3);
  CHECK(prom_result.helps == 2);
  CHECK(prom_result.metadata_lines.at(0).help ==
        "Requests served.\nBy code; a backslash \\ and a \\\"quote\\\".");
  const std::vector<sample> prom_expected = {
      {"http_requests_total",
       {{"method", "post"}, {"code", "200"}},
       1027,
       1395066363000,
       metric_type::counter},
      {"http_requests_total", {{"method", "post"}, {"code", "400"}}, 3, 1395066363000, metric_type::counter},
      {"http_requests_total", {{"method", "get"}, {"code", "500"}}, 0, std::nullopt, metric_type::counter},
      {"rpc_duration_seconds", {{"quantile", "0.5"}}, 4.773e-05, std::nullopt, metric_type::summary},
      {"rpc_duration_seconds", {{"quantile", "0.99"}}, normal_nan(), std::nullopt, metric_type::summary},
      {"rpc_duration_seconds_sum", {}, 1.7560473e+07, std::nullopt, metric_type::summary},
      {"rpc_duration_seconds_count", {}, 2693, std::nullopt, metric_type::summary},
      {"request_size_bytes_bucket", {{"le", "0.5"}}, 129389, std::nullopt, metric_type::histogram},
      {"request_size_bytes_bucket", {{"le", "+Inf"}}, 144320, std::nullopt, metric_type::histogram},
      {"request_size_bytes_sum", {}, 53423, std::nullopt, metric_type::histogram},
      {"request_size_bytes_count", {}, 144320, std::nullopt, metric_type::histogram},
      {"msdos_file_access_time_seconds",
       {{"path", "C:\\DIR\\FILE.TXT"}, {"error", "Cannot find file:\n\"FILE.TXT\""}},
       1.458255915e9,
       std::nullopt,
       metric_type::untyped},
      {"metric_without_labels", {}, 12.47, std::nullopt, metric_type::untyped},
      {"something_weird", {{"problem", "division by zero"}}, inf, 3982045, metric_type::untyped},
      {"utf8_label",
       {{"city", "Z\xc3\xbcrich"}, {"emoji", "\xf0\x9f\x99\x82"}},
       -0.5,
       std::nullopt,
       metric_type::untyped},
      {"scientific", {{"kind", "integer exponent"}}, 1000, std::nullopt, metric_type::untyped},
      {":colon:metric", {}, -inf, std::nullopt, metric_type::untyped},
      {"unknown_escape", {{"v", "a\\tb"}}, 7, std::nullopt, metric_type::untyped},
  };
  check_same_samples(prom_result.samples, prom_expected);
  for (std::size_t i = 0; i < prom_expected.size(); ++i)
    CHECK(prom_result.samples[i].type == prom_expected[i].type);

  const std::string om_body = read_file(testdata_dir() / "basic.good.om");
  const parse_result om_result = parse_all(om_body, om);
  REQUIRE_FALSE(om_result.error.has_value());
  CHECK(om_result.units == 1);
  CHECK(om_result.metadata_lines.at(2).unit == "seconds");
  CHECK(om_result.metadata_lines.at(2).help == "Latency though all of ACME's HTTP request router.");
  CHECK(om_result.metadata_lines.back().help == "Help with \\ and \n and \" escapes.");
  const std::vector<sample> om_expected = {
      {"acme_http_router_request_seconds_sum",
       {{"path", "/api/v1"}, {"method", "GET"}},
       9036.32,
       std::nullopt,
       metric_type::summary},
      {"acme_http_router_request_seconds_count",
       {{"path", "/api/v1"}, {"method", "GET"}},
       807283,
       std::nullopt,
       metric_type::summary},
      {"acme_http_router_request_seconds_created",
       {{"path", "/api/v1"}, {"method", "GET"}},
       1605281325,
       std::nullopt,
       metric_type::summary},
      {"foo_total", {}, 17, 1520879607789, metric_type::counter},
      {"foo_created", {}, 1520872607.123, std::nullopt, metric_type::counter},
      {"buildinfo_info", {{"name", "prometheus"}, {"version", "2.42.0"}}, 1, std::nullopt, metric_type::info},
      {"door", {{"door", "open"}}, 1, std::nullopt, metric_type::stateset},
      {"door", {{"door", "closed"}}, 0, std::nullopt, metric_type::stateset},
      {"queue_depth_bucket", {{"le", "+Inf"}}, 4, std::nullopt, metric_type::gauge_histogram},
      {"queue_depth_gcount", {}, 4, std::nullopt, metric_type::gauge_histogram},
      {"queue_depth_gsum", {}, 12.5, std::nullopt, metric_type::gauge_histogram},
      {"escapes", {{"a", "quote\"backslash\\newline\n"}}, 1e-3, std::nullopt, metric_type::untyped},
  };
  check_same_samples(om_result.samples, om_expected);
  for (std::size_t i = 0; i < om_expected.size(); ++i)
    CHECK(om_result.samples[i].type == om_expected[i].type);

  // Round trip: rendering the parsed samples and parsing the rendering gives the same samples.
  for (const auto* result : {&prom_result, &om_result}) {
    const std::string rendered = render(result->samples);
    const parse_result again = parse_all(rendered, prom);
    REQUIRE_FALSE(again.error.has_value());
    check_same_samples(again.samples, result->samples);
    CHECK(render(again.samples) == rendered);
  }
}

TEST_CASE("fixtures: every *.bad.prom fails where its first line says") {
  std::size_t checked = 0;
  for (const auto& file : std::filesystem::directory_iterator(testdata_dir())) {
    const std::string name = file.path().filename().string();
    if (name.size() < 9 || name.compare(name.size() - 9, 9, ".bad.prom") != 0) continue;
    INFO("fixture: ", name);
    const std::string body = read_file(file.path());
    // First line: "# expect: LINE:COLUMN: message fragment"
    constexpr std::string_view marker = "# expect: ";
    REQUIRE(body.compare(0, marker.size(), marker) == 0);
    const std::string expectation = body.substr(marker.size(), body.find_first_of("\r\n") - marker.size());
    std::size_t line = 0;
    std::size_t column = 0;
    int consumed = 0;
    REQUIRE(std::sscanf(expectation.c_str(), "%zu:%zu: %n", &line, &column, &consumed) == 2);
    const std::string fragment = expectation.substr(static_cast<std::size_t>(consumed));
    const parse_result result = parse_all(body, prom);
    REQUIRE(result.error.has_value());
    INFO("error: ", wk::protocol::describe(*result.error));
    CHECK(result.error->line == line);
    CHECK(result.error->column == column);
    CHECK(result.error->message.find(fragment) != std::string::npos);
    ++checked;
  }
  CHECK(checked >= 6);
}
