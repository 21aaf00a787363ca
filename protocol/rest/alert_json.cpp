#include "protocol/rest/alert_json.hpp"
#include "protocol/rest/json_string.hpp"

#include <cmath>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace wk::rest {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

void key(writer& w, const char* k) { w.Key(k); }

void string_map(writer& w, const std::map<std::string, std::string>& m) {
  w.StartObject();
  for (const auto& [k, v] : m) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    write_string(w, v);
  }
  w.EndObject();
}

void write_alert(writer& w, const alert_entry& a) {
  w.StartObject();
  key(w, "alertname");
  write_string(w, a.alertname);
  key(w, "service");
  write_string(w, a.service);
  key(w, "state");
  write_string(w, a.state);
  key(w, "group");
  write_string(w, a.rule_group);
  key(w, "labels");
  string_map(w, a.labels);
  key(w, "annotations");
  string_map(w, a.annotations);
  key(w, "value");
  // JSON has no NaN or infinities; Prometheus's API writes values as strings for that reason.
  if (std::isfinite(a.value))
    w.Double(a.value);
  else
    w.Null();
  key(w, "active_at_ms");
  w.Int64(a.active_at_ms);
  key(w, "fired_at_ms");
  w.Int64(a.fired_at_ms);
  key(w, "resolved_at_ms");
  w.Int64(a.resolved_at_ms);
  key(w, "fingerprint");
  write_string(w, a.fingerprint);
  w.EndObject();
}

}  // namespace

alert_filter parse_alert_filter(const std::map<std::string, std::string>& query) {
  alert_filter f;
  for (const auto& [k, v] : query) {
    if (k == "state") {
      if (v != "pending" && v != "firing" && v != "resolved") {
        f.error = "state must be pending, firing or resolved";
        return f;
      }
      f.state = v;
    } else if (k == "service") {
      f.service = v;
    } else if (k == "alertname") {
      f.alertname = v;
    } else if (k == "limit") {
      if (v.empty() || v.size() > 5 || v.find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(v) == 0 || std::stoul(v) > 10000) {
        f.error = "limit must be a whole number from 1 to 10000";
        return f;
      }
      f.limit = std::stoul(v);
    } else {
      f.error = "unknown query parameter \"" + k + "\" (known: state, service, alertname, limit)";
      return f;
    }
  }
  return f;
}

std::string alert_json(const alert_entry& a) {
  rapidjson::StringBuffer sb;
  writer w(sb);
  write_alert(w, a);
  return sb.GetString();
}

std::string alerts_json(const std::vector<alert_entry>& all, const alert_filter& filter) {
  rapidjson::StringBuffer sb;
  writer w(sb);
  w.StartObject();
  key(w, "alerts");
  w.StartArray();
  std::size_t total = 0;
  for (const auto& a : all) {
    if (!filter.state.empty() ? a.state != filter.state : a.state == "resolved") continue;
    if (!filter.service.empty() && a.service != filter.service) continue;
    if (!filter.alertname.empty() && a.alertname != filter.alertname) continue;
    if (total++ < filter.limit) write_alert(w, a);
  }
  w.EndArray();
  key(w, "total");
  w.Uint64(total);
  w.EndObject();
  return sb.GetString();
}

}  // namespace wk::rest
