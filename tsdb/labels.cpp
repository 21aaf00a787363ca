#include "tsdb/labels.hpp"

#include <algorithm>
#include <stdexcept>

#include "tsdb/hash.hpp"

namespace wk::tsdb {
namespace {

const unsigned char label_separator = 0xff;

[[noreturn]] void throw_duplicate(std::string_view name) {
  throw std::invalid_argument("label name '" + std::string(name) + "' given more than once");
}

[[noreturn]] void throw_empty_name() { throw std::invalid_argument("label with an empty name"); }

bool is_identifier(std::string_view s, bool allow_colon) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void append_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out.push_back(c);
    }
  }
  out.push_back('"');
}

void append_label_name(std::string& out, std::string_view name) {
  if (is_identifier(name, false)) {
    out.append(name);
  } else {
    append_quoted(out, name);
  }
}

}  // namespace

void normalize_label_views(std::vector<label_view>& labels) {
  labels.erase(std::remove_if(labels.begin(), labels.end(),
                              [](const label_view& l) {
                                if (l.first.empty()) throw_empty_name();
                                return l.second.empty();
                              }),
               labels.end());
  std::sort(labels.begin(), labels.end(),
            [](const label_view& a, const label_view& b) { return a.first < b.first; });
  auto dup = std::adjacent_find(labels.begin(), labels.end(),
                                [](const label_view& a, const label_view& b) { return a.first == b.first; });
  if (dup != labels.end()) throw_duplicate(dup->first);
}

std::uint64_t fingerprint_of(const std::vector<label_view>& sorted_labels) {
  xxh64 h;
  for (const auto& [name, value] : sorted_labels) {
    h.update(name);
    h.update(&label_separator, 1);
    h.update(value);
    h.update(&label_separator, 1);
  }
  return h.digest();
}

label_set::label_set(std::vector<label> labels) : labels_(std::move(labels)) {
  labels_.erase(std::remove_if(labels_.begin(), labels_.end(),
                               [](const label& l) {
                                 if (l.name.empty()) throw_empty_name();
                                 return l.value.empty();
                               }),
                labels_.end());
  std::sort(labels_.begin(), labels_.end(), [](const label& a, const label& b) { return a.name < b.name; });
  auto dup = std::adjacent_find(labels_.begin(), labels_.end(),
                                [](const label& a, const label& b) { return a.name == b.name; });
  if (dup != labels_.end()) throw_duplicate(dup->name);
}

label_set label_set::from_views(std::string_view metric_name, const std::vector<label_view>& labels) {
  std::vector<label> out;
  out.reserve(labels.size() + 1);
  if (!metric_name.empty()) out.push_back({std::string(metric_name_label), std::string(metric_name)});
  for (const auto& [name, value] : labels) out.push_back({std::string(name), std::string(value)});
  return label_set(std::move(out));
}

std::string_view label_set::get(std::string_view name) const {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const label& l, std::string_view n) { return l.name < n; });
  if (it == labels_.end() || it->name != name) return {};
  return it->value;
}

std::uint64_t label_set::fingerprint() const {
  xxh64 h;
  for (const auto& l : labels_) {
    h.update(l.name);
    h.update(&label_separator, 1);
    h.update(l.value);
    h.update(&label_separator, 1);
  }
  return h.digest();
}

std::string label_set::to_string() const {
  std::string out;
  std::string_view name = get(metric_name_label);
  // Prometheus 3 writes a metric name that is not an identifier as the first, bare quoted item.
  bool quoted_name = !name.empty() && !is_identifier(name, true);
  if (!name.empty() && !quoted_name) out.append(name);
  bool first = true;
  auto separate = [&] {
    out.push_back(first ? '{' : ',');
    first = false;
  };
  if (quoted_name) {
    separate();
    append_quoted(out, name);
  }
  for (const auto& l : labels_) {
    if (l.name == metric_name_label) continue;
    separate();
    append_label_name(out, l.name);
    out.push_back('=');
    append_quoted(out, l.value);
  }
  if (!first) {
    out.push_back('}');
  } else if (name.empty()) {
    out = "{}";
  }
  return out;
}

bool label_set::operator==(const label_set& other) const {
  if (labels_.size() != other.labels_.size()) return false;
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    if (labels_[i].name != other.labels_[i].name || labels_[i].value != other.labels_[i].value) return false;
  }
  return true;
}

bool label_set::operator<(const label_set& other) const {
  std::size_t n = std::min(labels_.size(), other.labels_.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (int c = labels_[i].name.compare(other.labels_[i].name); c != 0) return c < 0;
    if (int c = labels_[i].value.compare(other.labels_[i].value); c != 0) return c < 0;
  }
  return labels_.size() < other.labels_.size();
}

}  // namespace wk::tsdb
