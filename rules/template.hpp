#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "tsdb/labels.hpp"

namespace wk::rules {

// What an alert template sees: Prometheus's AlertTemplateData (.Labels, .ExternalLabels,
// .ExternalURL, .Value) and the $labels/$externalLabels/$externalURL/$value shorthands.
struct template_data {
  const tsdb::label_set* labels = nullptr;
  double value = 0;
  const std::map<std::string, std::string>* external_labels = nullptr;
  std::string external_url;
};

// Templates longer than this, nested deeper, or expanding to more than max_template_output
// bytes are refused: a rule file must not be able to exhaust memory or stack.
inline constexpr std::size_t max_template_length = 64 * 1024;
inline constexpr int max_template_nesting = 64;
inline constexpr std::size_t max_template_output = 1024 * 1024;

namespace detail {
struct template_tree;
}

// A template parsed once and expanded many times (once per alert per evaluation).
class compiled_template {
 public:
  // Parses `text`; on a syntax error `error` is set and every expansion gives
  // "<error expanding template: ...>".
  compiled_template(std::string_view text, std::string& error);
  // Never throws; an execution error gives "<error expanding template: ...>" like Prometheus.
  std::string expand(const template_data& d) const;
  // True when the text has no action at all: expansion returns it unchanged.
  bool is_literal() const { return literal_; }

 private:
  std::shared_ptr<const detail::template_tree> tree_;
  std::string text_;
  std::string error_;
  bool literal_ = false;
};

// Parse-time check; returns an error message or empty.
std::string check_template(std::string_view text);
// Expansion; on error returns the text "<error expanding template: ...>" like Prometheus does.
std::string expand_template(std::string_view text, const template_data& d);

// Go's fmt %v of a float64 (shortest representation, "1e+06", "+Inf", "NaN"), as templates and
// Prometheus print sample values.
std::string go_format_float(double v);

}  // namespace wk::rules
