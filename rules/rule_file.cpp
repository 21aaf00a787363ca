#include "rules/rule_file.hpp"

#include <glob.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <utility>

#include "promql/error.hpp"
#include "promql/parser.hpp"
#include "rules/template.hpp"

namespace wk::rules {
namespace {

// A hostile file must not grow the error list without bound, nor make aliases expand into
// millions of nodes for us to walk.
constexpr std::size_t max_errors = 200;
constexpr std::size_t max_nodes_visited = 2'000'000;

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 4;
    if (n == 4 || i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n + 1;
  }
  return true;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (const char c : s.substr(0, 80)) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += '?';
      continue;
    }
    out += c;
  }
  if (s.size() > 80) out += "...";
  return out + "\"";
}

class reader {
 public:
  explicit reader(std::string file) : file_(std::move(file)) {}

  load_result run(const std::string& text) {
    if (text.size() > max_rule_file_bytes) {
      add(YAML::Mark::null_mark(), "larger than " + std::to_string(max_rule_file_bytes >> 20) + " MiB");
      return std::move(result_);
    }
    YAML::Node doc;
    try {
      doc = YAML::Load(text);
    } catch (const YAML::DeepRecursion& e) {
      add(e.mark, "YAML nested more than " + std::to_string(e.depth()) + " levels deep");
      return std::move(result_);
    } catch (const YAML::Exception& e) {
      add(e.mark, "YAML syntax error: " + e.msg);
      return std::move(result_);
    }
    try {
      top(doc);
    } catch (const YAML::Exception& e) {
      add(e.mark, "YAML error: " + e.msg);
    }
    return std::move(result_);
  }

 private:
  struct context {
    std::string group;
    int rule;
    context() : rule(0) {}
  };

  void add(const YAML::Mark& mark, const std::string& message) { add(mark, message, context()); }

  void add(const YAML::Mark& mark, const std::string& message, const context& ctx) {
    if (result_.errors.size() >= max_errors) return;
    std::string e = file_;
    if (!mark.is_null()) e += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    e += ": ";
    if (!ctx.group.empty() || ctx.rule > 0) e += "group " + quoted(ctx.group) + ": ";
    if (ctx.rule > 0) e += "rule " + std::to_string(ctx.rule) + ": ";
    result_.errors.push_back(e + message);
    if (result_.errors.size() == max_errors) result_.errors.push_back(file_ + ": too many errors, stopped reporting");
  }

  bool spend() {
    if (++visited_ <= max_nodes_visited) return true;
    if (visited_ == max_nodes_visited + 1) add(YAML::Mark::null_mark(), "too many YAML nodes (alias expansion?)");
    return false;
  }

  // Key -> (key node, value node) for a mapping, reporting unknown and repeated keys.
  std::vector<std::pair<YAML::Node, YAML::Node>> entries(const YAML::Node& map, const std::vector<std::string>& known,
                                                         const std::string& what, const context& ctx) {
    std::vector<std::pair<YAML::Node, YAML::Node>> out;
    std::set<std::string> seen;
    for (const auto& kv : map) {
      if (!spend()) return out;
      if (!kv.first.IsScalar()) {
        add(kv.first.Mark(), what + " keys must be strings", ctx);
        continue;
      }
      const std::string key = kv.first.Scalar();
      if (!known.empty() && std::find(known.begin(), known.end(), key) == known.end()) {
        add(kv.first.Mark(), "unknown key " + quoted(key) + " in " + what, ctx);
        continue;
      }
      if (!seen.insert(key).second) {
        add(kv.first.Mark(), "key " + quoted(key) + " is repeated in " + what, ctx);
        continue;
      }
      out.emplace_back(kv.first, kv.second);
    }
    return out;
  }

  static const YAML::Node* find(const std::vector<std::pair<YAML::Node, YAML::Node>>& e, const std::string& key,
                                const YAML::Node** key_node = nullptr) {
    for (const auto& kv : e)
      if (kv.first.Scalar() == key) {
        if (key_node) *key_node = &kv.first;
        return &kv.second;
      }
    return nullptr;
  }

  static YAML::Mark mark_of(const YAML::Node& value, const YAML::Node* key) {
    if (value.IsDefined() && !value.IsNull() && !value.Mark().is_null()) return value.Mark();
    return key ? key->Mark() : value.Mark();
  }

