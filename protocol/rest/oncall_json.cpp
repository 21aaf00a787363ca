#include "protocol/rest/oncall_json.hpp"

#include <algorithm>
#include <limits>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "oncall/schedule.hpp"
#include "protocol/http/http_types.hpp"
#include "protocol/rest/incident_json.hpp"
#include "protocol/rest/json_string.hpp"

namespace wk::rest {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::int64_t day_ms = 86400000;
constexpr const char* time_hint =
    "at must be unix milliseconds or an RFC 3339 time such as 2026-01-05T09:00:00Z (got ";

}  // namespace

std::optional<oncall_query> parse_oncall_query(const std::map<std::string, std::string>& query,
                                               std::int64_t now_ms, std::string* detail) {
  oncall_query q;
  q.at_ms = now_ms;
  for (const auto& [key, value] : query) {
    if (key != "at" && key != "schedule" && key != "days") {
      *detail = "unknown query parameter " + quote_for_detail(key) + " (known: at, schedule, days)";
      return std::nullopt;
    }
    if (value.empty())
      continue;
    if (key == "at") {
      auto t = parse_time_ms(value);
      if (!t) {
        *detail = std::string(time_hint) + quote_for_detail(value) + ")";
        return std::nullopt;
      }
      q.at_ms = *t;
    } else if (key == "schedule") {
      q.schedule = value;
    } else {
      const bool digits =
          value.size() <= 2 && value.find_first_not_of("0123456789") == std::string::npos;
      const int days = digits ? std::stoi(value) : 0;
      if (days < 1 || days > max_oncall_days) {
        *detail = "days must be a whole number from 1 to " + std::to_string(max_oncall_days) +
                  " (got " + quote_for_detail(value) + ")";
        return std::nullopt;
      }
      q.days = days;
    }
  }
  return q;
}

std::string oncall_json(const oncall::oncall_config& cfg, const oncall_query& q) {
  std::map<std::string_view, std::string_view> names;
  for (const auto& u : cfg.users)
    names.emplace(u.id, u.name.empty() ? std::string_view(u.id) : std::string_view(u.name));
  auto name_of = [&](const std::string& id) {
    auto it = names.find(id);
    return it == names.end() ? std::string_view(id) : it->second;
  };
  // parse_oncall_query bounds both; a hand-built query must not overflow either.
  const std::int64_t span_ms = std::clamp(q.days, 0, max_oncall_days) * day_ms;
  const std::int64_t until_ms = q.at_ms > std::numeric_limits<std::int64_t>::max() - span_ms
                                    ? std::numeric_limits<std::int64_t>::max()
                                    : q.at_ms + span_ms;

  rapidjson::StringBuffer sb;
  writer w(sb);
  w.StartObject();
  w.Key("at_ms");
  w.Int64(q.at_ms);
  w.Key("schedules");
  w.StartArray();
  for (const auto& s : cfg.schedules) {
    if (!q.schedule.empty() && s.name != q.schedule)
      continue;
    w.StartObject();
    w.Key("name");
    write_string(w, s.name);
    w.Key("on_call");
    if (auto user = oncall::on_call(s, q.at_ms)) {
      w.StartObject();
      w.Key("id");
      write_string(w, *user);
      w.Key("name");
      write_string(w, name_of(*user));
      w.EndObject();
    } else {
      w.Null();
    }
    w.Key("shifts");
    w.StartArray();
    for (const auto& sh : oncall::shifts(s, q.at_ms, until_ms)) {
      w.StartObject();
      w.Key("user");
      write_string(w, sh.user);
      w.Key("name");
      write_string(w, name_of(sh.user));
      w.Key("start_ms");
      w.Int64(sh.start_ms);
      w.Key("end_ms");
      w.Int64(sh.end_ms);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace wk::rest
