#include "oncall/config.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include <yaml-cpp/yaml.h>

#include "oncall/time_zone.hpp"
#include "oncall/yaml_reader.hpp"

namespace wk::oncall {
namespace {

class parser : public yaml_reader {
 public:
  using yaml_reader::yaml_reader;

  user parse_user(const YAML::Node& node, const std::string& path) {
    user u;
    each_key(
        node, path, {"id", "name", "contacts"},
        [&](const std::string& key, const YAML::Node& v, const std::string& at) {
          if (key == "id") {
            if (auto s = text(v, at))
              u.id = *s;
          } else if (key == "name") {
            if (auto s = text(v, at))
              u.name = *s;
          } else {
            each_item(v, at, [&](const YAML::Node& c, const std::string& c_at) {
              contact ct;
              each_key(
                  c, c_at, {"type", "address"},
                  [&](const std::string& k, const YAML::Node& cv, const std::string& cv_at) {
                    auto s = text(cv, cv_at);
                    if (!s)
                      return;
                    if (k == "type") {
                      if (*s != "email" && *s != "slack" && *s != "pagerduty" && *s != "webhook")
                        error(cv, cv_at, "must be email, slack, pagerduty or webhook");
                      ct.type = *s;
                    } else {
                      ct.address = *s;
                    }
                  });
              if (c.IsMap() && (ct.type.empty() || ct.address.empty()))
                error(c, c_at, "a contact needs type and address");
              u.contacts.push_back(std::move(ct));
            });
          }
        });
    if (node.IsMap() && u.id.empty())
      error(node, path + ".id", "missing");
    return u;
  }

  restriction parse_restriction(const YAML::Node& node, const std::string& path) {
    static constexpr std::string_view day_names[] = {"sun", "mon", "tue", "wed",
                                                     "thu", "fri", "sat"};
    restriction r;
    bool has_from = false, has_to = false;
    each_key(node, path, {"days", "from", "to"},
             [&](const std::string& key, const YAML::Node& v, const std::string& at) {
               if (key == "days") {
                 r.weekdays = 0;
                 each_item(v, at, [&](const YAML::Node& d, const std::string& d_at) {
                   auto s = text(d, d_at);
                   if (!s)
                     return;
                   std::string lower;
                   for (unsigned char c : s->substr(0, 3))
                     lower += static_cast<char>(std::tolower(c));
                   auto it = std::find(std::begin(day_names), std::end(day_names), lower);
                   if (it == std::end(day_names))
                     error(d, d_at, "unknown weekday \"" + *s + "\" (mon, tue, ... sun)");
                   else
                     r.weekdays |= 1u << (it - std::begin(day_names));
                 });
                 if (v.IsSequence() && v.size() == 0)
                   error(v, at, "must name at least one weekday");
               } else {
                 auto s = text(v, at);
                 if (!s)
                   return;
                 auto minute = parse_clock(*s, key == "to");
                 if (!minute) {
                   error(v, at, "invalid time of day \"" + *s + "\" (HH:MM)");
                   return;
                 }
                 (key == "from" ? r.from_minute : r.to_minute) = *minute % 1440;
                 (key == "from" ? has_from : has_to) = true;
               }
             });
    if (node.IsMap() && (!has_from || !has_to))
      error(node, path, "a restriction needs from and to");
    return r;
  }

  rotation_layer parse_layer(const YAML::Node& node, const std::string& path) {
    rotation_layer l;
    std::string rotation;
    std::optional<std::int64_t> turn;
    bool has_start = false;
    YAML::Node turn_node;
    bool has_turn = false;
    each_key(node, path,
             {"name", "users", "start", "rotation", "turn_length", "handoff_time", "time_zone",
              "restrictions"},
             [&](const std::string& key, const YAML::Node& v, const std::string& at) {
               if (key == "name") {
                 if (auto s = text(v, at))
                   l.name = *s;
               } else if (key == "users") {
                 each_item(v, at, [&](const YAML::Node& u, const std::string& u_at) {
                   if (auto s = text(u, u_at)) {
                     l.users.push_back(*s);
                     user_refs_.push_back({*s, u, u_at});
                   }
                 });
               } else if (key == "start") {
                 has_start = true;
                 if (auto t = rfc3339(v, at))
                   l.start_ms = *t;
               } else if (key == "rotation") {
                 if (auto s = text(v, at)) {
                   rotation = *s;
                   if (rotation != "daily" && rotation != "weekly" && rotation != "custom")
                     error(v, at, "must be daily, weekly or custom");
                 }
               } else if (key == "turn_length") {
                 turn = duration(v, at);
                 turn_node = v;
                 has_turn = true;
               } else if (key == "handoff_time") {
                 if (auto s = text(v, at)) {
                   if (!parse_clock(*s))
                     error(v, at, "invalid time of day \"" + *s + "\" (HH:MM)");
                   l.handoff_time = *s;
                 }
               } else if (key == "time_zone") {
                 if (auto s = text(v, at)) {
                   std::string why;
                   if (!time_zone::get(*s, &why))
                     error(v, at, why);
                   l.time_zone = *s;
                 }
               } else {
                 each_item(v, at, [&](const YAML::Node& r, const std::string& r_at) {
                   l.restrictions.push_back(parse_restriction(r, r_at));
                 });
               }
             });
    if (!node.IsMap())
      return l;
    if (l.users.empty())
      error(node, path + ".users", "a layer needs at least one user");
    if (!has_start)
      error(node, path + ".start", "missing");
    if (rotation == "daily")
      l.turn_length_ms = 86400000;
    else if (rotation == "weekly")
      l.turn_length_ms = 7 * 86400000LL;
    if (rotation == "custom" || (rotation.empty() && turn)) {
      if (!has_turn)
        error(node, path + ".turn_length", "missing (needed for a custom rotation)");
      else if (turn && *turn < 3600000)
        error(turn_node, path + ".turn_length", "must be at least 1h");
      else if (turn)
        l.turn_length_ms = *turn;
    } else if (rotation.empty()) {
      error(node, path + ".rotation", "missing (daily, weekly or custom)");
    } else if (has_turn) {
      error(turn_node, path + ".turn_length", "only for a custom rotation");
    }
    return l;
  }

