#include "protocol/rest/silence_json.hpp"

#include <algorithm>
#include <set>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "notify/text.hpp"
#include "oncall/config.hpp"
#include "silences/maintenance.hpp"
#include "silences/match.hpp"
#include "protocol/rest/json_string.hpp"

namespace wk::rest {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Echoed user input and matcher messages are cut so a hostile body cannot make a huge detail.
constexpr std::size_t max_detail_chars = 500;
constexpr std::size_t max_echo_chars = 80;

std::string echo(std::string_view s) {
  return notify::go_quote(notify::clip_utf8(s, max_echo_chars));
}

void int_or_null(writer& w, const std::optional<std::int64_t>& v) {
  if (v)
    w.Int64(*v);
  else
    w.Null();
}

void matcher_list(writer& w, const std::vector<notify::matcher>& ms) {
  w.StartArray();
  for (const auto& m : ms)
    write_string(w, m.str());
  w.EndArray();
}

// A time field: unix ms integer or RFC 3339 string, within years 0000-9999.
std::optional<std::int64_t> parse_time(const rapidjson::Value& v, const std::string& name,
                                       std::string& why) {
  std::optional<std::int64_t> t;
  if (v.IsInt64()) {
    t = v.GetInt64();
  } else if (v.IsString()) {
    std::string_view text(v.GetString(), v.GetStringLength());
    t = oncall::parse_rfc3339_ms(text);
    if (!t) {
      why = name + " is not an RFC 3339 time (e.g. 2026-01-05T09:00:00Z): " + echo(text);
      return std::nullopt;
    }
  } else {
    why = name + " must be an integer of unix milliseconds or an RFC 3339 string";
    return std::nullopt;
  }
  if (*t < silences::min_time_ms || *t >= silences::max_time_ms) {
    why = name + " is outside years 0000-9999";
    return std::nullopt;
  }
  return t;
}

std::optional<silence_request> parse_request(std::string_view body, std::int64_t now_ms,
                                             std::string& why) {
  if (body.size() > max_silence_body_bytes) {
    why = "body is larger than " + std::to_string(max_silence_body_bytes) + " bytes";
    return std::nullopt;
  }
  rapidjson::Document doc;
  // Iterative: a deeply nested body cannot exhaust the stack. Encoding checked so every string
  // that reaches a matcher or a comment is valid UTF-8.
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
      body.data(), body.size());
  if (doc.HasParseError()) {
    why = "body is not valid JSON at offset " + std::to_string(doc.GetErrorOffset()) + ": " +
          rapidjson::GetParseError_En(doc.GetParseError());
    return std::nullopt;
  }
  if (!doc.IsObject()) {
    why = "body must be a JSON object";
    return std::nullopt;
  }
  silence_request req;
  req.starts_at_ms = now_ms;
  bool has_matchers = false, has_end = false;
  std::set<std::string> seen;
  for (const auto& member : doc.GetObject()) {
    std::string name(member.name.GetString(), member.name.GetStringLength());
    const rapidjson::Value& v = member.value;
    if (name != "matchers" && name != "starts_at" && name != "ends_at" && name != "comment") {
      why = "unknown field " + echo(name) + " (expected matchers, starts_at, ends_at, comment)";
      return std::nullopt;
    }
    if (!seen.insert(name).second) {
      why = "duplicate field \"" + name + "\"";
      return std::nullopt;
    }
    if (name == "matchers") {
      has_matchers = true;
      if (!v.IsArray()) {
        why = "matchers must be an array of strings";
        return std::nullopt;
      }
      if (v.Size() > max_silence_matchers) {
        why = "matchers: at most " + std::to_string(max_silence_matchers) + " matchers (got " +
              std::to_string(v.Size()) + ")";
        return std::nullopt;
      }
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
        std::string at = "matchers[" + std::to_string(i) + "]";
        if (!v[i].IsString()) {
          why = at + " must be a string like service=\"db\"";
          return std::nullopt;
        }
        std::string_view raw(v[i].GetString(), v[i].GetStringLength());
        if (auto error = notify::parse_matchers(raw, req.matchers)) {
          why = at + ": " + *error;
          return std::nullopt;
        }
        if (req.matchers.size() > max_silence_matchers) {
          why = "matchers: at most " + std::to_string(max_silence_matchers) +
                " matchers, braced lists included";
          return std::nullopt;
        }
      }
    } else if (name == "starts_at" || name == "ends_at") {
      if (name == "starts_at" && v.IsNull())
        continue;
      auto t = parse_time(v, name, why);
      if (!t)
        return std::nullopt;
      (name == "starts_at" ? req.starts_at_ms : req.ends_at_ms) = *t;
      has_end = has_end || name == "ends_at";
    } else if (!v.IsNull()) {
      if (!v.IsString()) {
        why = "comment must be a string";
        return std::nullopt;
      }
      std::string_view text(v.GetString(), v.GetStringLength());
      if (notify::utf8_length(text) > max_silence_comment_chars) {
        why = "comment is longer than " + std::to_string(max_silence_comment_chars) +
              " characters";
        return std::nullopt;
      }
      req.comment = std::string(text);
    }
  }
  if (!has_matchers) {
    why = "matchers is required";
    return std::nullopt;
  }
  if (req.matchers.empty()) {
    why = "matchers must contain at least one matcher";
    return std::nullopt;
  }
  if (!has_end) {
    why = "ends_at is required";
    return std::nullopt;
  }
  if (req.ends_at_ms <= req.starts_at_ms) {
    why = "ends_at must be after starts_at";
    return std::nullopt;
  }
  if (req.ends_at_ms <= now_ms) {
    why = "ends_at is in the past";
    return std::nullopt;
  }
  if (std::all_of(req.matchers.begin(), req.matchers.end(),
                  [](const notify::matcher& m) { return m.matches(""); })) {
    why = "every matcher matches an empty label, so the silence would mute every alert; add a "
          "matcher that needs a value, e.g. service=\"db\"";
    return std::nullopt;
  }
  return req;
}

