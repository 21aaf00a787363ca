#include "protocol/rest/samples_json.hpp"

#include <cmath>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace wk::rest {

std::string samples_event_json(const std::string& service, std::int64_t t_ms,
                               const std::vector<tsdb::series_data>& series,
                               std::size_t max_series) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("service");
  w.String(service.data(), static_cast<rapidjson::SizeType>(service.size()));
  w.Key("t_ms");
  w.Int64(t_ms);
  w.Key("series");
  w.StartArray();
  std::size_t n = 0;
  for (const auto& s : series) {
    if (s.samples.empty()) continue;
    if (n++ == max_series) break;
    w.StartObject();
    w.Key("labels");
    w.StartObject();
    for (const auto& l : s.labels.labels()) {
      w.Key(l.name.data(), static_cast<rapidjson::SizeType>(l.name.size()));
      w.String(l.value.data(), static_cast<rapidjson::SizeType>(l.value.size()));
    }
    w.EndObject();
    w.Key("value");
    const double v = s.samples.back().v;
    if (std::isfinite(v))
      w.Double(v);
    else
      w.Null();
    w.EndObject();
  }
  w.EndArray();
  w.Key("truncated");
  w.Bool(n > max_series);
  w.EndObject();
  return sb.GetString();
}

}  // namespace wk::rest
