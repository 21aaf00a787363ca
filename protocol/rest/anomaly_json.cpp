#include "protocol/rest/anomaly_json.hpp"
#include "protocol/rest/json_string.hpp"

#include <cmath>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace wk::rest {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

void number(writer& w, double v) {
  if (std::isfinite(v))
    w.Double(v);
  else
    w.Null();
}

void write(writer& w, const anomaly_entry& a) {
  w.StartObject();
  w.Key("service");
  write_string(w, a.service);
  w.Key("metric");
  write_string(w, a.metric);
  w.Key("labels");
  w.StartObject();
  for (const auto& [k, v] : a.labels) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    write_string(w, v);
  }
  w.EndObject();
  w.Key("value");
  number(w, a.value);
  w.Key("score");
  number(w, a.score);
  w.Key("at_ms");
  w.Int64(a.at_ms);
  w.EndObject();
}

}  // namespace

std::string anomaly_json(const anomaly_entry& a) {
  rapidjson::StringBuffer sb;
  writer w(sb);
  write(w, a);
  return sb.GetString();
}

std::string anomalies_json(const std::vector<anomaly_entry>& all) {
  rapidjson::StringBuffer sb;
  writer w(sb);
  w.StartObject();
  w.Key("anomalies");
  w.StartArray();
  for (const auto& a : all) write(w, a);
  w.EndArray();
  w.EndObject();
  return sb.GetString();
}

}  // namespace wk::rest