  schedule parse_schedule(const YAML::Node& node, const std::string& path) {
    schedule s;
    each_key(node, path, {"name", "layers", "overrides"},
             [&](const std::string& key, const YAML::Node& v, const std::string& at) {
               if (key == "name") {
                 if (auto n = text(v, at))
                   s.name = *n;
               } else if (key == "layers") {
                 each_item(v, at, [&](const YAML::Node& l, const std::string& l_at) {
                   s.layers.push_back(parse_layer(l, l_at));
                 });
               } else {
                 each_item(v, at, [&](const YAML::Node& o, const std::string& o_at) {
                   override_entry e;
                   bool has_start = false, has_end = false;
                   each_key(
                       o, o_at, {"user", "start", "end"},
                       [&](const std::string& k, const YAML::Node& ov, const std::string& ov_at) {
                         if (k == "user") {
                           if (auto u = text(ov, ov_at)) {
                             e.user = *u;
                             user_refs_.push_back({*u, ov, ov_at});
                           }
                         } else if (auto t = rfc3339(ov, ov_at)) {
                           (k == "start" ? e.start_ms : e.end_ms) = *t;
                           (k == "start" ? has_start : has_end) = true;
                         }
                       });
                   if (!o.IsMap())
                     return;
                   if (e.user.empty() || !has_start || !has_end)
                     error(o, o_at, "an override needs user, start and end");
                   else if (e.end_ms <= e.start_ms)
                     error(o, o_at + ".end", "must be after start");
                   s.overrides.push_back(std::move(e));
                 });
               }
             });
    if (node.IsMap() && s.name.empty())
      error(node, path + ".name", "missing");
    if (node.IsMap() && s.layers.empty() && s.overrides.empty())
      error(node, path + ".layers", "a schedule needs at least one layer");
    return s;
  }

  escalation_policy parse_policy(const YAML::Node& node, const std::string& path) {
    escalation_policy p;
    each_key(
        node, path, {"name", "levels", "repeat"},
        [&](const std::string& key, const YAML::Node& v, const std::string& at) {
          if (key == "name") {
            if (auto s = text(v, at))
              p.name = *s;
          } else if (key == "repeat") {
            auto s = text(v, at);
            if (!s)
              return;
            if (s->size() > 3 ||
                !std::all_of(s->begin(), s->end(),
                             [](unsigned char c) { return std::isdigit(c); }) ||
                std::stoi(*s) > 100)
              error(v, at, "must be a whole number from 0 to 100");
            else
              p.repeat = std::stoi(*s);
          } else {
            each_item(v, at, [&](const YAML::Node& l, const std::string& l_at) {
              escalation_level level;
              bool has_delay = false;
              each_key(
                  l, l_at, {"delay", "targets"},
                  [&](const std::string& k, const YAML::Node& lv, const std::string& lv_at) {
                    if (k == "delay") {
                      has_delay = true;
                      if (auto d = duration(lv, lv_at))
                        level.delay_ms = *d;
                    } else {
                      each_item(lv, lv_at, [&](const YAML::Node& t, const std::string& t_at) {
                        if (!t.IsMap() || t.size() != 1) {
                          error(t, t_at,
                                "a target is one of {user: id}, {schedule: name}, {channel: name}");
                          return;
                        }
                        auto kv = *t.begin();
                        std::string kind = kv.first.Scalar();
                        auto id = text(kv.second, t_at + "." + kind);
                        if (!id)
                          return;
                        target tg;
                        tg.id = *id;
                        if (kind == "user") {
                          tg.type = target::kind::user;
                          user_refs_.push_back({*id, kv.second, t_at + ".user"});
                        } else if (kind == "schedule") {
                          tg.type = target::kind::schedule;
                          schedule_refs_.push_back({*id, kv.second, t_at + ".schedule"});
                        } else if (kind == "channel") {
                          tg.type = target::kind::channel;
                        } else {
                          error(kv.first, t_at + "." + kind,
                                "unknown target type (user, schedule or channel)");
                          return;
                        }
                        level.targets.push_back(std::move(tg));
                      });
                    }
                  });
              if (!l.IsMap())
                return;
              if (!has_delay)
                error(l, l_at + ".delay", "missing");
              if (level.targets.empty())
                error(l, l_at + ".targets", "a level needs at least one target");
              p.levels.push_back(std::move(level));
            });
          }
        });
    if (!node.IsMap())
      return p;
    if (p.name.empty())
      error(node, path + ".name", "missing");
    if (p.levels.empty())
      error(node, path + ".levels", "a policy needs at least one level");
    std::int64_t cycle = 0;
    for (const auto& l : p.levels)
      cycle += l.delay_ms;
    if (p.repeat > 0 && cycle == 0)
      error(node, path + ".repeat", "repeating needs a level with a non-zero delay");
    return p;
  }