  bool scalar(const YAML::Node& v, const YAML::Node* key, const std::string& what, const context& ctx, std::string& out) {
    if (v.IsNull()) {
      out.clear();
      return true;
    }
    if (!v.IsScalar()) {
      add(mark_of(v, key), what + " must be a string", ctx);
      return false;
    }
    out = v.Scalar();
    if (!valid_utf8(out)) {
      add(mark_of(v, key), what + " is not valid UTF-8", ctx);
      return false;
    }
    return true;
  }

  void top(const YAML::Node& doc) {
    if (!doc.IsDefined() || doc.IsNull()) return;
    if (!doc.IsMap()) {
      add(doc.Mark(), "a rule file must be a mapping with a \"groups\" key");
      return;
    }
    const auto e = entries(doc, {"groups"}, "the rule file", context());
    const YAML::Node* key = nullptr;
    const YAML::Node* groups = find(e, "groups", &key);
    if (!groups || groups->IsNull()) return;
    if (!groups->IsSequence()) {
      add(mark_of(*groups, key), "\"groups\" must be a list");
      return;
    }
    std::set<std::string> names;
    for (const auto& g : *groups) {
      if (!spend()) return;
      group(g, names);
    }
  }

  void group(const YAML::Node& g, std::set<std::string>& names) {
    if (!g.IsMap()) {
      add(g.Mark(), "a group must be a mapping");
      return;
    }
    rule_group out;
    out.file = file_;
    out.line = g.Mark().line + 1;
    context ctx;
    const auto e = entries(g, {"name", "interval", "limit", "rules"}, "group", ctx);
    const YAML::Node* key = nullptr;
    if (const YAML::Node* n = find(e, "name", &key)) scalar(*n, key, "group name", ctx, out.name);
    if (out.name.empty()) {
      add(g.Mark(), "group name must not be empty");
    } else if (!names.insert(out.name).second) {
      add(key ? key->Mark() : g.Mark(), "groupname: " + quoted(out.name) + " is repeated in the same file");
    }
    ctx.group = out.name;
    if (const YAML::Node* n = find(e, "interval", &key)) {
      std::string text;
      if (scalar(*n, key, "interval", ctx, text) && !text.empty() &&
          (!parse_prometheus_duration(text, out.interval_ms)))
        add(mark_of(*n, key), "interval: not a valid duration string: " + quoted(text), ctx);
    }
    if (const YAML::Node* n = find(e, "limit", &key)) {
      std::string text;
      if (scalar(*n, key, "limit", ctx, text) && !text.empty()) {
        char* end = nullptr;
        errno = 0;
        const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
        if (text[0] == '-' || end != text.c_str() + text.size() || errno == ERANGE)
          add(mark_of(*n, key), "limit must be a non-negative integer, got " + quoted(text), ctx);
        else
          out.limit = static_cast<std::size_t>(v);
      }
    }
    const YAML::Node* rules = find(e, "rules", &key);
    if (rules && !rules->IsNull()) {
      if (!rules->IsSequence()) {
        add(mark_of(*rules, key), "\"rules\" must be a list", ctx);
      } else {
        int index = 0;
        for (const auto& r : *rules) {
          if (!spend()) return;
          ctx.rule = ++index;
          one_rule(r, ctx, out);
        }
      }
    }
    result_.groups.push_back(std::move(out));
  }

  void string_map(const YAML::Node& v, const YAML::Node* key, const std::string& what, const context& ctx,
                  std::map<std::string, std::string>& out, std::map<std::string, YAML::Mark>& marks) {
    if (v.IsNull()) return;
    if (!v.IsMap()) {
      add(mark_of(v, key), what + " must be a mapping", ctx);
      return;
    }
    for (const auto& [k, val] : entries(v, {}, what, ctx)) {
      std::string text;
      if (scalar(val, &k, what + " " + quoted(k.Scalar()), ctx, text)) {
        out[k.Scalar()] = text;
        marks[k.Scalar()] = k.Mark();
      }
    }
  }

