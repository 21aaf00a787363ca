#include "watch/probe_recorder.hpp"

namespace wk::watch {

probe_recorder::probe_recorder(std::string service, std::string check,
                               const std::map<std::string, std::string>& service_labels) {
  for (const auto& [name, value] : service_labels) base_.push_back({name, value});
  base_.push_back({"service", std::move(service)});
  base_.push_back({"check", std::move(check)});
}

probe_recorder::series& probe_recorder::named(const char* name) {
  auto it = series_.find(name);
  if (it == series_.end()) {
    auto labels = base_;
    labels.push_back({std::string(tsdb::metric_name_label), name});
    it = series_.emplace(name, series{tsdb::label_set(std::move(labels)), std::nullopt}).first;
  }
  return it->second;
}

bool probe_recorder::append(tsdb::head& head, series& s, std::int64_t t_ms, double v) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!s.ref) s.ref = head.get_or_create(s.labels);
    const auto status = head.append(*s.ref, t_ms, v);
    if (status == tsdb::append_status::unknown_series) {
      s.ref.reset();
      continue;
    }
    return status == tsdb::append_status::ok || status == tsdb::append_status::duplicate;
  }
  return false;
}

std::size_t probe_recorder::record(tsdb::head& head, std::int64_t t_ms, const probe_result& r) {
  std::size_t refused = 0;
  auto put = [&](const char* name, double v) {
    if (!append(head, named(name), t_ms, v)) ++refused;
  };
  put("probe_success", r.ok ? 1.0 : 0.0);
  put("probe_duration_seconds", r.latency_seconds);
  if (r.http_status) put("probe_http_status_code", *r.http_status);
  if (r.tls_days_left) put("probe_tls_days_left", *r.tls_days_left);
  return refused;
}

}  // namespace wk::watch
