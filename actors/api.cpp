#include "actors/api.hpp"

#include <chrono>
#include <optional>

#include <caf/all.hpp>

#include "protocol/http/uri.hpp"
#include "protocol/rest/incident_json.hpp"
#include "protocol/rest/oncall_json.hpp"
#include "protocol/rest/silence_json.hpp"
#include "silences/id.hpp"


namespace wk::actors {

namespace {

// Answers 401/403 and returns nullopt when the request lacks the role; else who asked.
std::optional<rest::token_authority::verdict> who(const auth_holder& auth,
                                                  const http::http_request& req, rest::access need,
                                                  const http::responder& respond) {
  auto authority = auth.get();
  if (authority->empty()) {
    respond(http::problem(403, "Writes disabled",
                          "no API tokens are configured (auth.tokens); writes are refused"));
    return std::nullopt;
  }
  auto verdict = authority->check(http::bearer_token(req));
  if (verdict.role == rest::access::none) {
    auto resp = http::problem(401, "Unauthorized",
                              "this endpoint needs an 'Authorization: Bearer <token>' header with "
                              "a token of role " + std::string(rest::to_string(need)) +
                                " or higher");
    resp.headers.push_back({"www-authenticate", "Bearer realm=\"watchkeeper\""});
    respond(std::move(resp));
    return std::nullopt;
  }
  if (!rest::allows(verdict.role, need)) {
    respond(http::problem(403, "Forbidden",
                          "token \"" + verdict.name + "\" has role " +
                            rest::to_string(verdict.role) + "; this endpoint needs " +
                            rest::to_string(need)));
    return std::nullopt;
  }
  return verdict;
}

bool authorize(const auth_holder& auth, const http::http_request& req, rest::access need,
               const http::responder& respond) {
  return who(auth, req, need, respond).has_value();
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// The incident id of a path, or a 404 answered.
std::optional<std::int64_t> incident_id(const std::string& text, const http::responder& respond) {
  const bool digits = !text.empty() && text.size() <= 15 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoll(text) == 0) {
    respond(http::problem(404, "No such incident",
                          "incident ids are positive integers; got \"" + text.substr(0, 40) + "\""));
    return std::nullopt;
  }
  return std::stoll(text);
}

// Adds the incident routes: reads go to the store, writes to the manager after the body has
// been parsed here, so a client's mistake is answered at once.
void add_incident_routes(http::router& r, const api_settings& s) {
  auto auth = s.auth;
  auto manager = s.incidents;
  auto store = s.incident_store;
  auto config = s.config;
  r.add("GET", "/api/incidents", [store](const auto& req, const auto&, auto respond) {
    caf::anon_send(store, list_atom_v, req.raw_query, http_reply{std::move(respond)});
  });
  r.add("GET", "/api/incidents/{id}", [store](const auto&, const auto& params, auto respond) {
    if (auto id = incident_id(params.at("id"), respond))
      caf::anon_send(store, show_atom_v, *id, http_reply{std::move(respond)});
  });
  r.add("POST", "/api/incidents", [auth, manager](const auto& req, const auto&, auto respond) {
    auto v = who(*auth, req, rest::access::responder, respond);
    if (!v) return;
    std::string detail;
    auto body = rest::parse_create_request(req.body, &detail);
    if (!body) {
      respond(http::problem(400, "Invalid incident", detail));
      return;
    }
    incident_command cmd;
    cmd.what = incident_command::kind::create;
    cmd.actor = v->name;
    cmd.role = rest::to_string(v->role);
    cmd.title = body->title;
    cmd.service = body->service;
    cmd.severity = body->severity;
    cmd.text = body->description;
    cmd.escalation_policy = body->escalation_policy;
    cmd.reply = http_reply{std::move(respond)};
    caf::anon_send(manager, command_atom_v, std::move(cmd));
  });
  using kind = incident_command::kind;
  struct write_route {
    const char* path;
    kind what;
  };
  for (const auto& w : {write_route{"acknowledge", kind::acknowledge},
                        write_route{"resolve", kind::resolve}, write_route{"notes", kind::note},
                        write_route{"severity", kind::severity},
                        write_route{"reassign", kind::reassign}}) {
    const kind what = w.what;
    r.add("POST", std::string("/api/incidents/{id}/") + w.path,
          [auth, manager, what](const auto& req, const auto& params, auto respond) {
            auto v = who(*auth, req, rest::access::responder, respond);
            if (!v) return;
            auto id = incident_id(params.at("id"), respond);
            if (!id) return;
            incident_command cmd;
            cmd.what = what;
            cmd.id = *id;
            cmd.actor = v->name;
            cmd.role = rest::to_string(v->role);
            std::string detail;
            bool ok = false;
            switch (what) {
              case kind::acknowledge:
              case kind::resolve:
                if (auto b = rest::parse_transition_request(req.body, &detail)) {
                  cmd.text = b->note;
                  ok = true;
                }
                break;
              case kind::note:
                if (auto b = rest::parse_note_request(req.body, &detail)) {
                  cmd.text = b->text;
                  ok = true;
                }
                break;
              case kind::severity:
                if (auto b = rest::parse_severity_request(req.body, &detail)) {
                  cmd.severity = b->severity;
                  ok = true;
                }
                break;
              case kind::reassign:
                if (auto b = rest::parse_reassign_request(req.body, &detail)) {
                  cmd.text = b->assignee;
                  ok = true;
                }
                break;
              case kind::create:
                break;
            }
            if (!ok) {
              respond(http::problem(400, "Invalid request body", detail));
              return;
            }
            cmd.reply = http_reply{std::move(respond)};
            caf::anon_send(manager, command_atom_v, std::move(cmd));
          });
  }
  r.add("GET", "/api/audit", [auth, store](const auto& req, const auto&, auto respond) {
    if (!authorize(*auth, req, rest::access::admin, respond)) return;
    caf::anon_send(store, audit_atom_v, req.raw_query, http_reply{std::move(respond)});
  });
  r.add("GET", "/api/silences", [manager](const auto&, const auto&, auto respond) {
    caf::anon_send(manager, list_atom_v, silence_atom_v, http_reply{std::move(respond)});
  });
  r.add("POST", "/api/silences", [auth, manager](const auto& req, const auto&, auto respond) {
    auto v = who(*auth, req, rest::access::responder, respond);
    if (!v) return;
    const auto now = wall_ms();
    std::string detail;
    auto body = rest::parse_silence_request(req.body, now, &detail);
    if (!body) {
      respond(http::problem(400, "Invalid silence", detail));
      return;
    }
    auto sil = std::make_shared<silences::silence>();
    sil->id = silences::new_silence_id();
    sil->matchers = body->matchers;
    sil->starts_at_ms = body->starts_at_ms;
    sil->ends_at_ms = body->ends_at_ms;
    sil->comment = body->comment;
    sil->created_by = v->name;
    sil->created_at_ms = now;
    sil->source = "api";
    persistence::audit_entry audit;
    audit.at_ms = now;
    audit.actor = v->name;
    audit.role = rest::to_string(v->role);
    audit.action = "silence.create";
    audit.target = "silence/" + sil->id;
    std::string matchers;
    for (const auto& m : sil->matchers) matchers += (matchers.empty() ? "" : ", ") + m.str();
    audit.detail = {{"matchers", matchers}, {"comment", sil->comment}};
    caf::anon_send(manager, silence_atom_v, silence_ptr(std::move(sil)), audit,
                   http_reply{std::move(respond)});
  });
  r.add("DELETE", "/api/silences/{id}", [auth, manager](const auto& req, const auto& params, auto respond) {
    auto v = who(*auth, req, rest::access::responder, respond);
    if (!v) return;
    persistence::audit_entry audit;
    audit.at_ms = wall_ms();
    audit.actor = v->name;
    audit.role = rest::to_string(v->role);
    audit.action = "silence.expire";
    audit.target = "silence/" + params.at("id");
    caf::anon_send(manager, expire_atom_v, params.at("id"), audit, http_reply{std::move(respond)});
  });
  r.add("GET", "/api/maintenance", [config](const auto&, const auto&, auto respond) {
    auto cfg = config->get();
    respond(http::json_response(200, rest::maintenance_json(cfg->silences.maintenance_windows, wall_ms())));
  });
  r.add("GET", "/api/oncall", [config](const auto& req, const auto&, auto respond) {
    auto cfg = config->get();
    std::string detail;
    auto q = rest::parse_oncall_query(http::parse_query(req.raw_query), wall_ms(), &detail);
    if (!q) {
      respond(http::problem(400, "Invalid query", detail));
      return;
    }
    if (!q->schedule.empty()) {
      bool known = false;
      for (const auto& sch : cfg->oncall.schedules) known = known || sch.name == q->schedule;
      if (!known) {
        respond(http::problem(404, "No such schedule",
                              "there is no schedule \"" + q->schedule.substr(0, 80) + "\""));
        return;
      }
    }
    respond(http::json_response(200, rest::oncall_json(cfg->oncall, *q)));
  });
}

http::http_response text(int status, std::string body) {
  http::http_response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

}  // namespace

std::shared_ptr<http::router> make_api_router(api_settings s) {
  auto r = std::make_shared<http::router>();
  auto rt = s.rt;
  auto registry = s.registry;
  auto auth = s.auth;

  r->add("GET", "/health", [rt, version = s.version](const auto&, const auto&, auto respond) {
    bool db = rt->database_up.load();
    std::string body = "{\"status\":\"" + std::string(db ? "ok" : "degraded") +
                       "\",\"version\":\"" + http::json_escape(version) +
                       "\",\"database\":{\"reachable\":" + (db ? "true" : "false") +
                       "},\"ready\":" + (rt->ready.load() ? "true" : "false") + "}";
    respond(http::json_response(200, std::move(body)));
  });
  r->add("GET", "/-/healthy", [](const auto&, const auto&, auto respond) {
    respond(text(200, "Watchkeeper is Healthy.\n"));
  });
  r->add("GET", "/-/ready", [rt](const auto&, const auto&, auto respond) {
    if (rt->ready.load())
      respond(text(200, "Watchkeeper is Ready.\n"));
    else
      respond(text(503, "Watchkeeper is not ready.\n"));
  });
  r->add("GET", "/metrics", [rt](const auto&, const auto&, auto respond) {
    auto resp = text(200, rt->registry->render());
    resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
    respond(std::move(resp));
  });
  r->add("POST", "/-/reload", [auth, reload = s.reload](const auto& req, const auto&, auto respond) {
    if (!authorize(*auth, req, rest::access::admin, respond))
      return;
    auto outcome = reload();
    if (outcome.ok)
      respond(http::json_response(200, "{\"status\":\"reloaded\"}"));
    else
      respond(http::problem(400, "Configuration invalid; the running one is kept",
                            outcome.message));
  });
  r->add("GET", "/api/services", [registry](const auto& req, const auto&, auto respond) {
    caf::anon_send(registry, list_atom_v, req.raw_query, http_reply{std::move(respond)});
  });
  r->add("GET", "/api/services/{name}", [registry](const auto&, const auto& params, auto respond) {
    caf::anon_send(registry, show_atom_v, params.at("name"), http_reply{std::move(respond)});
  });
  r->add("POST", "/api/services", [registry, auth](const auto& req, const auto&, auto respond) {
    if (!authorize(*auth, req, rest::access::admin, respond))
      return;
    caf::anon_send(registry, upsert_atom_v, std::string(), req.body, true,
                   http_reply{std::move(respond)});
  });
  r->add("PUT", "/api/services/{name}",
         [registry, auth](const auto& req, const auto& params, auto respond) {
           if (!authorize(*auth, req, rest::access::admin, respond))
             return;
           caf::anon_send(registry, upsert_atom_v, params.at("name"), req.body, false,
                          http_reply{std::move(respond)});
         });
  r->add("DELETE", "/api/services/{name}",
         [registry, auth](const auto& req, const auto& params, auto respond) {
           if (!authorize(*auth, req, rest::access::admin, respond))
             return;
           caf::anon_send(registry, remove_atom_v, params.at("name"),
                          http_reply{std::move(respond)});
         });
  auto push = [registry, auth](const http::http_request& req, const http::route_params& params,
                               http::responder respond) {
    if (!authorize(*auth, req, rest::access::responder, respond))
      return;
    caf::anon_send(registry, push_atom_v, params.at("service"),
                   std::string(req.header_value("content-type")), req.body,
                   http_reply{std::move(respond)});
  };
  r->add("POST", "/api/metrics/{service}", push);
  r->add("PUT", "/api/metrics/{service}", push);

  r->add("GET", "/api/alerts", [alerts = s.alerts](const auto& req, const auto&, auto respond) {
    caf::anon_send(alerts, show_atom_v, req.raw_query, http_reply{std::move(respond)});
  });

  add_incident_routes(*r, s);

  r->add("GET", "/api/anomalies", [anomalies = s.anomalies](const auto& req, const auto&, auto respond) {
    caf::anon_send(anomalies, show_atom_v, req.raw_query, http_reply{std::move(respond)});
  });

  // Prometheus's HTTP API, read-only like the rest of GET.
  auto queries = s.queries;
  for (const char* endpoint : {"query", "query_range", "series", "labels"}) {
    auto h = [queries, endpoint](const http::http_request& req, const http::route_params&,
                                 http::responder respond) {
      caf::anon_send(queries->next(), query_atom_v, std::string(endpoint), req,
                     http_reply{std::move(respond)});
    };
    r->add("GET", std::string("/api/v1/") + endpoint, h);
    r->add("POST", std::string("/api/v1/") + endpoint, h);
  }
  r->add("GET", "/api/capacity", [store = s.predictions](const auto& req, const auto&, auto respond) {
    caf::anon_send(store, show_atom_v, req.raw_query, http_reply{std::move(respond)});
  });
  r->add("GET", "/api/predictions", [queries](const auto& req, const auto&, auto respond) {
    caf::anon_send(queries->next(), query_atom_v, std::string("predictions"), req,
                   http_reply{std::move(respond)});
  });
  r->add("GET", "/api/v1/label/{name}/values",
         [queries](const auto& req, const auto& params, auto respond) {
           caf::anon_send(queries->next(), query_atom_v,
                          "label/" + params.at("name") + "/values", req,
                          http_reply{std::move(respond)});
         });
  return r;
}

}  // namespace wk::actors