  void one_rule(const YAML::Node& r, const context& ctx, rule_group& group) {
    if (!r.IsMap()) {
      add(r.Mark(), "a rule must be a mapping", ctx);
      return;
    }
    const std::size_t errors_before = result_.errors.size();
    rule out;
    out.file = file_;
    out.line = r.Mark().line + 1;
    const auto e =
        entries(r, {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}, "rule", ctx);
    const YAML::Node *record_key = nullptr, *alert_key = nullptr, *expr_key = nullptr, *key = nullptr;
    const YAML::Node* record = find(e, "record", &record_key);
    const YAML::Node* alert = find(e, "alert", &alert_key);
    std::string record_name, alert_name;
    if (record) scalar(*record, record_key, "record", ctx, record_name);
    if (alert) scalar(*alert, alert_key, "alert", ctx, alert_name);
    if (!record_name.empty() && !alert_name.empty()) {
      add(r.Mark(), "only one of 'record' and 'alert' must be set", ctx);
    } else if (record_name.empty() && alert_name.empty()) {
      add(r.Mark(), "one of 'record' or 'alert' must be set", ctx);
    }
    out.type = record_name.empty() ? rule::kind::alerting : rule::kind::recording;
    out.name = record_name.empty() ? alert_name : record_name;
    if (out.type == rule::kind::recording && !is_valid_metric_name(record_name))
      add(mark_of(*record, record_key), "invalid recording rule name: " + quoted(record_name), ctx);

    const YAML::Node* expr = find(e, "expr", &expr_key);
    if (expr) scalar(*expr, expr_key, "expr", ctx, out.expr_text);
    if (out.expr_text.empty()) {
      add(expr ? mark_of(*expr, expr_key) : r.Mark(), "field 'expr' must be set in rule", ctx);
    } else {
      parse_expr(out, *expr, expr_key, ctx);
    }

    for (const char* field : {"for", "keep_firing_for"}) {
      const YAML::Node* v = find(e, field, &key);
      if (!v) continue;
      if (out.type == rule::kind::recording) {
        add(key->Mark(), std::string("invalid field '") + field + "' in recording rule", ctx);
        continue;
      }
      std::string text;
      std::int64_t& target = std::string(field) == "for" ? out.for_ms : out.keep_firing_for_ms;
      if (scalar(*v, key, field, ctx, text) && !text.empty() && !parse_prometheus_duration(text, target))
        add(mark_of(*v, key), std::string(field) + ": not a valid duration string: " + quoted(text), ctx);
    }

    std::map<std::string, YAML::Mark> label_marks, annotation_marks;
    if (const YAML::Node* v = find(e, "labels", &key)) string_map(*v, key, "label", ctx, out.labels, label_marks);
    if (const YAML::Node* v = find(e, "annotations", &key)) {
      if (out.type == rule::kind::recording)
        add(key->Mark(), "invalid field 'annotations' in recording rule", ctx);
      else
        string_map(*v, key, "annotation", ctx, out.annotations, annotation_marks);
    }
    for (const auto& [name, text] : out.labels) {
      if (!is_valid_label_name(name) || name == tsdb::metric_name_label)
        add(label_marks[name], "invalid label name: " + quoted(name), ctx);
      else if (out.type == rule::kind::alerting)
        check(label_marks[name], "label " + quoted(name), text, out.name, ctx);
    }
    for (const auto& [name, text] : out.annotations) {
      if (!is_valid_label_name(name))
        add(annotation_marks[name], "invalid annotation name: " + quoted(name), ctx);
      else
        check(annotation_marks[name], "annotation " + quoted(name), text, out.name, ctx);
    }
    if (result_.errors.size() == errors_before) group.rules.push_back(std::move(out));
  }

  void check(const YAML::Mark& mark, const std::string& what, const std::string& text, const std::string& alert,
             const context& ctx) {
    const std::string err = check_template(text);
    if (!err.empty()) add(mark, what + ": template: __alert_" + alert + ":" + err, ctx);
  }

