#include "silences/config.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <map>
#include <optional>

#include <yaml-cpp/yaml.h>

#include "notify/route_tree.hpp"
#include "oncall/config.hpp"
#include "oncall/time_zone.hpp"
#include "oncall/yaml_reader.hpp"
#include "silences/maintenance.hpp"
#include "silences/match.hpp"

namespace wk::silences {
namespace {


// "YYYY-MM-DDTHH:MM[:SS]" as seconds of local wall-clock time since 1970-01-01T00:00.
std::optional<std::int64_t> parse_local_time(std::string_view s) {
  if (s.size() != 16 && s.size() != 19)
    return std::nullopt;
  auto digits = [&](std::size_t pos, std::size_t n) -> std::optional<int> {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i])))
        return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
      (s.size() == 19 && s[16] != ':'))
    return std::nullopt;
  auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  auto hour = digits(11, 2), minute = digits(14, 2);
  auto second = s.size() == 19 ? digits(17, 2) : std::optional<int>(0);
  if (!year || !month || !day || !hour || !minute || !second || *month < 1 || *month > 12 ||
      *day < 1 || *hour > 23 || *minute > 59 || *second > 59)
    return std::nullopt;
  static constexpr int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
  if (*day > month_days[*month - 1] || (*month == 2 && *day == 29 && !leap))
    return std::nullopt;
  return oncall::days_from_civil(*year, static_cast<unsigned>(*month),
                                 static_cast<unsigned>(*day)) * 86400 +
         *hour * 3600 + *minute * 60 + *second;
}

class parser : public oncall::yaml_reader {
 public:
  using yaml_reader::yaml_reader;

  // Appends the matchers of a `matchers:` list; false after reporting a problem.
  bool matchers(const YAML::Node& node, const std::string& path,
                std::vector<notify::matcher>& out) {
    std::size_t before = error_count();
    each_item(node, path, [&](const YAML::Node& item, const std::string& at, std::size_t) {
      auto s = text(item, at, false);
      if (!s)
        return;
      if (auto why = notify::parse_matchers(*s, out))
        error(item, at, *why);
    });
    return error_count() == before;
  }

  std::optional<silence> parse_silence(const YAML::Node& node, const std::string& path,
                                       std::size_t index) {
    std::size_t before = error_count();
    silence s;
    s.id = "cfg-" + std::to_string(index);
    s.source = "config";
    s.created_by = "config";
    bool has_matchers = false, has_start = false, has_end = false;
    std::optional<YAML::Node> end_node;  // emplaced: assigning a Node rebinds the document
    if (!each_key(node, path, {"matchers", "starts_at", "ends_at", "created_by", "comment"},
                  [&](const std::string& key, const YAML::Node& v, const std::string& at) {
                    if (key == "matchers") {
                      has_matchers = true;
                      if (matchers(v, at, s.matchers) && s.matchers.empty())
                        error(v, at, "a silence needs at least one matcher");
                    } else if (key == "starts_at") {
                      has_start = true;
                      if (auto t = rfc3339(v, at))
                        s.starts_at_ms = *t;
                    } else if (key == "ends_at") {
                      has_end = true;
                      end_node.emplace(v);
                      if (auto t = rfc3339(v, at))
                        s.ends_at_ms = *t;
                    } else if (auto t = text(v, at, true)) {
                      (key == "created_by" ? s.created_by : s.comment) = *t;
                    }
                  }))
      return std::nullopt;
    if (!has_matchers)
      error(node, path + ".matchers", "missing");
    if (!has_start)
      error(node, path + ".starts_at", "missing");
    if (!has_end)
      error(node, path + ".ends_at", "missing");
    if (error_count() != before)
      return std::nullopt;
    if (s.ends_at_ms <= s.starts_at_ms)
      error(*end_node, path + ".ends_at", "must be after starts_at");
    if (std::all_of(s.matchers.begin(), s.matchers.end(),
                    [](const notify::matcher& m) { return m.matches(""); }))
      error(node["matchers"], path + ".matchers",
            "every matcher matches an empty label, so the silence would mute every alert");
    if (error_count() != before)
      return std::nullopt;
    s.created_at_ms = s.starts_at_ms;
    return s;
  }

  // start or until: RFC 3339, or local wall-clock time in tz (nullptr: zone invalid, already
  // reported, so the local form is not checked).
  std::optional<std::int64_t> window_time(const YAML::Node& node, const std::string& path,
                                          const std::string& text_value,
                                          const oncall::time_zone* tz,
                                          const std::string& zone_name) {
    std::optional<std::int64_t> ms = oncall::parse_rfc3339_ms(text_value);
    if (!ms) {
      auto local = parse_local_time(text_value);
      if (!local) {
        error(node, path,
              "invalid time \"" + text_value +
                  "\" (RFC 3339 with offset, or YYYY-MM-DDTHH:MM[:SS] local in time_zone)");
        return std::nullopt;
      }
      if (!tz)
        return std::nullopt;
      std::int64_t utc = tz->to_utc(*local);
      if (tz->to_local(utc) != *local) {
        error(node, path,
              "local time \"" + text_value + "\" does not exist in " + zone_name +
                  " (skipped by a daylight saving change)");
        return std::nullopt;
      }
      ms = utc * 1000;
    }
    if (*ms < min_time_ms || *ms >= max_time_ms) {
      error(node, path, "time \"" + text_value + "\" is outside years 0000-9999");
      return std::nullopt;
    }
    return ms;
  }