  struct reference {
    std::string id;
    YAML::Node node;
    std::string path;
  };
  std::vector<reference> user_refs_, schedule_refs_;
};

template <typename T, typename Id>
void check_unique(parser& p, const YAML::Node& list, const std::string& path,
                  const std::vector<T>& items, Id id_of) {
  std::set<std::string> seen;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& id = id_of(items[i]);
    if (!id.empty() && !seen.insert(id).second)
      p.error(list[i], path + "[" + std::to_string(i) + "]", "duplicate \"" + id + "\"");
  }
}

}  // namespace

std::optional<std::int64_t> parse_rfc3339_ms(std::string_view s) {
  auto digits = [&](std::size_t pos, std::size_t n) -> std::optional<int> {
    if (pos + n > s.size())
      return std::nullopt;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i])))
        return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  auto hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || *month < 1 || *month > 12 ||
      *day < 1 || *hour > 23 || *minute > 59 || *second > 60)
    return std::nullopt;
  static constexpr int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
  if (*day > month_days[*month - 1] || (*month == 2 && *day == 29 && !leap))
    return std::nullopt;
  std::size_t pos = 19;
  std::int64_t ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t start = pos;
    int scale = 100;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start || pos - start > 9)
      return std::nullopt;
  }
  std::int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1;
    auto oh = digits(pos + 1, 2), om = digits(pos + 4, 2);
    if (!oh || !om || pos + 3 >= s.size() || s[pos + 3] != ':' || *oh > 23 || *om > 59)
      return std::nullopt;
    offset_s = sign * (*oh * 3600 + *om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size())
    return std::nullopt;
  std::int64_t secs =
      days_from_civil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day)) * 86400 +
      *hour * 3600 + *minute * 60 + std::min(*second, 59) - offset_s;
  return secs * 1000 + ms;
}

oncall_config parse_oncall(const YAML::Node& root, std::vector<std::string>& errors,
                           std::string_view file) {
  oncall_config cfg;
  parser p(errors, file);
  if (!root.IsMap()) {
    p.error(root, "(top level)", "must be a mapping");
    return cfg;
  }
  if (const YAML::Node users = root["users"])
    p.each_item(users, "users", [&](const YAML::Node& n, const std::string& at) {
      cfg.users.push_back(p.parse_user(n, at));
    });
  if (const YAML::Node schedules = root["schedules"])
    p.each_item(schedules, "schedules", [&](const YAML::Node& n, const std::string& at) {
      cfg.schedules.push_back(p.parse_schedule(n, at));
    });
  if (const YAML::Node policies = root["escalation_policies"])
    p.each_item(policies, "escalation_policies", [&](const YAML::Node& n, const std::string& at) {
      cfg.escalation_policies.push_back(p.parse_policy(n, at));
    });

  if (root["users"] && root["users"].IsSequence())
    check_unique(p, root["users"], "users", cfg.users,
                 [](const user& u) -> const std::string& { return u.id; });
  if (root["schedules"] && root["schedules"].IsSequence())
    check_unique(p, root["schedules"], "schedules", cfg.schedules,
                 [](const schedule& s) -> const std::string& { return s.name; });
  if (root["escalation_policies"] && root["escalation_policies"].IsSequence())
    check_unique(p, root["escalation_policies"], "escalation_policies", cfg.escalation_policies,
                 [](const escalation_policy& e) -> const std::string& { return e.name; });

  std::set<std::string> user_ids, schedule_names;
  for (const auto& u : cfg.users)
    user_ids.insert(u.id);
  for (const auto& s : cfg.schedules)
    schedule_names.insert(s.name);
  for (const auto& r : p.user_refs_)
    if (!user_ids.count(r.id))
      p.error(r.node, r.path, "unknown user \"" + r.id + "\"");
  for (const auto& r : p.schedule_refs_)
    if (!schedule_names.count(r.id))
      p.error(r.node, r.path, "unknown schedule \"" + r.id + "\"");
  return cfg;
}

}  // namespace wk::oncall