  void parse_expr(rule& out, const YAML::Node& node, const YAML::Node* key, const context& ctx) {
    YAML::Mark mark = mark_of(node, key);
    try {
      std::shared_ptr<const promql::expr> e = promql::parse(out.expr_text);
      if (e->type != promql::value_type::vector && e->type != promql::value_type::scalar) {
        add(mark, std::string(out.type == rule::kind::recording ? "recording" : "alerting") +
                      " rule expression must be of type vector or scalar, got " + promql::to_string(e->type),
            ctx);
        return;
      }
      out.expr = std::move(e);
    } catch (const promql::error& err) {
      // Point at the offending character when the expression is a plain one-line scalar
      // (yaml-cpp tags those "?"; quoted and block scalars shift positions).
      if (err.position() >= 0 && node.Tag() == "?" && out.expr_text.find('\n') == std::string::npos)
        mark.column += err.position();
      add(mark, std::string(err.kind() == promql::error_kind::unsupported ? "unsupported expression: "
                                                                            : "could not parse expression: ") +
                    err.what(),
          ctx);
    }
  }

  std::string file_;
  load_result result_;
  std::size_t visited_ = 0;
};

}  // namespace

bool is_valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool is_valid_label_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool parse_prometheus_duration(std::string_view text, std::int64_t& ms) {
  if (text == "0") {
    ms = 0;
    return true;
  }
  static const std::pair<std::string_view, std::int64_t> units[] = {
      {"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000}, {"d", 24LL * 3600 * 1000},
      {"h", 3600LL * 1000},            {"m", 60LL * 1000},            {"s", 1000},
      {"ms", 1}};
  if (text.empty()) return false;
  std::int64_t total = 0;
  std::size_t next_unit = 0, i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > (std::numeric_limits<std::int64_t>::max() - 9) / 10) return false;
      n = n * 10 + (text[i++] - '0');
    }
    if (i == start) return false;
    std::size_t u = i;
    while (u < text.size() && text[u] >= 'a' && text[u] <= 'z') ++u;
    const std::string_view unit = text.substr(i, u - i);
    std::size_t k = next_unit;
    while (k < std::size(units) && units[k].first != unit) ++k;
    if (k == std::size(units)) return false;
    if (n > std::numeric_limits<std::int64_t>::max() / units[k].second) return false;
    if (total > std::numeric_limits<std::int64_t>::max() - n * units[k].second) return false;
    total += n * units[k].second;
    next_unit = k + 1;
    i = u;
  }
  ms = total;
  return true;
}

std::string format_prometheus_duration(std::int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  static const std::pair<const char*, std::int64_t> units[] = {
      {"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000}, {"d", 24LL * 3600 * 1000},
      {"h", 3600LL * 1000},            {"m", 60LL * 1000},            {"s", 1000},
      {"ms", 1}};
  for (const auto& [name, size] : units) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

load_result load_rule_text(const std::string& text, const std::string& name) {
  try {
    return reader(name).run(text);
  } catch (const std::exception& e) {
    load_result r;
    r.errors.push_back(name + ": internal error: " + e.what());
    return r;
  }
}

load_result load_rule_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    load_result r;
    r.errors.push_back(path + ": cannot open file");
    return r;
  }
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_rule_file_bytes) break;
  }
  if (in.bad()) {
    load_result r;
    r.errors.push_back(path + ": cannot read file");
    return r;
  }
  return load_rule_text(text, path);
}

load_result load_rule_globs(const std::vector<std::string>& patterns, const std::string& base_dir) {
  load_result out;
  std::vector<std::string> files;
  std::set<std::string> seen;
  for (const std::string& pattern : patterns) {
    const std::string full = pattern.empty() || pattern[0] == '/' || base_dir.empty() ? pattern : base_dir + "/" + pattern;
    glob_t g{};
    const int rc = ::glob(full.c_str(), GLOB_ERR, nullptr, &g);
    if (rc == 0) {
      for (std::size_t i = 0; i < g.gl_pathc; ++i)
        if (seen.insert(g.gl_pathv[i]).second) files.emplace_back(g.gl_pathv[i]);
    } else if (rc != GLOB_NOMATCH) {
      out.errors.push_back(full + ": cannot expand rule file pattern");
    }
    globfree(&g);
  }
  for (const std::string& f : files) {
    load_result r = load_rule_file(f);
    for (auto& g : r.groups) out.groups.push_back(std::move(g));
    for (auto& e : r.errors) out.errors.push_back(std::move(e));
  }
  return out;
}

}  // namespace wk::rules