  std::optional<maintenance_window> parse_window(const YAML::Node& node, const std::string& path) {
    std::size_t before = error_count();
    maintenance_window w;
    std::optional<std::string> start_text, until_text;
    // Emplaced, not assigned: assigning to a bound YAML::Node rewrites the node it refers to.
    std::optional<YAML::Node> start_node, until_node, duration_node, zone_node;
    std::optional<std::int64_t> duration;
    std::string zone_name = "UTC";
    if (!each_key(
            node, path,
            {"name", "matchers", "start", "duration", "repeat", "time_zone", "until", "comment"},
            [&](const std::string& key, const YAML::Node& v, const std::string& at) {
              if (key == "name") {
                if (auto s = text(v, at, false))
                  w.name = *s;
              } else if (key == "matchers") {
                if (!v.IsNull())
                  matchers(v, at, w.matchers);
              } else if (key == "start") {
                start_node.emplace(v);
                start_text = text(v, at, false);
              } else if (key == "until") {
                until_node.emplace(v);
                until_text = text(v, at, true);
              } else if (key == "duration") {
                duration_node.emplace(v);
                if (auto s = text(v, at, false)) {
                  duration = notify::parse_duration_ms(*s);
                  if (!duration)
                    error(v, at, "invalid duration \"" + *s + "\" (e.g. 30m, 2h, 1d; at most 10 years)");
                  else if (*duration <= 0)
                    error(v, at, "must be greater than 0");
                }
              } else if (key == "repeat") {
                if (auto s = text(v, at, false)) {
                  if (auto r = parse_recurrence(*s))
                    w.repeat = *r;
                  else
                    error(v, at, "must be none, daily, weekly or monthly");
                }
              } else if (key == "time_zone") {
                zone_node.emplace(v);
                if (auto s = text(v, at, false))
                  zone_name = *s;
                else
                  zone_name.clear();
              } else if (auto s = text(v, at, true)) {
                w.comment = *s;
              }
            }))
      return std::nullopt;
    std::shared_ptr<const oncall::time_zone> tz;
    if (!zone_name.empty()) {
      std::string why;
      tz = oncall::time_zone::get(zone_name, &why);
      if (!tz)
        error(zone_node ? *zone_node : node, path + ".time_zone", why);
      w.time_zone = zone_name;
    }
    if (!node["name"])
      error(node, path + ".name", "missing");
    std::optional<std::int64_t> start;
    if (!start_node)
      error(node, path + ".start", "missing");
    else if (start_text)
      start = window_time(*start_node, path + ".start", *start_text, tz.get(), zone_name);
    if (start)
      w.start_ms = *start;
    if (until_text && !until_text->empty()) {
      if (auto t = window_time(*until_node, path + ".until", *until_text, tz.get(), zone_name)) {
        if (start && *t <= *start)
          error(*until_node, path + ".until", "must be after start");
        w.until_ms = *t;
      }
    }
    if (!duration_node) {
      error(node, path + ".duration", "missing");
    } else if (duration && *duration > 0) {
      w.duration_ms = *duration;
      std::int64_t period = repeat_period_ms(w.repeat);
      if (period > 0 && w.duration_ms >= period)
        error(*duration_node, path + ".duration",
              "must be shorter than the repeat period (" + std::to_string(period / 86400000) +
                  "d for " + std::string(recurrence_name(w.repeat)) + ")");
    }
    if (error_count() != before)
      return std::nullopt;
    return w;
  }
};

}  // namespace

silence_config parse_silence_config(const YAML::Node& root, std::vector<std::string>& errors,
                                    std::string_view file) {
  silence_config cfg;
  parser p(errors, file);
  if (!root.IsMap()) {
    p.error(root, "(top level)", "must be a mapping");
    return cfg;
  }
  if (const YAML::Node list = root["silences"]; list && !list.IsNull())
    p.each_item(list, "silences", [&](const YAML::Node& n, const std::string& at, std::size_t i) {
      if (auto s = p.parse_silence(n, at, i))
        cfg.silences.push_back(std::move(*s));
    });
  if (const YAML::Node list = root["maintenance_windows"]; list && !list.IsNull()) {
    std::map<std::string, std::string> first_at;
    p.each_item(list, "maintenance_windows",
                [&](const YAML::Node& n, const std::string& at, std::size_t) {
                  auto w = p.parse_window(n, at);
                  std::string name = n.IsMap() && n["name"] && n["name"].IsScalar()
                                         ? n["name"].Scalar()
                                         : std::string();
                  if (!name.empty() && !first_at.emplace(name, at).second)
                    p.error(n["name"], at + ".name",
                            "duplicate \"" + name + "\" (first at " + first_at[name] + ")");
                  else if (w)
                    cfg.maintenance_windows.push_back(std::move(*w));
                });
  }
  return cfg;
}

}  // namespace wk::silences
