#pragma once

// Internal to config/: reads a yaml-cpp tree against the schema, collecting every error with
// its file, line, column and key path instead of stopping at the first.

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/env_expand.hpp"
#include "config/error.hpp"

namespace wk::config::detail {

// Hostile files must not grow the error list (or the report) without bound.
constexpr std::size_t max_errors = 200;
// Aliases let a small file name the same subtree many times over; reading stops past these
// (a configuration of 5000 services uses about 150 000 entries).
constexpr std::size_t max_entries_read = 1'000'000;
constexpr std::size_t max_text_read = 64 * 1024 * 1024;

class error_sink {
 public:
  explicit error_sink(std::string file);
  void add(const YAML::Mark& mark, const std::string& key, std::string message);
  bool empty() const { return errors_.empty(); }
  // The errors in file order (stable for equal places), then the note about dropped ones.
  std::vector<config_error> take();

 private:
  std::string file_;
  std::vector<config_error> errors_;
  std::size_t dropped_ = 0;
};

// One value in the tree together with where it sits.
struct field {
  std::string path;  // "services[2].health[0].timeout"; empty for the root
  YAML::Node key;    // undefined for the root and for sequence items
  YAML::Node value;
  YAML::Mark fallback;  // the parent's place, for values that have none of their own
  // The value's place; for null values yaml-cpp marks the next token, so use the key's.
  YAML::Mark mark() const;
  bool is_null() const { return !value.IsDefined() || value.IsNull(); }
};

class mapping {
 public:
  const field* find(std::string_view key) const;
  const std::vector<field>& entries() const { return entries_; }

 private:
  friend class walker;
  std::vector<field> entries_;
  // Key -> index into entries_.
  std::unordered_map<std::string, std::size_t> index_;
};

enum class env_mode { expand, literal };

// ASCII lower case.
std::string lower(std::string_view text);
// " (did you mean "x"?)" for the closest candidate within a small edit distance, else "".
std::string suggestion(std::string_view word, const std::vector<std::string_view>& candidates);
// A message-safe rendering: quoted, escaped, cut at 80 characters (whole UTF-8 sequences).
std::string quote(std::string_view text);

class walker {
 public:
  walker(error_sink& errors, env_mode env, env_lookup lookup);

  static field root(const YAML::Node& document);
  static field item(const field& list, const YAML::Node& value, std::size_t index);

  void error(const field& f, std::string message);
  void error_at_key(const field& f, std::string message);
  // A required key the mapping `parent` lacks; reported at the mapping.
  void missing(const field& parent, std::string_view key, std::string_view expected);
  const env_lookup& lookup() const { return lookup_; }

  // Once a budget has run out every read below fails at once, without further errors.
  bool exhausted() const { return exhausted_; }

  // A mapping with only the known keys (merge keys "<<" resolved); a null value reads as an
  // empty mapping. Reports unknown and duplicate keys; nullopt when the value is no mapping.
  std::optional<mapping> map(const field& f, std::initializer_list<std::string_view> known);
  // A mapping whose keys are free-form (labels, headers): keys are checked by the caller.
  std::optional<mapping> free_map(const field& f);
  // A sequence's items; a null value reads as empty.
  std::optional<std::vector<field>> list(const field& f);

  // A scalar's text after environment expansion (when enabled), valid UTF-8 without NUL.
  // `expected` names what should be there, for the error when it is not a scalar.
  std::optional<std::string> text(const field& f, std::string_view expected);
  std::optional<std::string> non_empty_text(const field& f, std::string_view expected);
  std::optional<std::chrono::milliseconds> duration(const field& f, bool allow_zero = false);
  std::optional<std::uint64_t> size(const field& f);
  std::optional<std::uint64_t> whole_number(const field& f, std::uint64_t min, std::uint64_t max);
  std::optional<bool> boolean(const field& f);
  // The index of the option the scalar names.
  std::optional<std::size_t> choice(const field& f, const std::vector<std::string_view>& options);
  // The scalar as written in the file, quoted, noting when it went through environment
  // expansion; never the expanded text, which may hold a secret.
  std::string describe(const field& f) const;

 private:
  void collect(const field& f, mapping& out, bool check_keys,
               std::initializer_list<std::string_view> known, int depth, std::size_t& merges);
  // Charges entries and text against the budgets; false (reported once) when they run out.
  bool spend(const field& f, std::size_t entries, std::size_t text_bytes);

  error_sink& errors_;
  env_mode env_;
  env_lookup lookup_;
  std::size_t entries_left_ = max_entries_read;
  std::size_t text_left_ = max_text_read;
  bool exhausted_ = false;
};

}  // namespace wk::config::detail
