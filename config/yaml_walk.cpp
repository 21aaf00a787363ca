#include "config/yaml_walk.hpp"

#include <algorithm>
#include <limits>

#include "config/units.hpp"

namespace wk::config::detail {

namespace {

// Bounds for merge keys ("<<: *defaults"): aliases may even make a mapping merge itself.
constexpr int max_merge_depth = 8;
constexpr std::size_t max_merges_per_mapping = 64;
constexpr std::size_t max_quoted = 80;

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

const char* kind_name(const YAML::Node& node) {
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  if (node.IsScalar()) return "a scalar";
  return "an empty value";
}

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t code = 0;
    std::uint32_t minimum = 0;
    if ((lead & 0xe0) == 0xc0) {
      length = 2;
      code = lead & 0x1f;
      minimum = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3;
      code = lead & 0x0f;
      minimum = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4;
      code = lead & 0x07;
      minimum = 0x10000;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < minimum || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += length;
  }
  return true;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

error_sink::error_sink(std::string file) : file_(std::move(file)) {}

void error_sink::add(const YAML::Mark& mark, const std::string& key, std::string message) {
  if (errors_.size() >= max_errors) {
    ++dropped_;
    return;
  }
  const bool placed = !mark.is_null() && mark.line >= 0;
  errors_.push_back(config_error{file_, placed ? mark.line + 1 : 0, placed ? mark.column + 1 : 0,
                                 key, std::move(message)});
}

std::vector<config_error> error_sink::take() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  if (dropped_ > 0) {
    errors_.push_back(
        config_error{file_, 0, 0, "", "... and " + std::to_string(dropped_) + " more errors"});
    dropped_ = 0;
  }
  return std::move(errors_);
}

YAML::Mark field::mark() const {
  if (value.IsDefined() && !value.IsNull() && !value.Mark().is_null()) return value.Mark();
  if (key.IsDefined() && !key.Mark().is_null()) return key.Mark();
  return fallback;
}

const field* mapping::find(std::string_view key) const {
  const auto it = index_.find(std::string(key));
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string suggestion(std::string_view word, const std::vector<std::string_view>& candidates) {
  constexpr std::size_t longest_compared = 64;
  constexpr std::size_t shortest_prefix = 3;
  if (word.size() > longest_compared) return "";
  const std::string lowered = lower(word);
  std::string_view best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto candidate : candidates) {
    const std::string other = lower(candidate);
    // "warning" for "warn", "GET" for "get": a case slip or a longer spelling of an option.
    const bool prefix = std::min(lowered.size(), other.size()) >= shortest_prefix &&
                        (lowered.rfind(other, 0) == 0 || other.rfind(lowered, 0) == 0);
    const std::size_t distance = prefix ? 0 : edit_distance(lowered, other);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  const std::size_t allowed = std::max<std::size_t>(1, std::min<std::size_t>(3, word.size() / 3));
  if (best.empty() || best == word || best_distance > allowed) return "";
  return " (did you mean \"" + std::string(best) + "\"?)";
}

std::string quote(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  // Invalid UTF-8 is shown as escapes, so messages stay valid text for logs and JSON.
  const bool utf8 = valid_utf8(text);
  std::string out = "\"";
  std::size_t shown = 0;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool continuation = utf8 && (byte & 0xc0) == 0x80;
    if (!continuation && shown++ == max_quoted) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f || (!utf8 && byte >= 0x80)) {
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

walker::walker(error_sink& errors, env_mode env, env_lookup lookup)
    : errors_(errors), env_(env), lookup_(std::move(lookup)) {}

field walker::root(const YAML::Node& document) {
  return field{"", YAML::Node(), document, YAML::Mark()};
}

field walker::item(const field& list, const YAML::Node& value, std::size_t index) {
  return field{list.path + "[" + std::to_string(index) + "]", YAML::Node(), value, list.mark()};
}

void walker::error(const field& f, std::string message) {
  errors_.add(f.mark(), f.path, std::move(message));
}

void walker::error_at_key(const field& f, std::string message) {
  const YAML::Mark mark = f.key.IsDefined() && !f.key.Mark().is_null() ? f.key.Mark() : f.mark();
  errors_.add(mark, f.path, std::move(message));
}

void walker::missing(const field& parent, std::string_view key, std::string_view expected) {
  errors_.add(parent.mark(), child_path(parent.path, std::string(key)),
              "missing required key " + quote(key) + " (" + std::string(expected) + ")");
}

bool walker::spend(const field& f, std::size_t entries, std::size_t text_bytes) {
  if (!exhausted_ && entries <= entries_left_ && text_bytes <= text_left_) {
    entries_left_ -= entries;
    text_left_ -= text_bytes;
    return true;
  }
  if (!exhausted_) {
    error(f, "aliases expand the document past " + std::to_string(max_entries_read) +
                 " entries or " + std::to_string(max_text_read >> 20) +
                 " MiB of text; reading stopped here");
    exhausted_ = true;
  }
  return false;
}

void walker::collect(const field& f, mapping& out, bool check_keys,
                     std::initializer_list<std::string_view> known, int depth,
                     std::size_t& merges) {
  const bool inherited = depth > 0;
  std::unordered_map<std::string, int> first_line;  // this mapping's own keys, for duplicates
  std::vector<field> merge_sources;
  for (auto it = f.value.begin(); it != f.value.end(); ++it) {
    if (!spend(f, 1, 0)) return;
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      errors_.add(key.Mark().is_null() ? f.mark() : key.Mark(), f.path,
                  "mapping keys must be plain strings, not " + std::string(kind_name(key)));
      continue;
    }
    const std::string& name = key.Scalar();
    field entry{child_path(f.path, name), key, it->second, f.mark()};
    if (name == "<<" && key.Tag() == "?") {
      merge_sources.push_back(std::move(entry));
      continue;
    }
    if (!inherited) {
      const auto [first, fresh] = first_line.emplace(name, key.Mark().line + 1);
      if (!fresh) {
        error_at_key(entry, "duplicate key " + quote(name) + " (first at line " +
                                std::to_string(first->second) + ")");
        continue;
      }
    }
    if (out.index_.count(name) != 0) continue;  // set by the mapping that merges this one
    if (check_keys && std::find(known.begin(), known.end(), name) == known.end()) {
      error_at_key(entry, "unknown key " + quote(name) +
                              suggestion(name, std::vector<std::string_view>(known)));
      continue;
    }
    out.index_.emplace(name, out.entries_.size());
    out.entries_.push_back(std::move(entry));
  }
  // Merged keys fill in only what the mapping does not set itself; earlier sources win.
  for (const auto& source : merge_sources) {
    std::vector<field> maps;
    if (source.value.IsMap()) {
      maps.push_back(source);
    } else if (source.value.IsSequence()) {
      for (auto it = source.value.begin(); it != source.value.end(); ++it) {
        maps.push_back(field{source.path, source.key, *it, source.mark()});
      }
    }
    if (maps.empty() ||
        !std::all_of(maps.begin(), maps.end(), [](const field& m) { return m.value.IsMap(); })) {
      error(source, "merge key \"<<\" needs a mapping or a list of mappings");
      continue;
    }
    for (const auto& merged : maps) {
      if (depth + 1 > max_merge_depth || ++merges > max_merges_per_mapping) {
        error(source, "merge keys nested too deeply or too many of them");
        return;
      }
      collect(field{f.path, merged.key, merged.value, merged.mark()}, out, check_keys, known,
              depth + 1, merges);
    }
  }
}

std::optional<mapping> walker::map(const field& f, std::initializer_list<std::string_view> known) {
  if (exhausted_) return std::nullopt;
  mapping out;
  if (f.is_null()) return out;
  if (!f.value.IsMap()) {
    error(f, "expected a mapping, got " + std::string(kind_name(f.value)));
    return std::nullopt;
  }
  std::size_t merges = 0;
  collect(f, out, true, known, 0, merges);
  return out;
}

std::optional<mapping> walker::free_map(const field& f) {
  if (exhausted_) return std::nullopt;
  mapping out;
  if (f.is_null()) return out;
  if (!f.value.IsMap()) {
    error(f, "expected a mapping, got " + std::string(kind_name(f.value)));
    return std::nullopt;
  }
  std::size_t merges = 0;
  collect(f, out, false, {}, 0, merges);
  return out;
}

std::optional<std::vector<field>> walker::list(const field& f) {
  if (exhausted_) return std::nullopt;
  std::vector<field> out;
  if (f.is_null()) return out;
  if (!f.value.IsSequence()) {
    error(f, "expected a list, got " + std::string(kind_name(f.value)));
    return std::nullopt;
  }
  std::size_t index = 0;
  for (auto it = f.value.begin(); it != f.value.end(); ++it) {
    if (!spend(f, 1, 0)) return std::nullopt;
    out.push_back(item(f, *it, index++));
  }
  return out;
}

std::optional<std::string> walker::text(const field& f, std::string_view expected) {
  if (exhausted_) return std::nullopt;
  if (f.is_null()) {
    error(f, "missing value (expected " + std::string(expected) + ")");
    return std::nullopt;
  }
  if (!f.value.IsScalar()) {
    error(f, "expected " + std::string(expected) + ", got " + kind_name(f.value));
    return std::nullopt;
  }
  if (!spend(f, 0, f.value.Scalar().size())) return std::nullopt;
  std::string value = f.value.Scalar();
  if (env_ == env_mode::expand) {
    auto expanded = expand_env(value, lookup_);
    if (!expanded.error.empty()) {
      error(f, std::move(expanded.error));
      return std::nullopt;
    }
    value = std::move(expanded.text);
  }
  if (!valid_utf8(value)) {
    error(f, describe(f) + " is not valid UTF-8");
    return std::nullopt;
  }
  if (value.find('\0') != std::string::npos) {
    error(f, describe(f) + " contains a NUL character");
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> walker::non_empty_text(const field& f, std::string_view expected) {
  auto value = text(f, expected);
  if (value && value->empty()) {
    error(f, "must not be empty (expected " + std::string(expected) + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::milliseconds> walker::duration(const field& f, bool allow_zero) {
  const auto value = text(f, "a duration such as \"15s\"");
  if (!value) return std::nullopt;
  const auto parsed = parse_duration(*value);
  if (!parsed) {
    error(f, "invalid duration " + describe(f) +
                 " (a number with a unit ms, s, m, h, d, w or y, e.g. \"1m30s\")");
    return std::nullopt;
  }
  if (!allow_zero && parsed->count() == 0) {
    error(f, "must be longer than 0");
    return std::nullopt;
  }
  return parsed;
}

std::optional<std::uint64_t> walker::size(const field& f) {
  const auto value = text(f, "a size such as \"10MiB\"");
  if (!value) return std::nullopt;
  const auto parsed = parse_size(*value);
  if (!parsed) {
    error(f, "invalid size " + describe(f) +
                 " (bytes, or a whole number with a unit such as \"512KiB\", \"10MiB\", \"1GB\")");
  }
  return parsed;
}

std::optional<std::uint64_t> walker::whole_number(const field& f, std::uint64_t min,
                                                  std::uint64_t max) {
  const auto value = text(f, "a whole number");
  if (!value) return std::nullopt;
  std::uint64_t number = 0;
  bool ok = !value->empty() && value->size() <= 20;
  for (const char c : *value) {
    if (!ok || c < '0' || c > '9') {
      ok = false;
      break;
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (number > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      ok = false;
      break;
    }
    number = number * 10 + digit;
  }
  if (!ok) {
    error(f, "expected a whole number, got " + describe(f));
    return std::nullopt;
  }
  if (number < min || number > max) {
    error(f, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                 *value);
    return std::nullopt;
  }
  return number;
}

std::optional<bool> walker::boolean(const field& f) {
  const auto value = text(f, "true or false");
  if (!value) return std::nullopt;
  if (*value == "true" || *value == "True" || *value == "TRUE") return true;
  if (*value == "false" || *value == "False" || *value == "FALSE") return false;
  error(f, "expected true or false, got " + describe(f));
  return std::nullopt;
}

std::optional<std::size_t> walker::choice(const field& f,
                                          const std::vector<std::string_view>& options) {
  std::string expected = "one of";
  for (std::size_t i = 0; i < options.size(); ++i) {
    expected += (i == 0 ? " " : ", ") + std::string(options[i]);
  }
  const auto value = text(f, expected);
  if (!value) return std::nullopt;
  for (std::size_t i = 0; i < options.size(); ++i) {
    if (*value == options[i]) return i;
  }
  error(f, "invalid value " + describe(f) + ": expected " + expected + suggestion(*value, options));
  return std::nullopt;
}

std::string walker::describe(const field& f) const {
  const std::string& raw = f.value.Scalar();
  const bool expanded = env_ == env_mode::expand && raw.find('$') != std::string::npos;
  return quote(raw) + (expanded ? " (after environment expansion)" : "");
}

}  // namespace wk::config::detail
