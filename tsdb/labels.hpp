#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wk::tsdb {

inline constexpr std::string_view metric_name_label = "__name__";

struct label {
  std::string name;
  std::string value;
};

using label_view = std::pair<std::string_view, std::string_view>;

// An immutable set of labels sorted by name with unique names. As in Prometheus, a label with
// an empty value is the same as no label at all, so such labels are dropped on construction.
class label_set {
 public:
  label_set() = default;
  // Sorts by name. Throws std::invalid_argument on an empty name or a name given twice.
  explicit label_set(std::vector<label> labels);
  // "__name__" is set from metric_name when it is not empty; same rules as above.
  static label_set from_views(std::string_view metric_name, const std::vector<label_view>& labels);

  std::string_view get(std::string_view name) const;  // "" when absent
  const std::vector<label>& labels() const { return labels_; }
  std::size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }

  // XXH64 of "name\xffvalue\xff..." in name order: stable across runs, builds and machines.
  std::uint64_t fingerprint() const;
  // Prometheus form name{a="b",c="d"}; values escape \ " and newline. A metric name or label
  // name that is not a plain identifier is written quoted, the way Prometheus 3 writes it.
  std::string to_string() const;

  bool operator==(const label_set& other) const;
  bool operator!=(const label_set& other) const { return !(*this == other); }
  bool operator<(const label_set& other) const;

 private:
  std::vector<label> labels_;
};

// Sorts views by name, drops empty values and rejects empty or repeated names with
// std::invalid_argument. Used on the scrape path, so it works in place without allocating.
void normalize_label_views(std::vector<label_view>& labels);

// Fingerprint of views already normalized; equal to label_set::fingerprint() of the same set.
std::uint64_t fingerprint_of(const std::vector<label_view>& sorted_labels);

}  // namespace wk::tsdb
