#include "incidents/dispatch.hpp"

#include <algorithm>

#include "notify/email.hpp"
#include "notify/pagerduty.hpp"
#include "notify/route_tree.hpp"
#include "notify/slack.hpp"
#include "notify/webhook.hpp"
#include "oncall/schedule.hpp"
#include "silences/maintenance.hpp"
#include "silences/match.hpp"

namespace wk::incidents {
namespace {

const incident_alert* first_own_firing(const incident& i) {
  for (const auto& a : i.alerts) {
    if (a.firing && !a.related) return &a;
  }
  return nullptr;
}

std::map<std::string, std::string> common(const std::vector<const std::map<std::string, std::string>*>& maps) {
  std::map<std::string, std::string> out;
  if (maps.empty()) return out;
  out = *maps.front();
  for (std::size_t k = 1; k < maps.size(); ++k) {
    for (auto it = out.begin(); it != out.end();) {
      auto other = maps[k]->find(it->first);
      if (other == maps[k]->end() || other->second != it->second)
        it = out.erase(it);
      else
        ++it;
    }
  }
  return out;
}

const oncall::user* find_user(const oncall::oncall_config& oc, const std::string& id) {
  for (const auto& u : oc.users) {
    if (u.id == id) return &u;
  }
  return nullptr;
}

void add_unique(std::vector<std::string>& v, std::string key) {
  if (std::find(v.begin(), v.end(), key) == v.end()) v.push_back(std::move(key));
}

void add_user(std::vector<std::string>& out, const oncall::oncall_config& oc, const std::string& id,
              std::vector<std::string>* unreached) {
  const auto* u = find_user(oc, id);
  if (!u || u->contacts.empty()) {
    if (unreached) unreached->push_back("user " + id + " has no contacts");
    return;
  }
  for (std::size_t k = 0; k < u->contacts.size(); ++k) {
    add_unique(out, "user:" + id + ":" + std::to_string(k));
  }
}

}  // namespace

std::map<std::string, std::string> routing_labels(const incident& i) {
  std::map<std::string, std::string> labels;
  if (const auto* a = first_own_firing(i)) {
    labels = a->labels;
  } else if (!i.alerts.empty()) {
    labels = i.alerts.front().labels;
  } else {
    labels = i.group_labels;
  }
  labels["service"] = i.service;
  labels["severity"] = i.severity;
  return labels;
}

std::vector<std::string> route_receivers(const incident& i, const notify::notifications_config& n) {
  std::vector<std::string> out;
  if (!n.root) return out;
  for (const auto* r : notify::match_routes(*n.root, routing_labels(i))) {
    if (!r->receiver.empty()) add_unique(out, r->receiver);
  }
  return out;
}

std::vector<std::string> level_receivers(const oncall::escalation_level& level,
                                         const oncall::oncall_config& oc, std::int64_t now_ms,
                                         std::vector<std::string>* unreached) {
  std::vector<std::string> out;
  for (const auto& t : level.targets) {
    switch (t.type) {
      case oncall::target::kind::channel:
        add_unique(out, t.id);
        break;
      case oncall::target::kind::user:
        add_user(out, oc, t.id, unreached);
        break;
      case oncall::target::kind::schedule: {
        const oncall::schedule* s = nullptr;
        for (const auto& candidate : oc.schedules) {
          if (candidate.name == t.id) s = &candidate;
        }
        auto who = s ? oncall::on_call(*s, now_ms) : std::nullopt;
        if (who) {
          add_user(out, oc, *who, unreached);
        } else if (unreached) {
          unreached->push_back("nobody is on call for schedule " + t.id);
        }
        break;
      }
    }
  }
  return out;
}

notify::notification to_notification(const incident& i, const std::string& transition,
                                      const std::string& receiver, const std::string& note,
                                      const std::string& external_url, std::int64_t at_ms) {
  notify::notification n;
  n.incident_id = std::to_string(i.id);
  n.title = i.title;
  n.service = i.service;
  n.severity = i.severity;
  n.transition = transition;
  n.status = std::string(to_string(i.state));
  std::vector<const std::map<std::string, std::string>*> labels, annotations;
  for (const auto& a : i.alerts) {
    notify::alert_info info;
    info.status = a.firing ? "firing" : "resolved";
    info.labels = a.labels;
    info.annotations = a.annotations;
    info.starts_at_ms = a.starts_at_ms;
    info.ends_at_ms = a.ends_at_ms;
    info.fingerprint = a.fingerprint;
    n.alerts.push_back(std::move(info));
    if (!a.related) {
      labels.push_back(&a.labels);
      annotations.push_back(&a.annotations);
    }
  }
  n.group_labels = i.group_labels;
  n.common_labels = common(labels);
  n.common_annotations = common(annotations);
  if (n.common_labels.empty()) n.common_labels = i.group_labels;
  n.external_url = external_url;
  n.receiver = receiver;
  n.group_key = i.group_key;
  n.at_ms = at_ms;
  n.acknowledged_by = i.acknowledged_by;
  n.resolved_by = i.resolved_by;
  n.note = note;
  return n;
}

std::optional<outgoing> render(const incident& i, const std::string& receiver_key,
                               const std::string& transition, const std::string& note,
                               const directory& d, std::int64_t at_ms, std::string* error,
                               std::int64_t sequence) {
  outgoing out;
  out.receiver = receiver_key;
  out.transition = transition;
  // The same transition of the same paging cycle always gets the same keys, however often it
  // is rendered: a replay after a crash is dropped by the outbox and by the receiver.
  const std::int64_t step =
    transition == "escalated"  ? std::int64_t(i.reopen_count) * 1000 + std::int64_t(i.escalated.size())
    : transition == "reminder" ? std::int64_t(i.reopen_count) * 1000000 + sequence
    : transition == "updated"  ? sequence
                               : i.reopen_count;
  out.dedup_key = std::to_string(i.id) + ":" + receiver_key + ":" + transition + ":" +
                  std::to_string(step);
  out.delivery_key = notify::idempotency_key(std::to_string(i.id), transition, step);
  const auto n = to_notification(i, transition, receiver_key, note, d.external_url, at_ms);
  const auto& smtp = d.notifications->smtp;

  if (receiver_key.rfind("user:", 0) == 0) {
    const auto colon = receiver_key.rfind(':');
    const std::string id = receiver_key.substr(5, colon - 5);
    const auto* u = d.oncall ? find_user(*d.oncall, id) : nullptr;
    const std::size_t index = std::strtoul(receiver_key.c_str() + colon + 1, nullptr, 10);
    if (!u || index >= u->contacts.size()) {
      if (error) *error = "receiver " + receiver_key + " is no longer configured";
      return std::nullopt;
    }
    const auto& c = u->contacts[index];
    out.channel = c.type;
    if (c.type == "email") {
      notify::email_options o;
      o.from = smtp.from;
      o.to = {c.address};
      o.domain = smtp.domain;
      out.target = c.address;
      out.body = notify::email_message(n, o, at_ms);
    } else if (c.type == "pagerduty") {
      out.target = "https://events.pagerduty.com/v2/enqueue";
      out.body = notify::pagerduty_payload(n, c.address);
    } else if (c.type == "slack") {
      out.target = c.address;
      out.body = notify::slack_payload(n, {});
    } else {
      out.channel = "webhook";
      out.target = c.address;
      out.body = notify::webhook_payload(n);
    }
    return out;
  }

  const auto* r = d.notifications->find(receiver_key);
  if (!r) {
    if (error) *error = "receiver " + receiver_key + " is no longer configured";
    return std::nullopt;
  }
  out.channel = std::string(notify::to_string(r->type));
  switch (r->type) {
    case notify::receiver::kind::slack:
      out.target = r->url;
      out.body = notify::slack_payload(n, r->slack);
      break;
    case notify::receiver::kind::pagerduty:
      out.target = r->url;
      out.body = notify::pagerduty_payload(n, r->routing_key);
      break;
    case notify::receiver::kind::webhook:
      out.target = r->url;
      out.body = notify::webhook_payload(n, r->max_alerts);
      break;
    case notify::receiver::kind::email: {
      notify::email_options o;
      o.from = smtp.from;
      o.to = r->to;
      o.domain = smtp.domain;
      o.subject_template = r->subject_template;
      o.text_template = r->text_template;
      for (const auto& to : r->to) out.target += (out.target.empty() ? "" : ",") + to;
      out.body = notify::email_message(n, o, at_ms);
      break;
    }
  }
  return out;
}

namespace {

const notify::route* first_route(const incident& i, const notify::notifications_config& n) {
  if (!n.root) return nullptr;
  const auto matched = notify::match_routes(*n.root, routing_labels(i));
  return matched.empty() ? nullptr : matched.front();
}

}  // namespace

std::int64_t group_wait_ms(const incident& i, const notify::notifications_config& n) {
  const auto* r = first_route(i, n);
  return r ? r->group_wait_ms : 0;
}

std::int64_t repeat_interval_ms(const incident& i, const notify::notifications_config& n) {
  const auto* r = first_route(i, n);
  return r ? r->repeat_interval_ms : notify::default_repeat_interval_ms;
}

std::int64_t group_interval_ms(const incident& i, const notify::notifications_config& n) {
  const auto* r = first_route(i, n);
  return r ? r->group_interval_ms : notify::default_group_interval_ms;
}

std::optional<std::string> suppression(const incident& i,
                                       const std::vector<silences::silence>& silences,
                                       const std::vector<silences::maintenance_window>& windows,
                                       std::int64_t now_ms) {
  std::vector<std::map<std::string, std::string>> label_sets;
  for (const auto& a : i.alerts) {
    if (!a.firing || a.related) continue;
    auto labels = a.labels;
    labels["service"] = a.service;
    label_sets.push_back(std::move(labels));
  }
  if (label_sets.empty()) label_sets.push_back(routing_labels(i));
  std::vector<std::string> silence_ids, window_names;
  for (const auto& labels : label_sets) {
    auto s = silences::silenced_by(silences, labels, now_ms);
    auto w = silences::in_maintenance(windows, labels, now_ms);
    if (s.empty() && w.empty()) return std::nullopt;
    for (auto& id : s) add_unique(silence_ids, std::move(id));
    for (auto& name : w) add_unique(window_names, std::move(name));
  }
  std::string why;
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  if (!silence_ids.empty()) why = "silenced by " + list(silence_ids);
  if (!window_names.empty()) why += (why.empty() ? "" : "; ") + std::string("in maintenance ") + list(window_names);
  return why;
}

}  // namespace wk::incidents
