#include "actors/api.hpp"

#include <caf/all.hpp>


namespace wk::actors {

namespace {

// Answers 401/403 and returns false when the request lacks the role.
bool authorize(const auth_holder& auth, const http::http_request& req, rest::access need,
               const http::responder& respond) {
  auto authority = auth.get();
  if (authority->empty()) {
    respond(http::problem(403, "Writes disabled",
                          "no API tokens are configured (auth.tokens); writes are refused"));
    return false;
  }
  auto verdict = authority->check(http::bearer_token(req));
  if (verdict.role == rest::access::none) {
    auto resp = http::problem(401, "Unauthorized",
                              "this endpoint needs an 'Authorization: Bearer <token>' header with "
                              "a token of role " + std::string(rest::to_string(need)) +
                                " or higher");
    resp.headers.push_back({"www-authenticate", "Bearer realm=\"watchkeeper\""});
    respond(std::move(resp));
    return false;
  }
  if (!rest::allows(verdict.role, need)) {
    respond(http::problem(403, "Forbidden",
                          "token \"" + verdict.name + "\" has role " +
                            rest::to_string(verdict.role) + "; this endpoint needs " +
                            rest::to_string(need)));
    return false;
  }
  return true;
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
