#include "protocol/rest/service_json.hpp"
#include "protocol/rest/json_string.hpp"

#include <algorithm>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace wk::rest {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

void key(writer& w, const char* k) {
  w.Key(k);
}

void time_or_null(writer& w, std::int64_t ms) {
  if (ms == 0)
    w.Null();
  else
    w.Int64(ms);
}

void write_service(writer& w, const watch::service_status& s) {
  w.StartObject();
  key(w, "name");
  write_string(w, s.name);
  key(w, "source");
  write_string(w, s.source);
  key(w, "state");
  write_string(w, s.state.empty() ? watch::overall_state(s) : s.state);
  key(w, "labels");
  w.StartObject();
  for (const auto& [k, v] : s.labels) {
    w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
    write_string(w, v);
  }
  w.EndObject();
  key(w, "depends_on");
  w.StartArray();
  for (const auto& d : s.depends_on)
    write_string(w, d);
  w.EndArray();
  key(w, "scrape");
  if (!s.scrape.configured) {
    w.Null();
  } else {
    const auto& sc = s.scrape;
    w.StartObject();
    key(w, "url");
    write_string(w, sc.url);
    key(w, "up");
    w.Bool(sc.up);
    key(w, "last_scrape_ms");
    time_or_null(w, sc.last_scrape_ms);
    key(w, "last_duration_seconds");
    w.Double(sc.last_duration_seconds);
    key(w, "last_error");
    if (sc.last_error.empty())
      w.Null();
    else
      write_string(w, sc.last_error);
    key(w, "samples_scraped");
    w.Uint64(sc.samples_scraped);
    key(w, "series");
    w.Uint64(sc.series);
    key(w, "scrapes");
    w.Uint64(sc.scrapes);
    key(w, "failures");
    w.Uint64(sc.failures);
    w.EndObject();
  }
  key(w, "checks");
  w.StartArray();
  for (const auto& c : s.checks) {
    w.StartObject();
    key(w, "name");
    write_string(w, c.name);
    key(w, "type");
    write_string(w, c.type);
    key(w, "target");
    write_string(w, c.target);
    key(w, "state");
    w.String(watch::to_string(c.state));
    key(w, "reason");
    write_string(w, c.reason);
    key(w, "latency_ms");
    w.Double(c.latency_ms);
    key(w, "since_ms");
    time_or_null(w, c.since_ms);
    key(w, "last_check_ms");
    time_or_null(w, c.last_check_ms);
    key(w, "tls_days_left");
    if (c.tls_days_left)
      w.Double(*c.tls_days_left);
    else
      w.Null();
    w.EndObject();
  }
  w.EndArray();
  key(w, "restarts");
  w.Int(s.restarts);
  w.EndObject();
}

}  // namespace

std::string service_json(const watch::service_status& s) {
  rapidjson::StringBuffer buf;
  writer w(buf);
  write_service(w, s);
  return std::string(buf.GetString(), buf.GetSize());
}

service_filter parse_service_filter(const std::map<std::string, std::string>& query) {
  service_filter f;
  static const char* known[] = {"state", "source", "label", "limit", "offset"};
  for (const auto& [key, value] : query) {
    bool ok = false;
    for (const char* k : known)
      ok = ok || key == k;
    if (!ok) {
      f.error = "unknown query parameter \"" + key + "\" (known: state, source, label, limit, offset)";
      return f;
    }
  }
  auto number = [&](const char* key, std::size_t& out, std::size_t max) {
    auto it = query.find(key);
    if (it == query.end())
      return true;
    const auto& text = it->second;
    if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos
        || std::stoul(text) > max) {
      f.error = std::string(key) + " must be a whole number from 0 to " + std::to_string(max);
      return false;
    }
    out = std::stoul(text);
    return true;
  };
  if (!number("limit", f.limit, 10000) || !number("offset", f.offset, 100000000))
    return f;
  if (auto it = query.find("state"); it != query.end()) {
    f.state = it->second;
    if (f.state != "up" && f.state != "down" && f.state != "degraded" && f.state != "unknown")
      f.error = "state must be up, down, degraded or unknown";
  }
  if (auto it = query.find("source"); it != query.end()) {
    f.source = it->second;
    if (f.source != "config" && f.source != "api")
      f.error = "source must be config or api";
  }
  if (auto it = query.find("label"); it != query.end()) {
    auto colon = it->second.find(':');
    if (colon == std::string::npos || colon == 0)
      f.error = "label must be name:value";
    else {
      f.label_name = it->second.substr(0, colon);
      f.label_value = it->second.substr(colon + 1);
    }
  }
  return f;
}

std::string services_json(const std::vector<watch::service_status>& all,
                          const service_filter& filter) {
  std::vector<const watch::service_status*> matching;
  for (const auto& s : all) {
    auto state = s.state.empty() ? watch::overall_state(s) : s.state;
    if (!filter.state.empty() && state != filter.state)
      continue;
    if (!filter.source.empty() && s.source != filter.source)
      continue;
    if (!filter.label_name.empty()) {
      auto it = s.labels.find(filter.label_name);
      if (it == s.labels.end() || it->second != filter.label_value)
        continue;
    }
    matching.push_back(&s);
  }
  std::sort(matching.begin(), matching.end(),
            [](const auto* a, const auto* b) { return a->name < b->name; });
  rapidjson::StringBuffer buf;
  writer w(buf);
  w.StartObject();
  w.Key("services");
  w.StartArray();
  for (std::size_t i = filter.offset; i < matching.size() && i < filter.offset + filter.limit; ++i)
    write_service(w, *matching[i]);
  w.EndArray();
  w.Key("total");
  w.Uint64(matching.size());
  w.Key("limit");
  w.Uint64(filter.limit);
  w.Key("offset");
  w.Uint64(filter.offset);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace wk::rest
