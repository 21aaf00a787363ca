#include "actors/incident_manager.hpp"

#include <chrono>
#include <map>
#include <set>

#include <caf/all.hpp>

#include "actors/incident.hpp"
#include "protocol/http/http_types.hpp"
#include "protocol/rest/silence_json.hpp"
#include "silences/id.hpp"
#include "telemetry/logging.hpp"

namespace wk::actors {
namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::optional<incidents::alert_event> event_of(const persistence::alert_row& row) {
  incidents::alert_event e;
  if (row.to_state == "firing") {
    e.firing = true;
  } else if (row.from_state == "firing" && row.to_state == "inactive") {
    e.firing = false;
  } else {
    return std::nullopt;  // pending alerts page nobody
  }
  e.fingerprint = row.fingerprint;
  e.alertname = row.rule_name;
  e.service = row.service;
  if (e.service.empty()) {
    auto it = row.labels.find("service");
    e.service = it != row.labels.end() && !it->second.empty() ? it->second : "global";
  }
  e.labels = row.labels;
  e.annotations = row.annotations;
  e.value = row.value;
  e.starts_at_ms = row.active_at_ms;
  e.at_ms = row.at_ms;
  return e;
}

struct manager_state {
  config_ptr cfg;
  incident_context_ptr ctx;
  std::vector<silences::silence> api_silences;
  bool loaded = false;
  std::vector<persistence::alert_row> early;  // transitions that came before the snapshot
  std::int64_t next_id = 0;
  std::map<std::string, std::int64_t> by_group;  // open incidents
  std::map<std::int64_t, caf::actor> by_id;      // live incident actors
  std::map<caf::actor_addr, std::int64_t> id_of;
  std::map<std::int64_t, std::string> service_of;
  std::map<std::string, std::int64_t> incident_of_alert;  // fingerprint -> incident id
  std::map<std::string, std::vector<routed_alert>> awaiting_group;  // reopen lookups in flight
  std::map<std::int64_t, std::vector<incident_command>> awaiting_incident;
  std::set<std::string> held_for_dependency;
};

incident_context_ptr make_context(const config::watchkeeper_config& cfg,
                                  const std::vector<silences::silence>& api_silences) {
  auto ctx = std::make_shared<incident_context>();
  ctx->settings.group_by = cfg.incidents.group_by;
  ctx->settings.auto_resolve = cfg.incidents.auto_resolve;
  ctx->settings.reopen_window_ms = cfg.incidents.reopen_window.count();
  ctx->notifications = cfg.notifications;
  ctx->oncall = cfg.oncall;
  ctx->silences = cfg.silences.silences;
  ctx->silences.insert(ctx->silences.end(), api_silences.begin(), api_silences.end());
  ctx->windows = cfg.silences.maintenance_windows;
  ctx->external_url = cfg.server.external_url;
  return ctx;
}

// Every service `service` depends on, directly or through others (the config has no cycles).
std::set<std::string> dependencies(const config::watchkeeper_config& cfg, const std::string& service) {
  std::set<std::string> out;
  std::vector<std::string> to_visit{service};
  while (!to_visit.empty()) {
    const auto name = to_visit.back();
    to_visit.pop_back();
    for (const auto& s : cfg.services) {
      if (s.name != name) continue;
      for (const auto& d : s.depends_on) {
        if (out.insert(d).second) to_visit.push_back(d);
      }
    }
  }
  return out;
}

std::string policy_for(const config::watchkeeper_config& cfg, const std::string& service) {
  for (const auto& s : cfg.services) {
    if (s.name == service && !s.escalation_policy.empty()) return s.escalation_policy;
  }
  return cfg.incidents.escalation_policy;
}

}  // namespace

