#include "actors/service_supervisor.hpp"

#include <chrono>

#include <caf/all.hpp>

#include "actors/alerter.hpp"
#include "actors/anomaly_watcher.hpp"
#include "actors/prober.hpp"
#include "actors/scraper.hpp"
#include "telemetry/logging.hpp"

namespace wk::actors {

namespace {

std::chrono::milliseconds steady_now(supervisor_actor::stateful_pointer<supervisor_state> self) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
    self->clock().now().time_since_epoch());
}

// Status updates are coalesced: at most one report to the registry per 100 ms per service.
constexpr std::chrono::milliseconds report_delay{100};

}  // namespace

std::vector<child_spec> children_for(const config::service_spec& spec, runtime_ptr rt,
                                     const child_context& ctx) {
  std::vector<child_spec> out;
  auto store = ctx.health;
  if (spec.metrics) {
    scraper_settings s{spec.name, *spec.metrics, spec.labels, ctx.jitter};
    out.push_back({"scraper", [rt, s](supervisor_actor parent) {
                     return parent->home_system().spawn(scraper, rt, s, parent);
                   }});
  }
  for (const auto& check : spec.health) {
    prober_settings p{spec.name, check, spec.labels};
    out.push_back({"prober:" + check.name, [rt, p, store](supervisor_actor parent) {
                     return parent->home_system().spawn(prober, rt, p, parent, store);
                   }});
  }
  if (ctx.anomaly_enabled && !ctx.anomaly_series.empty()) {
    anomaly_settings a{spec.name, ctx.anomaly_series, ctx.anomaly_threshold, ctx.anomaly_max_series};
    auto store = ctx.anomalies;
    out.push_back({"anomaly",
                   [rt, a, store](supervisor_actor parent) {
                     return parent->home_system().spawn(anomaly_watcher, rt, a, store, parent);
                   },
                   true});
  }
  if (ctx.rules && *ctx.rules && !(*ctx.rules)->empty()) {
    alerter_settings a;
    a.scope = spec.name;
    a.default_interval = ctx.evaluation_interval;
    a.external_labels = ctx.external_labels;
    a.external_url = ctx.external_url;
    auto holder = ctx.rules;
    auto alerts = ctx.alerts;
    out.push_back({"rules",
                   [rt, a, holder, alerts](supervisor_actor parent) {
                     auto settings = a;
                     settings.groups = *holder;
                     return parent->home_system().spawn(alerter, rt, settings, alerts);
                   },
                   true});
  }
  return out;
}

supervisor_actor::behavior_type
service_supervisor(supervisor_actor::stateful_pointer<supervisor_state> self, runtime_ptr rt,
                   supervisor_settings settings, caf::actor status_sink) {
  auto log = telemetry::logger("supervisor");
  auto& st = self->state;
  st.status.name = settings.service;
  st.status.source = settings.source;
  st.status.labels = settings.labels;
  st.status.depends_on = settings.depends_on;
  if (settings.scrape_url) {
    st.status.scrape.configured = true;
    st.status.scrape.url = *settings.scrape_url;
  }
  std::uint64_t seed = std::hash<std::string>{}(settings.service);
  auto me = supervisor_actor{self};
  auto start_child = [self, me](supervisor_state::child& c) {
    c.handle = c.spec.spawn(me);
    self->link_to(c.handle);
  };
  for (auto& spec : settings.children) {
    st.children.push_back({spec, caf::actor{}, watch::restart_policy(settings.restart, seed++)});
    start_child(st.children.back());
  }
  // A scrape or probe landed: the children that evaluate the service's data hear of it.
  auto landed = [self] {
    for (const auto& c : self->state.children)
      if (c.spec.wants_data && c.handle)
        caf::anon_send(c.handle, landed_atom_v);
  };
  auto report = [self] {
    if (self->state.report_pending)
      return;
    self->state.report_pending = true;
    self->delayed_send(self, report_delay, tick_atom_v);
  };
  report();
  // Exits of our children are trapped and answered with a restart; any other exit (the registry
  // stopping us, shutdown) ends this supervisor, and the links end the children with it.
  self->set_exit_handler([self, log, rt, service = settings.service](caf::exit_msg& msg) {
    auto& children = self->state.children;
    auto it = std::find_if(children.begin(), children.end(),
                           [&](const auto& c) { return c.handle.address() == msg.source; });
    if (it == children.end()) {
      self->quit(msg.reason);
      return;
    }
    it->handle = caf::actor{};
    auto delay = it->policy.on_failure(steady_now(self));
    if (!delay) {
      it->gave_up = true;
      log->error("service={} child={} failed too often ({}); not restarting it until the service "
                 "is reloaded: {}",
                 service, it->spec.name, it->policy.restarts_in_window(),
                 caf::to_string(msg.reason));
      return;
    }
    log->warn("service={} child={} died ({}); restarting in {} ms", service, it->spec.name,
              caf::to_string(msg.reason), delay->count());
    self->delayed_send(self, *delay, restart_atom_v, it->spec.name);
  });
  return {
    [self, report, landed](status_atom, watch::scrape_status& s) {
      self->state.status.scrape = std::move(s);
      landed();
      report();
    },
    [landed](landed_atom) { landed(); },
    [self, holder = settings.rules](reload_atom, const rule_groups_ptr& groups) {
      if (holder)
        *holder = groups;
      for (const auto& c : self->state.children)
        if (c.spec.name == "rules" && c.handle)
          caf::anon_send(c.handle, reload_atom_v, groups);
    },
    [self, report, landed](status_atom, watch::check_status& c) {
      auto& checks = self->state.status.checks;
      auto it = std::find_if(checks.begin(), checks.end(),
                             [&](const auto& x) { return x.name == c.name; });
      if (it == checks.end())
        checks.push_back(std::move(c));
      else
        *it = std::move(c);
      landed();
      report();
    },
    [self, rt, start_child, service = settings.service](restart_atom, const std::string& name) {
      for (auto& c : self->state.children)
        if (c.spec.name == name && !c.handle) {
          start_child(c);
          ++self->state.status.restarts;
          rt->metrics->child_restarts.with({service, name}).inc();
        }
    },
    [self, status_sink](tick_atom) {
      self->state.report_pending = false;
      auto& s = self->state.status;
      s.state = watch::overall_state(s);
      self->send(caf::actor_cast<registry_actor>(status_sink), status_atom_v, s);
    },
  };
}

}  // namespace wk::actors
