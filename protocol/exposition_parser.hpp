#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wk::protocol {

enum class exposition_format { prometheus_text, openmetrics };

// From an HTTP Content-Type: "application/openmetrics-text; ..." (any version, any case) is
// OpenMetrics; "text/plain; version=0.0.4", empty and anything unknown is Prometheus text.
exposition_format detect_exposition_format(std::string_view content_type);

enum class metric_type { untyped, counter, gauge, histogram, summary, gauge_histogram, info, stateset };
enum class entry { series, type, help, unit, comment, eof, error };

struct label_view {
  std::string_view name;
  std::string_view value;
};

// line and column are 1-based; column counts bytes from the start of the line.
struct parse_error {
  std::size_t line = 0;
  std::size_t column = 0;
  std::string message;
};

// "line 3, column 14: expected '=' after label name"
std::string describe(const parse_error& error);

// Pull parser over one scrape body, which must outlive the parser. Accepts the Prometheus text
// format 0.0.4 as Prometheus's promparse does (whitespace between tokens, optional commas
// between labels, a final line without '\n') and OpenMetrics 1.0 as its openmetricsparse does
// (single spaces, mandatory "# EOF", exemplars validated and skipped). Quoted metric and label
// names (OpenMetrics 2.0 / UTF-8 names) are rejected with an error.
//
// Nothing is allocated per sample once the label vector and the unescape buffer have grown to
// the widest series seen.
class exposition_parser {
 public:
  exposition_parser(std::string_view body, exposition_format format);
  // Views handed out may point into the parser's own buffers.
  exposition_parser(const exposition_parser&) = delete;
  exposition_parser& operator=(const exposition_parser&) = delete;
  exposition_parser(exposition_parser&&) = delete;
  exposition_parser& operator=(exposition_parser&&) = delete;

  // Call until eof or error. After either, every further call returns the same entry.
  entry next();

  // Valid after entry::series, until the next call to next(). Names point into the body; a
  // label value with escapes points into a buffer of the parser.
  std::string_view metric_name() const { return metric_name_; }
  // In source order; never contains __name__.
  const std::vector<label_view>& labels() const { return labels_; }
  // NaN carries normal_nan_bits (protocol/exposition_float.hpp), never the staleness marker.
  double value() const { return value_; }
  // Prometheus text: integer milliseconds. OpenMetrics: float seconds, converted to
  // milliseconds truncated toward zero (as Prometheus does).
  std::optional<std::int64_t> timestamp_ms() const;
  // Type of the family announced by the last TYPE line when this series belongs to it (its name
  // is the family name or the family name plus a suffix of that type, such as _bucket for a
  // histogram or _total for an OpenMetrics counter); untyped otherwise.
  metric_type current_type() const { return current_type_; }

  // Valid after entry::type, help and unit (views into the body or a parser buffer). They
  // describe the family of the last metadata line; type, help and unit of one family
  // accumulate while consecutive metadata lines name the same family.
  std::string_view family_name() const { return family_name_; }
  metric_type family_type() const { return family_type_; }
  std::string_view help() const { return help_; }  // unescaped
  std::string_view unit() const { return unit_; }

  // Valid after entry::error.
  const parse_error& error() const { return error_; }

 private:
  entry next_prometheus_line();
  entry next_openmetrics_line();
  entry line_start_error(const char* at);
  entry parse_prometheus_comment(const char* hash);
  entry parse_openmetrics_comment(const char* hash);
  entry finish_metadata(entry kind, std::string_view name, std::string_view text);
  void begin_series();
  entry parse_prometheus_series();
  entry parse_openmetrics_series();
  std::string_view scan_metric_name();
  std::string_view scan_openmetrics_token();
  bool parse_prometheus_labels();
  bool parse_openmetrics_labels(bool exemplar);
  bool read_label_name(std::string_view& name);
  // Out of line so that building the message does not weigh on the hot path.
  [[gnu::cold, gnu::noinline]] bool label_name_error();
  bool read_label_value(std::string_view& raw, bool& escaped);
  // Pointer and size rather than string_view: passing views here made the compiler spill and
  // reload them as one 16-byte word, a store-forwarding stall on the hottest path.
  void add_label(const char* name, std::size_t name_size, const char* raw, std::size_t raw_size,
                 bool escaped);
  void add_unescaped(const char* raw, std::size_t raw_size);
  bool finish_labels();
  bool skip_exemplar();
  bool parse_value(std::string_view token, double& value, const char* what);
  bool parse_openmetrics_timestamp(std::string_view token, std::int64_t& ms, const char* what);
  void classify_series();
  void end_line(const char* newline);
  void skip_blanks();
  // Records the error (1-based line and column of `at`) and makes the parser terminal.
  [[gnu::cold]] entry fail(const char* at, std::string message);
  [[gnu::cold]] bool failed(const char* at, std::string message);

  const char* const begin_;
  const char* const end_;
  const char* cur_;
  const exposition_format format_;
  bool done_ = false;
  entry final_entry_ = entry::eof;
  std::size_t line_ = 1;
  const char* line_begin_;

  // Opening quote of this series' first label value that spans lines, named in error messages:
  // an unclosed quote otherwise surfaces as a puzzling error lines later.
  const char* spanning_value_ = nullptr;

  std::string_view metric_name_;
  std::vector<label_view> labels_;
  // Unescaped label values; labels_ points into it once the label set is complete.
  std::string unescaped_;
  struct pending_value {
    std::size_t label;
    std::size_t offset;
    std::size_t size;
  };
  std::vector<pending_value> pending_values_;
  // Label names with their index, for duplicate checks on wide label sets.
  std::vector<std::pair<std::string_view, std::size_t>> sorted_names_;
  double value_ = 0;
  std::int64_t timestamp_ms_ = 0;
  bool has_timestamp_ = false;
  metric_type current_type_ = metric_type::untyped;

  std::string_view family_name_;
  metric_type family_type_ = metric_type::untyped;
  std::string_view help_;
  std::string help_buffer_;
  std::string_view unit_;

  parse_error error_;
};

}  // namespace wk::protocol