void write_silence(writer& w, const silences::silence& s, std::int64_t now_ms) {
  w.StartObject();
  w.Key("id");
  write_string(w, s.id);
  w.Key("matchers");
  matcher_list(w, s.matchers);
  w.Key("starts_at_ms");
  w.Int64(s.starts_at_ms);
  w.Key("ends_at_ms");
  w.Int64(s.ends_at_ms);
  w.Key("created_by");
  write_string(w, s.created_by);
  w.Key("created_at_ms");
  w.Int64(s.created_at_ms);
  w.Key("comment");
  write_string(w, s.comment);
  w.Key("source");
  write_string(w, s.source);
  bool active = silences::active(s, now_ms);
  w.Key("state");
  w.String(active ? "active" : now_ms < s.starts_at_ms ? "pending" : "expired");
  w.Key("active");
  w.Bool(active);
  w.EndObject();
}

}  // namespace

std::optional<silence_request> parse_silence_request(std::string_view body, std::int64_t now_ms,
                                                     std::string* detail) {
  std::string why;
  auto req = parse_request(body, now_ms, why);
  if (!req && detail)
    *detail = notify::clip_utf8(why, max_detail_chars);
  return req;
}

std::string silence_json(const silences::silence& s, std::int64_t now_ms) {
  rapidjson::StringBuffer buffer;
  writer w(buffer);
  write_silence(w, s, now_ms);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string silences_json(const std::vector<silences::silence>& v, std::int64_t now_ms) {
  rapidjson::StringBuffer buffer;
  writer w(buffer);
  w.StartObject();
  w.Key("silences");
  w.StartArray();
  for (const auto& s : v)
    write_silence(w, s, now_ms);
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string maintenance_json(const std::vector<silences::maintenance_window>& v,
                             std::int64_t now_ms) {
  rapidjson::StringBuffer buffer;
  writer w(buffer);
  w.StartObject();
  w.Key("maintenance_windows");
  w.StartArray();
  for (const auto& m : v) {
    auto current = silences::current_occurrence(m, now_ms);
    auto next = silences::next_occurrence(m, now_ms);
    w.StartObject();
    w.Key("name");
    write_string(w, m.name);
    w.Key("matchers");
    matcher_list(w, m.matchers);
    w.Key("repeat");
    write_string(w, silences::recurrence_name(m.repeat));
    w.Key("start_ms");
    w.Int64(m.start_ms);
    w.Key("duration_ms");
    w.Int64(m.duration_ms);
    w.Key("time_zone");
    write_string(w, m.time_zone);
    w.Key("until_ms");
    int_or_null(w, m.until_ms == 0 ? std::nullopt : std::optional<std::int64_t>(m.until_ms));
    w.Key("comment");
    write_string(w, m.comment);
    w.Key("active");
    w.Bool(current.has_value());
    w.Key("current_end_ms");
    int_or_null(w, current ? std::optional<std::int64_t>(current->end_ms) : std::nullopt);
    w.Key("next_start_ms");
    int_or_null(w, next ? std::optional<std::int64_t>(next->start_ms) : std::nullopt);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace wk::rest
