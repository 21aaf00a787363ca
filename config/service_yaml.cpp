#include "config/service_yaml.hpp"

#include <chrono>

namespace wk::config {

namespace {

class json_writer {
 public:
  void open(char bracket) {
    separate();
    out_ += bracket;
    first_ = true;
  }
  void close(char bracket) {
    out_ += bracket;
    first_ = false;
  }
  void key(std::string_view name) {
    separate();
    string(name);
    out_ += ": ";
    first_ = true;  // the value follows without a separator
  }
  void value(std::string_view text) {
    separate();
    string(text);
  }
  void value(const char* text) { value(std::string_view(text)); }
  void value(bool flag) {
    separate();
    out_ += flag ? "true" : "false";
  }
  void value(std::uint64_t number) {
    separate();
    out_ += std::to_string(number);
  }
  void value(std::chrono::milliseconds duration) { value(format_duration(duration)); }

  template <class T>
  void member(std::string_view name, const T& v) {
    key(name);
    value(v);
  }

  std::string take() { return std::move(out_); }

 private:
  void separate() {
    if (!first_) out_ += ", ";
    first_ = false;
  }
  void string(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    out_ += '"';
    for (const char c : text) {
      const auto byte = static_cast<unsigned char>(c);
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (byte < 0x20 || byte == 0x7f) {
            out_ += "\\u00";
            out_ += hex[byte >> 4];
            out_ += hex[byte & 0xf];
          } else {
            out_ += c;
          }
      }
    }
    out_ += '"';
  }

  std::string out_;
  bool first_ = true;
};

void write_string_map(json_writer& json, std::string_view name,
                      const std::map<std::string, std::string>& entries) {
  if (entries.empty()) return;
  json.key(name);
  json.open('{');
  for (const auto& [key, value] : entries) json.member(key, value);
  json.close('}');
}

void write_check(json_writer& json, const health_check_spec& check) {
  json.open('{');
  json.member("name", check.name);
  json.member("type", to_string(check.type));
  if (check.type == health_check_spec::kind::http) {
    json.member("url", check.url);
    json.member("method", check.method);
    json.key("expected_status");
    json.open('[');
    for (const auto& range : check.expected_status) json.value(format_status_range(range));
    json.close(']');
    if (check.body_contains) json.member("body_contains", *check.body_contains);
    if (check.body_regex) json.member("body_regex", *check.body_regex);
    if (check.tls_min_days) {
      json.member("tls_min_days", static_cast<std::uint64_t>(*check.tls_min_days));
    }
    json.member("tls_verify", check.tls_verify);
    write_string_map(json, "headers", check.headers);
  } else {
    json.member("address", check.address.to_string());
  }
  if (check.max_latency) json.member("max_latency", *check.max_latency);
  json.member("interval", check.interval);
  json.member("timeout", check.timeout);
  json.member("failure_threshold", static_cast<std::uint64_t>(check.failure_threshold));
  json.member("success_threshold", static_cast<std::uint64_t>(check.success_threshold));
  json.close('}');
}

}  // namespace

std::string service_to_yaml(const service_spec& service) {
  json_writer json;
  json.open('{');
  json.member("name", service.name);
  write_string_map(json, "labels", service.labels);
  if (!service.depends_on.empty()) {
    json.key("depends_on");
    json.open('[');
    for (const auto& dependency : service.depends_on) json.value(dependency);
    json.close(']');
  }
  if (!service.rule_files.empty()) {
    json.key("rule_files");
    json.open('[');
    for (const auto& file : service.rule_files) json.value(file);
    json.close(']');
  }
  if (service.metrics) {
    const auto& metrics = *service.metrics;
    json.key("metrics");
    json.open('{');
    json.member("url", metrics.url);
    json.member("interval", metrics.interval);
    json.member("timeout", metrics.timeout);
    json.member("body_size_limit", format_size(metrics.body_size_limit));
    json.member("sample_limit", metrics.sample_limit);
    json.member("honor_labels", metrics.honor_labels);
    json.close('}');
  }
  if (!service.health.empty()) {
    json.key("health");
    json.open('[');
    for (const auto& check : service.health) write_check(json, check);
    json.close(']');
  }
  json.close('}');
  return json.take();
}

}  // namespace wk::config