incident_manager_actor make_incident_manager(caf::actor_system& sys, runtime_ptr rt,
                                             config_ptr cfg, incident_store_actor store,
                                             notifier_actor notifier) {
  auto behavior = [rt, cfg, store, notifier](caf::event_based_actor* self) -> caf::behavior {
    auto log = telemetry::logger("incidents");
    auto st = std::make_shared<manager_state>();
    st->cfg = cfg;
    st->ctx = make_context(*cfg, st->api_silences);

    // Incident actors are monitored, not linked (a resolved one ends normally); they end with
    // the manager.
    self->attach_functor([st] {
      for (const auto& [id, actor] : st->by_id) caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    });
    self->set_down_handler([st](caf::down_msg& msg) {
      auto it = st->id_of.find(msg.source);
      if (it == st->id_of.end()) return;
      const auto id = it->second;
      st->id_of.erase(it);
      // A retired actor may already have a successor for the same incident.
      if (auto live = st->by_id.find(id);
          live != st->by_id.end() && live->second.address() != msg.source)
        return;
      st->by_id.erase(id);
      st->service_of.erase(id);
      for (auto g = st->by_group.begin(); g != st->by_group.end();) {
        g = g->second == id ? st->by_group.erase(g) : std::next(g);
      }
    });

    auto push_context = [st] {
      for (const auto& [id, actor] : st->by_id) caf::anon_send(actor, context_atom_v, st->ctx);
    };

    auto spawn_incident = [=](incident_start start) {
      const auto id = start.initial.id;
      const auto service = start.initial.service;
      auto actor = self->spawn(incident_actor, rt, std::move(start), st->ctx, store, notifier,
                               caf::actor(self));
      self->monitor(actor);
      st->by_id[id] = actor;
      st->id_of[actor.address()] = id;
      st->service_of[id] = service;
      return actor;
    };

    auto forward = [=](std::int64_t id, const routed_alert& a) {
      auto it = st->by_id.find(id);
      if (it == st->by_id.end()) return;
      if (a.event.firing) {
        st->incident_of_alert[a.event.fingerprint] = id;
      } else {
        st->incident_of_alert.erase(a.event.fingerprint);
      }
      self->send(it->second, alert_atom_v, a);
    };

    auto handle = std::make_shared<std::function<void(const incidents::alert_event&, bool)>>();
    *handle = [=](const incidents::alert_event& e, bool waited) {
      if (!e.firing) {
        st->held_for_dependency.erase(e.fingerprint);
        auto it = st->incident_of_alert.find(e.fingerprint);
        if (it != st->incident_of_alert.end()) forward(it->second, routed_alert{e, false});
        return;
      }
      if (auto it = st->incident_of_alert.find(e.fingerprint); it != st->incident_of_alert.end()) {
        forward(it->second, routed_alert{e, false});
        return;
      }
      const auto& settings = st->ctx->settings;
      const auto group = incidents::group_key(e.service, incidents::group_labels(settings, e));
      if (auto it = st->by_group.find(group); it != st->by_group.end()) {
        forward(it->second, routed_alert{e, false});
        return;
      }
      if (auto it = st->awaiting_group.find(group); it != st->awaiting_group.end()) {
        it->second.push_back(routed_alert{e, false});
        return;
      }
      // Dependency suppression: a dependency with an open incident takes the alert as related.
      const auto deps = dependencies(*st->cfg, e.service);
      for (const auto& [g, id] : st->by_group) {
        auto s = st->service_of.find(id);
        if (s != st->service_of.end() && deps.count(s->second)) {
          forward(id, routed_alert{e, true});
          return;
        }
      }
      const auto wait = st->cfg->incidents.dependency_wait;
      if (!deps.empty() && !waited && wait.count() > 0) {
        st->held_for_dependency.insert(e.fingerprint);
        self->delayed_send(self, wait, alert_atom_v, routed_alert{e, true});
        return;
      }
      st->awaiting_group[group].push_back(routed_alert{e, false});
      const auto since = e.at_ms - settings.reopen_window_ms;
      auto settle = [=](incident_ptr found) {
        auto events = std::move(st->awaiting_group[group]);
        st->awaiting_group.erase(group);
        if (events.empty()) return;
        std::int64_t id = 0;
        if (found && st->by_id.count(found->id)) {
          id = found->id;
        } else if (found) {
          id = found->id;
          incident_start start;
          start.initial = *found;
          spawn_incident(std::move(start));
        } else {
          id = ++st->next_id;
          incident_start start;
          incidents::change opening;
          start.initial = incidents::open_for_alert(id, settings, events.front().event,
                                                    policy_for(*st->cfg, e.service), opening);
          start.opening = std::move(opening);
          st->incident_of_alert[events.front().event.fingerprint] = id;
          spawn_incident(std::move(start));
          events.erase(events.begin());
        }
        st->by_group[group] = id;
        for (const auto& a : events) forward(id, a);
      };
      self->request(store, std::chrono::seconds(10), open_atom_v, group, since)
        .then([=](const incident_ptr& found) { settle(found); },
              [=](caf::error& err) {
                log->warn("looking up a recent incident of {} failed ({}); opening a new one",
                          group, caf::to_string(err));
                settle(nullptr);
              });
    };

    auto accept_rows = [=](const std::vector<persistence::alert_row>& rows) {
      for (const auto& row : rows) {
        if (auto e = event_of(row)) (*handle)(*e, false);
      }
    };

    auto load = std::make_shared<std::function<void()>>();
    *load = [=] {
      self->request(store, std::chrono::seconds(30), load_atom_v)
        .then(
          [=](const incident_snapshot_ptr& snap) {
            st->next_id = std::max(st->next_id, snap->max_id);
            st->api_silences = snap->silences;
            st->ctx = make_context(*st->cfg, st->api_silences);
            std::set<std::string> firing_now;
            for (const auto& row : snap->firing) firing_now.insert(row.fingerprint);
            for (const auto& i : snap->open) {
              incident_start start;
              start.initial = i;
              st->by_group[i.group_key] = i.id;
              std::vector<routed_alert> gone;
              for (const auto& a : i.alerts) {
                if (!a.firing) continue;
                if (firing_now.count(a.fingerprint)) {
                  st->incident_of_alert[a.fingerprint] = i.id;
                } else if (i.created_by.empty()) {
                  // Resolved while this process was down: catch up.
                  incidents::alert_event e;
                  e.fingerprint = a.fingerprint;
                  e.alertname = a.alertname;
                  e.service = a.service;
                  e.labels = a.labels;
                  e.firing = false;
                  e.at_ms = wall_ms();
                  gone.push_back(routed_alert{std::move(e), a.related});
                }
              }
              auto actor = spawn_incident(std::move(start));
              for (const auto& g : gone) self->send(actor, alert_atom_v, g);
            }
            log->info("incidents loaded: {} open, {} firing alerts, {} API silences, next id {}",
                      snap->open.size(), snap->firing.size(), snap->silences.size(),
                      st->next_id + 1);
            st->loaded = true;
            // Alerts that fired while this process was down join their incidents now.
            accept_rows(snap->firing);
            auto early = std::move(st->early);
            st->early.clear();
            accept_rows(early);
          },
          [=](caf::error& err) {
            log->warn("incidents not loaded yet (retrying in 2 s): {}", caf::to_string(err));
            self->delayed_send(self, std::chrono::seconds(2), load_atom_v);
          });
    };
  // The self-referencing callbacks hold actor handles; break the cycles when this actor ends,
  // or the detached actors they name are never destroyed and shutdown hangs.
  self->attach_functor([handle, load] {
    *handle = nullptr;
    *load = nullptr;
  });
    self->send(self, load_atom_v);

    auto open_command = [=](incident_command cmd) {
      const auto id = cmd.id;
      if (auto it = st->by_id.find(id); it != st->by_id.end()) {
        self->send(it->second, command_atom_v, std::move(cmd));
        return;
      }
      auto& waiting = st->awaiting_incident[id];
      waiting.push_back(std::move(cmd));
      if (waiting.size() > 1) return;
      self->request(store, std::chrono::seconds(10), show_atom_v, id)
        .then(
          [=](const incident_ptr& found) {
            auto cmds = std::move(st->awaiting_incident[id]);
            st->awaiting_incident.erase(id);
            if (!found) {
              for (auto& c : cmds)
                c.reply.respond(http::problem(404, "No such incident",
                                              "there is no incident " + std::to_string(id)));
              return;
            }
            caf::actor actor;
            if (auto it = st->by_id.find(id); it != st->by_id.end()) {
              actor = it->second;
            } else {
              incident_start start;
              start.initial = *found;
              actor = spawn_incident(std::move(start));
            }
            for (auto& c : cmds) self->send(actor, command_atom_v, std::move(c));
          },
          [=](caf::error& err) {
            auto cmds = std::move(st->awaiting_incident[id]);
            st->awaiting_incident.erase(id);
            for (auto& c : cmds)
              c.reply.respond(http::problem(503, "Database unavailable",
                                            "the incident cannot be read now: " + caf::to_string(err)));
          });
    };

    return {
      [=](record_atom, const std::vector<persistence::alert_row>& rows) {
        if (!st->loaded) {
          st->early.insert(st->early.end(), rows.begin(), rows.end());
          return;
        }
        accept_rows(rows);
      },
      [=](alert_atom, const routed_alert& waited) {
        // A dependant's alert back from its dependency_wait: still firing?
        if (st->held_for_dependency.erase(waited.event.fingerprint) == 0) return;
        (*handle)(waited.event, true);
      },
      [=](command_atom, incident_command& cmd) {
        if (cmd.what != incident_command::kind::create) {
          open_command(std::move(cmd));
          return;
        }
        const auto policy = cmd.escalation_policy.empty() ? policy_for(*st->cfg, cmd.service)
                                                          : cmd.escalation_policy;
        if (!cmd.escalation_policy.empty()) {
          bool known = false;
          for (const auto& p : st->cfg->oncall.escalation_policies) known = known || p.name == policy;
          if (!known) {
            cmd.reply.respond(http::problem(422, "Unknown escalation policy",
                                            "escalation_policy \"" + policy +
                                              "\" is not defined in escalation_policies"));
            return;
          }
        }
        const auto id = ++st->next_id;
        incident_start start;
        incidents::change opening;
        start.initial = incidents::open_manual(id, cmd.title, cmd.service, cmd.severity, cmd.text,
                                               cmd.actor, policy, wall_ms(), opening);
        start.opening = std::move(opening);
        persistence::audit_entry audit;
        audit.at_ms = wall_ms();
        audit.actor = cmd.actor;
        audit.role = cmd.role;
        audit.action = "incident.create";
        audit.target = "incident/" + std::to_string(id);
        audit.detail = {{"title", cmd.title}, {"service", cmd.service}, {"severity", start.initial.severity}};
        start.audit = std::move(audit);
        start.reply = std::move(cmd.reply);
        st->by_group[start.initial.group_key] = id;
        spawn_incident(std::move(start));
      },
      [=](resolved_atom, std::int64_t id, const std::string& group,
          const std::vector<routed_alert>& orphans) {
        if (auto it = st->by_group.find(group); it != st->by_group.end() && it->second == id)
          st->by_group.erase(it);
        for (auto it = st->incident_of_alert.begin(); it != st->incident_of_alert.end();) {
          it = it->second == id ? st->incident_of_alert.erase(it) : std::next(it);
        }
        if (auto it = st->by_id.find(id); it != st->by_id.end())
          self->send(it->second, shutdown_atom_v);
        for (const auto& o : orphans) (*handle)(o.event, true);
      },
      [=](retired_atom, std::int64_t id) {
        // Commands from now on load the incident afresh; those already forwarded are in the
        // retiring actor's mailbox ahead of this answer, so it answers them before it quits.
        const auto sender = caf::actor_cast<caf::actor>(self->current_sender());
        if (!sender) return;
        if (const auto it = st->by_id.find(id);
            it != st->by_id.end() && it->second.address() == sender.address())
          st->by_id.erase(it);
        self->send(sender, retired_atom_v);
      },
      [=](open_atom, std::int64_t id, const std::string& group) {
        st->by_group.emplace(group, id);
      },
      [=](reload_atom, const config_ptr& next) {
        st->cfg = next;
        st->ctx = make_context(*next, st->api_silences);
        push_context();
      },
      [=](list_atom, silence_atom, const http_reply& reply) {
        reply.respond(http::json_response(200, rest::silences_json(st->ctx->silences, wall_ms())));
      },
      [=](silence_atom, const silence_ptr& s, const persistence::audit_entry& audit,
          const http_reply& reply) {
        self->request(store, std::chrono::seconds(10), silence_atom_v, s, audit)
          .then(
            [=](bool) {
              st->api_silences.push_back(*s);
              st->ctx = make_context(*st->cfg, st->api_silences);
              push_context();
              reply.respond(http::json_response(201, rest::silence_json(*s, wall_ms())));
            },
            [=](caf::error& err) {
              reply.respond(http::problem(503, "Database unavailable",
                                          "the silence was not saved: " + caf::to_string(err)));
            });
      },
      [=](expire_atom, const std::string& id, const persistence::audit_entry& audit,
          const http_reply& reply) {
        for (const auto& s : st->cfg->silences.silences) {
          if (s.id == id) {
            reply.respond(http::problem(409, "Configured silence",
                                        "silence " + id + " comes from the configuration file; "
                                        "remove it there and reload"));
            return;
          }
        }
        const auto now = wall_ms();
        self->request(store, std::chrono::seconds(10), expire_atom_v, id, now, audit)
          .then(
            [=](bool found) {
              if (!found) {
                reply.respond(http::problem(404, "No such silence", "there is no silence " + id));
                return;
              }
              for (auto& s : st->api_silences) {
                if (s.id == id) s.ends_at_ms = std::min(s.ends_at_ms, now);
              }
              st->ctx = make_context(*st->cfg, st->api_silences);
              push_context();
              for (const auto& s : st->api_silences) {
                if (s.id == id) {
                  reply.respond(http::json_response(200, rest::silence_json(s, now)));
                  return;
                }
              }
              reply.respond(http::json_response(200, "{\"id\":\"" + http::json_escape(id) +
                                                       "\",\"active\":false}"));
            },
            [=](caf::error& err) {
              reply.respond(http::problem(503, "Database unavailable",
                                          "the silence was not expired: " + caf::to_string(err)));
            });
      },
      [=](load_atom) { (*load)(); },
      [=](tick_atom) {},
    };
  };
  return caf::actor_cast<incident_manager_actor>(sys.spawn(behavior));
}

}  // namespace wk::actors
