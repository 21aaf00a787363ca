#include "actors/registry.hpp"

#include <chrono>

#include <caf/all.hpp>

#include "actors/alerter.hpp"
#include "actors/live_metrics.hpp"
#include "actors/service_supervisor.hpp"
#include "config/service_yaml.hpp"
#include "protocol/http/uri.hpp"
#include "protocol/rest/service_json.hpp"
#include "telemetry/logging.hpp"
#include "watch/scrape_ingester.hpp"

namespace wk::actors {

namespace {

using self_ptr = registry_actor::stateful_pointer<registry_state>;

constexpr auto store_timeout = std::chrono::seconds(10);
constexpr auto reload_retry = std::chrono::seconds(5);

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

bool valid_service_name(const std::string& name) {
  if (name.empty() || name.size() > 128)
    return false;
  auto first = name[0];
  if (!(std::isalpha(static_cast<unsigned char>(first)) || first == '_'))
    return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return false;
  return true;
}

watch::restart_settings restart_of(const config::watchkeeper_config& cfg) {
  watch::restart_settings r;
  r.budget = cfg.supervisor.restart_budget;
  r.window = cfg.supervisor.restart_window;
  r.backoff_initial = cfg.supervisor.backoff_initial;
  r.backoff_max = cfg.supervisor.backoff_max;
  return r;
}

struct stores {
  health_store_actor health;
  alert_store_actor alerts;
  anomaly_store_actor anomalies;
};

rule_groups_ptr groups_of(const registry_state& st, const std::string& service) {
  if (!st.catalog) return nullptr;
  auto groups = st.catalog->for_service(service);
  if (groups.empty()) return nullptr;
  return std::make_shared<const std::vector<rules::rule_group>>(std::move(groups));
}

void start_service(self_ptr self, const runtime_ptr& rt, const stores& db,
                   const config::service_spec& spec, const std::string& source) {
  const auto& cfg = *self->state.config;
  child_context ctx;
  ctx.health = db.health;
  ctx.alerts = db.alerts;
  ctx.anomalies = db.anomalies;
  ctx.anomaly_enabled = cfg.anomaly.enabled;
  ctx.anomaly_series = cfg.anomaly.series;
  ctx.anomaly_threshold = cfg.anomaly.threshold;
  ctx.anomaly_max_series = cfg.anomaly.max_series_per_service;
  ctx.jitter = cfg.scrape_defaults.jitter;
  auto groups = groups_of(self->state, spec.name);
  if (groups) ctx.rules = std::make_shared<rule_groups_ptr>(groups);
  ctx.evaluation_interval = cfg.rules.evaluation_interval;
  ctx.external_labels = cfg.rules.external_labels;
  ctx.external_url = cfg.server.external_url;
  supervisor_settings s;
  s.service = spec.name;
  s.source = source;
  s.labels = spec.labels;
  s.depends_on = spec.depends_on;
  s.restart = restart_of(cfg);
  s.children = children_for(spec, rt, ctx);
  s.rules = ctx.rules;
  if (spec.metrics)
    s.scrape_url = spec.metrics->url;
  auto sup = self->home_system().spawn(service_supervisor, rt, std::move(s),
                                       caf::actor_cast<caf::actor>(self));
  self->monitor(sup);
  auto& e = self->state.services[spec.name];
  e.spec = spec;
  e.source = source;
  e.supervisor = sup;
  e.status = {};
  e.status.name = spec.name;
  e.status.source = source;
  e.status.labels = spec.labels;
  e.status.depends_on = spec.depends_on;
  e.has_rules = groups != nullptr;
  telemetry::logger("registry")->info("watching service={} source={}", spec.name, source);
}

void stop_service(self_ptr self, const std::string& name) {
  auto it = self->state.services.find(name);
  if (it == self->state.services.end())
    return;
  if (auto& sup = it->second.supervisor) {
    self->state.retiring[sup.address()] = name;
    self->send_exit(sup, caf::exit_reason::user_shutdown);
    ++self->state.stopping;
  }
  self->state.services.erase(it);
  telemetry::logger("registry")->info("stopped watching service={}", name);
}

// Brings the running supervisors in line with config + API services; unchanged ones keep running.
void apply(self_ptr self, const runtime_ptr& rt, const stores& db) {
  auto& st = self->state;
  std::map<std::string, std::pair<config::service_spec, std::string>> desired;
  for (const auto& s : st.config->services)
    desired[s.name] = {s, "config"};
  for (const auto& [name, spec] : st.api_services)
    if (!desired.count(name))
      desired[name] = {spec, "api"};
  std::vector<std::string> doomed;
  for (const auto& [name, e] : st.services) {
    auto d = desired.find(name);
    if (d == desired.end() || !(d->second.first == e.spec) || d->second.second != e.source ||
        e.has_rules != (groups_of(st, name) != nullptr))
      doomed.push_back(name);
  }
  for (const auto& name : doomed)
    stop_service(self, name);
  // Services kept running get the rules as loaded now; their alert state carries over.
  for (const auto& [name, e] : st.services)
    if (e.has_rules && e.supervisor)
      self->send(e.supervisor, reload_atom_v, groups_of(st, name));
  for (const auto& [name, d] : desired)
    if (!st.services.count(name))
      start_service(self, rt, db, d.first, d.second);
  // Global rules: one evaluator, started when there are any.
  auto global = st.catalog && !st.catalog->global.empty()
                  ? std::make_shared<const std::vector<rules::rule_group>>(st.catalog->global)
                  : nullptr;
  if (st.global_alerter) {
    caf::anon_send(st.global_alerter, reload_atom_v, global);
  } else if (global) {
    alerter_settings a;
    a.groups = global;
    a.default_interval = st.config->rules.evaluation_interval;
    a.external_labels = st.config->rules.external_labels;
    a.external_url = st.config->server.external_url;
    st.global_alerter = self->home_system().spawn(alerter, rt, a, db.alerts);
    self->link_to(st.global_alerter);
  }
  double from_config = 0, from_api = 0;
  for (const auto& [name, e] : st.services)
    (e.source == "config" ? from_config : from_api) += 1;
  rt->metrics->services.with({"config"}).set(from_config);
  rt->metrics->services.with({"api"}).set(from_api);
}

http::http_response service_problem(int status, const std::string& title,
                                    const std::string& detail) {
  return http::problem(status, title, detail);
}

}  // namespace

registry_actor::behavior_type registry(registry_actor::stateful_pointer<registry_state> self,
                                       runtime_ptr rt, config_ptr initial,
                                       health_store_actor health, service_store_actor store,
                                       alert_store_actor alerts, anomaly_store_actor anomalies) {
  const stores db{health, alerts, anomalies};
  auto log = telemetry::logger("registry");
  // Nothing is watched until main sends the configuration with reload_atom, once the gateway
  // listens: otherwise Watchkeeper's checks of itself would record a false "down" at start.
  self->state.config = std::move(initial);
  self->set_down_handler([self, rt](caf::down_msg& msg) {
    auto& st = self->state;
    if (auto r = st.retiring.find(msg.source); r != st.retiring.end()) {
      // Metrics of a service no longer watched go once its supervisor (and so its children)
      // are gone; not before, or a last scrape would bring them back.
      if (!st.services.count(r->second))
        telemetry::forget_service(*rt->metrics, r->second);
      st.retiring.erase(r);
      if (st.stopping > 0)
        --st.stopping;
      if (st.shutting_down && st.stopping == 0 && st.shutdown_promise.pending())
        st.shutdown_promise.deliver(true);
      return;
    }
    // A supervisor that died on its own (not stopped by us) is started again.
    for (auto& [name, e] : st.services)
      if (e.supervisor.address() == msg.source) {
        telemetry::logger("registry")->error("supervisor of service={} died: {}; restarting it",
                                             name, caf::to_string(msg.reason));
        self->delayed_send(self, std::chrono::seconds(1), reload_atom_v, st.config, st.catalog);
        e.supervisor = supervisor_actor{};
        e.spec = {};
        return;
      }
  });
  return {
    [self, rt, db](reload_atom, config_ptr cfg, catalog_ptr catalog) {
      self->state.config = std::move(cfg);
      self->state.catalog = std::move(catalog);
      if (!self->state.started) {
        self->state.started = true;
        self->send(self, load_atom_v);  // the services added over the API, from PostgreSQL
      }
      if (!self->state.shutting_down)
        apply(self, rt, db);
    },
    [self, store, log](load_atom) {
      self->request(store, store_timeout, list_atom_v)
        .then(
          [self](std::vector<persistence::stored_service>& rows) {
            self->send(self, load_atom_v, std::move(rows));
          },
          [self, log](caf::error& err) {
            log->warn("loading services added over the API failed (retrying in {} s): {}",
                      reload_retry.count(), caf::to_string(err));
            self->delayed_send(self, reload_retry, load_atom_v);
          });
    },
    [self, rt, db, log](load_atom, std::vector<persistence::stored_service>& rows) {
      auto& st = self->state;
      st.api_services.clear();
      for (const auto& row : rows) {
        auto parsed = config::parse_service(row.spec, "database service " + row.name, *st.config);
        if (!parsed.service) {
          log->error("stored service {} is invalid and not watched: {}", row.name,
                     config::config_error_report(parsed.errors));
          continue;
        }
        st.api_services[row.name] = *parsed.service;
      }
      st.api_loaded = true;
      apply(self, rt, db);
    },
    [self, rt](status_atom, watch::service_status& s) {
      auto it = self->state.services.find(s.name);
      if (it == self->state.services.end()
          || it->second.supervisor.address()
               != caf::actor_cast<caf::actor_addr>(self->current_sender()))
        return;  // a report from a supervisor already replaced
      publish_event(*rt, "services", "service_status", rest::service_json(s), wall_ms());
      it->second.status = std::move(s);
    },
    [self](list_atom, const std::string& raw_query, const http_reply& reply) {
      auto filter = rest::parse_service_filter(http::parse_query(raw_query));
      if (!filter.error.empty()) {
        reply.respond(service_problem(400, "Invalid query", filter.error));
        return;
      }
      std::vector<watch::service_status> all;
      for (const auto& [name, e] : self->state.services)
        all.push_back(e.status);
      reply.respond(http::json_response(200, rest::services_json(all, filter)));
    },
    [self](show_atom, const std::string& name, const http_reply& reply) {
      auto it = self->state.services.find(name);
      if (it == self->state.services.end()) {
        reply.respond(service_problem(404, "Service not found",
                                      "no service named \"" + name + "\" is watched"));
        return;
      }
      reply.respond(http::json_response(200, rest::service_json(it->second.status)));
    },
    [self, rt, db, store](upsert_atom, const std::string& path_name, const std::string& body,
                              bool create, const http_reply& reply) {
      auto& st = self->state;
      auto parsed = config::parse_service(body, "request body", *st.config);
      if (!parsed.service) {
        reply.respond(service_problem(400, "Invalid service",
                                      config::config_error_report(parsed.errors)));
        return;
      }
      auto spec = *parsed.service;
      if (!path_name.empty() && spec.name != path_name) {
        reply.respond(service_problem(
          400, "Invalid service",
          "the body names service \"" + spec.name + "\" but the path names \"" + path_name + "\""));
        return;
      }
      for (const auto& s : st.config->services)
        if (s.name == spec.name) {
          reply.respond(service_problem(
            409, "Service defined in the configuration",
            "service \"" + spec.name + "\" comes from " + st.config->source_file +
              "; change it there (the configuration wins over the API)"));
          return;
        }
      bool exists = st.api_services.count(spec.name) > 0;
      if (create && exists) {
        reply.respond(service_problem(409, "Service exists",
                                      "service \"" + spec.name +
                                        "\" already exists; use PUT /api/services/" + spec.name +
                                        " to change it"));
        return;
      }
      // The new service must fit the graph of everything watched: known names, no cycle.
      std::vector<config::service_spec> all = st.config->services;
      for (const auto& [name, api_spec] : st.api_services)
        if (name != spec.name)
          all.push_back(api_spec);
      all.push_back(spec);
      if (auto problems = config::check_dependencies(all); !problems.empty()) {
        std::string detail;
        for (const auto& p : problems)
          detail += (detail.empty() ? "" : "; ") + p;
        reply.respond(service_problem(400, "Invalid service", detail));
        return;
      }
      persistence::stored_service row{spec.name, config::service_to_yaml(spec)};
      self->request(store, store_timeout, upsert_atom_v, row)
        .then(
          [self, rt, db, spec, exists, reply](bool) {
            self->state.api_services[spec.name] = spec;
            apply(self, rt, db);
            auto it = self->state.services.find(spec.name);
            auto body = it != self->state.services.end() ? rest::service_json(it->second.status)
                                                         : std::string("{}");
            auto resp = http::json_response(exists ? 200 : 201, body);
            if (!exists)
              resp.headers.push_back({"location", "/api/services/" + spec.name});
            reply.respond(std::move(resp));
          },
          [reply](caf::error& err) {
            reply.respond(service_problem(503, "Database unavailable",
                                          "the service was not saved: " + caf::to_string(err)));
          });
    },
    [self, rt, db, store](remove_atom, const std::string& name, const http_reply& reply) {
      auto& st = self->state;
      for (const auto& s : st.config->services)
        if (s.name == name) {
          reply.respond(service_problem(409, "Service defined in the configuration",
                                        "service \"" + name + "\" comes from " +
                                          st.config->source_file + "; remove it there"));
          return;
        }
      if (!st.api_services.count(name)) {
        reply.respond(service_problem(404, "Service not found",
                                      "no service named \"" + name + "\" was added over the API"));
        return;
      }
      self->request(store, store_timeout, remove_atom_v, name)
        .then(
          [self, rt, db, name, reply](bool) {
            self->state.api_services.erase(name);
            apply(self, rt, db);
            http::http_response resp;
            resp.status = 204;
            resp.content_type.clear();
            reply.respond(std::move(resp));
          },
          [reply](caf::error& err) {
            reply.respond(service_problem(503, "Database unavailable",
                                          "the service was not removed: " + caf::to_string(err)));
          });
    },
    [self, rt](push_atom, const std::string& service, const std::string& content_type,
         const std::string& body, const http_reply& reply) {
      if (!valid_service_name(service)) {
        reply.respond(service_problem(400, "Invalid service name",
                                      "\"" + service +
                                        "\" is not a valid name ([a-zA-Z_][a-zA-Z0-9_.-]*)"));
        return;
      }
      watch::scrape_target target;
      target.labels = {{"job", service}, {"service", service}};
      watch::scrape_ingester ingester(*rt->head, target);
      const std::int64_t now = wall_ms();
      auto out = ingester.ingest(body, content_type, now);
      if (!out.ok) {
        reply.respond(service_problem(400, "Invalid metrics", out.error));
        return;
      }
      rt->metrics->pushed_samples.with({service}).inc(static_cast<double>(out.samples_scraped));
      if (auto it = self->state.services.find(service);
          it != self->state.services.end() && it->second.supervisor)
        self->send(it->second.supervisor, landed_atom_v);
      rt->metrics->samples_ingested.get().inc(static_cast<double>(out.samples_scraped));
      publish_live_metrics(*rt, service, now);
      reply.respond(http::json_response(
        200, "{\"samples\":" + std::to_string(out.samples_scraped) +
               ",\"series_added\":" + std::to_string(out.series_added) +
               ",\"rejected_out_of_order\":" + std::to_string(out.out_of_order) + "}"));
    },
    [self](shutdown_atom) -> caf::result<bool> {
      auto& st = self->state;
      st.shutting_down = true;
      std::vector<std::string> names;
      for (const auto& [name, e] : st.services)
        names.push_back(name);
      for (const auto& name : names)
        stop_service(self, name);
      if (st.stopping == 0)
        return true;
      st.shutdown_promise = self->make_response_promise();
      return st.shutdown_promise;
    },
  };
}

}  // namespace wk::actors
