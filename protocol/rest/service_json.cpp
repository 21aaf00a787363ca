#include "protocol/rest/service_json.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace wk::rest {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

void str(writer& w, const std::string& s) {
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
}

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
  str(w, s.name);
  key(w, "source");
  str(w, s.source);
  key(w, "state");
  str(w, s.state.empty() ? watch::overall_state(s) : s.state);
  key(w, "labels");
  w.StartObject();
  for (const auto& [k, v] : s.labels) {
    w.Key(k.c_str(), static_cast<rapidjson::SizeType>(k.size()));
    str(w, v);
  }
  w.EndObject();
  key(w, "depends_on");
  w.StartArray();
  for (const auto& d : s.depends_on)
    str(w, d);
  w.EndArray();
  key(w, "scrape");
  if (!s.scrape.configured) {
    w.Null();
  } else {
    const auto& sc = s.scrape;
    w.StartObject();
    key(w, "url");
    str(w, sc.url);
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
      str(w, sc.last_error);
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
    str(w, c.name);
    key(w, "type");
    str(w, c.type);
    key(w, "target");
    str(w, c.target);
    key(w, "state");
    w.String(watch::to_string(c.state));
    key(w, "reason");
    str(w, c.reason);
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

std::string services_json(const std::vector<watch::service_status>& all) {
  rapidjson::StringBuffer buf;
  writer w(buf);
  w.StartObject();
  w.Key("services");
  w.StartArray();
  for (const auto& s : all)
    write_service(w, s);
  w.EndArray();
  w.Key("total");
  w.Uint64(all.size());
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace wk::rest
