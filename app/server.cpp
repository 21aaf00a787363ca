#include "app/server.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <pthread.h>
#include <unistd.h>

#include <caf/all.hpp>

#include "actors/api.hpp"
#include "actors/incident_manager.hpp"
#include "actors/incident_stores.hpp"
#include "actors/notifier.hpp"
#include "actors/predictor.hpp"
#include "actors/registry.hpp"
#include "actors/stores.hpp"
#include "config/loader.hpp"
#include "dashboard/asset_server.hpp"
#include "persistence/migrations.hpp"
#include "protocol/gateway/gateway.hpp"
#include "rules/catalog.hpp"
#include "telemetry/logging.hpp"

namespace wk::app {

namespace {

// The dashboard's built assets: $WATCHKEEPER_WEB_DIR, else beside the binary in a build tree
// (build/app/watchkeeper -> build/web/dist), else the installed share/watchkeeper/web.
std::string web_root() {
  if (const char* env = std::getenv("WATCHKEEPER_WEB_DIR"); env && *env)
    return env;
  char exe[4096];
  const auto n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return "/usr/local/share/watchkeeper/web";
  std::string dir(exe, static_cast<std::size_t>(n));
  dir = dir.substr(0, dir.find_last_of('/'));
  const std::string parent = dir.substr(0, dir.find_last_of('/'));
  for (const auto& candidate : {parent + "/web/dist", parent + "/share/watchkeeper/web"}) {
    if (access((candidate + "/index.html").c_str(), R_OK) == 0)
      return candidate;
  }
  return parent + "/share/watchkeeper/web";
}

std::string database_url(const config::watchkeeper_config& cfg) {
  if (const char* env = std::getenv("WATCHKEEPER_DATABASE_URL"); env && *env)
    return env;
  return cfg.database.url;
}

}  // namespace

int serve(const std::string& config_path, const std::string& version) {
  auto loaded = config::load_config_file(config_path);
  if (!loaded.config) {
    std::fprintf(stderr, "%s", config::config_error_report(loaded.errors).c_str());
    std::fprintf(stderr, "watchkeeper: configuration %s is invalid; not starting\n",
                 config_path.c_str());
    return 2;
  }
  auto cfg = std::make_shared<const config::watchkeeper_config>(std::move(*loaded.config));
  auto first_catalog = rules::load_catalog(*cfg);
  if (!first_catalog.errors.empty()) {
    for (const auto& e : first_catalog.errors) std::fprintf(stderr, "%s\n", e.c_str());
    std::fprintf(stderr, "watchkeeper: rule files named by %s are invalid; not starting\n",
                 config_path.c_str());
    return 2;
  }
  auto catalog = std::make_shared<const rules::catalog>(std::move(first_catalog));
  telemetry::init_logging(std::string(config::to_string(cfg->logging.level)),
                          std::string(config::to_string(cfg->logging.format)));
  auto log = telemetry::logger("main");
  auto db_url = database_url(*cfg);
  if (db_url.empty()) {
    log->critical("no database configured: set WATCHKEEPER_DATABASE_URL or database.url "
                  "(scripts/run.sh starts a private PostgreSQL for you)");
    return 2;
  }

  // Signals are taken synchronously by this thread; every thread spawned later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto rt = std::make_shared<actors::runtime>();
  rt->database_url = db_url;
  rt->registry = std::make_shared<telemetry::metrics_registry>();
  rt->metrics = std::make_shared<telemetry::watchkeeper_metrics>(*rt->registry);
  rt->metrics->build_info.with({version}).set(1);
  tsdb::head_options head_opts;
  head_opts.retention_ms = cfg->storage.retention.count();
  head_opts.shards = cfg->storage.shards;
  rt->head = std::make_shared<tsdb::head>(head_opts);
  rt->fetcher = std::make_shared<net::http_fetcher>();
  rt->events = std::make_shared<events::event_hub>();
  rt->registry->add_callback_gauge("watchkeeper_head_series", "Series in the in-memory head.",
                                   [head = rt->head] { return double(head->stats().series); });
  rt->registry->add_callback_gauge("watchkeeper_head_samples", "Samples in the in-memory head.",
                                   [head = rt->head] { return double(head->stats().samples); });
  rt->registry->add_callback_gauge(
    "watchkeeper_head_memory_bytes", "Estimated memory of the in-memory head.",
    [head = rt->head] { return double(head->stats().memory_bytes); });

  std::string schema_error;
  if (actors::ensure_schema(*rt, &schema_error)) {
    rt->database_up = true;
    log->info("database ready");
  } else {
    log->error("database unavailable at start ({}); watching anyway, writes are buffered",
               schema_error);
  }

  caf::actor_system_config sys_cfg;
  sys_cfg.set("scheduler.max-threads", std::max(2u, std::thread::hardware_concurrency()));
  // Work sharing blocks idle workers on a condition variable. CAF's default work stealing polls
  // with 50 us sleeps between messages, which cost 25x the ingest budget in CPU (bench/ingest).
  sys_cfg.set("scheduler.policy", caf::atom("sharing"));
  sys_cfg.add_message_types<caf::id_block::wk>();
  caf::actor_system sys{sys_cfg};

  actors::sample_store_settings store_settings;
  store_settings.flush_interval = cfg->database.flush_interval;
  store_settings.max_buffer_bytes = cfg->database.max_buffer_bytes;
  auto samples = sys.spawn<caf::detached>(actors::sample_store, rt, store_settings);
  auto health = sys.spawn<caf::detached>(actors::health_store, rt);
  auto services = sys.spawn<caf::detached>(actors::service_store, rt);
  auto incident_store = sys.spawn<caf::detached>(actors::incident_store, rt);
  auto outbox_store = sys.spawn<caf::detached>(actors::outbox_store, rt);
  auto notifier = actors::make_notifier(sys, rt, cfg, outbox_store);
  auto incidents = actors::make_incident_manager(sys, rt, cfg, incident_store, notifier);
  // Committed alert transitions go on to the incident manager.
  auto alerts = sys.spawn<caf::detached>(actors::alert_store, rt,
                                         caf::actor_cast<caf::actor>(incidents));
  auto anomalies = sys.spawn<caf::detached>(actors::anomaly_store, rt);
  auto registry = sys.spawn(actors::registry, rt, cfg, health, services, alerts, anomalies);
  auto predictions = sys.spawn<caf::detached>(actors::prediction_store, rt);
  auto predictor = sys.spawn<caf::detached>(actors::predictor, rt, actors::config_ptr(cfg), predictions);

  std::mutex reload_mutex;
  auto auth = std::make_shared<actors::auth_holder>(
    std::make_shared<const rest::token_authority>(cfg->auth.tokens));
  auto config_now = std::make_shared<actors::config_holder>(cfg);
  auto current = cfg;
  auto reload = [&]() -> actors::reload_outcome {
    std::lock_guard<std::mutex> guard(reload_mutex);
    auto again = config::load_config_file(config_path);
    if (!again.config) {
      auto report = config::config_error_report(again.errors);
      log->error("reload refused, keeping the running configuration:\n{}", report);
      return {false, report};
    }
    auto next = std::make_shared<const config::watchkeeper_config>(std::move(*again.config));
    auto next_catalog = rules::load_catalog(*next);
    if (!next_catalog.errors.empty()) {
      std::string report;
      for (const auto& e : next_catalog.errors) report += e + "\n";
      log->error("reload refused, keeping the running configuration: rule files are invalid:\n{}",
                 report);
      return {false, report};
    }
    if (next->server.listen != current->server.listen || database_url(*next) != db_url)
      log->warn("server.listen and the database url change only on restart");
    telemetry::init_logging(std::string(config::to_string(next->logging.level)),
                            std::string(config::to_string(next->logging.format)));
    auth->set(std::make_shared<const rest::token_authority>(next->auth.tokens));
    caf::anon_send(registry, actors::reload_atom_v, actors::config_ptr(next),
                   actors::catalog_ptr(std::make_shared<const rules::catalog>(std::move(next_catalog))));
    caf::anon_send(incidents, actors::reload_atom_v, actors::config_ptr(next));
    caf::anon_send(notifier, actors::reload_atom_v, actors::config_ptr(next));
    caf::anon_send(predictor, actors::reload_atom_v, actors::config_ptr(next));
    config_now->set(next);
    current = next;
    log->info("configuration reloaded from {} ({} services)", config_path,
              next->services.size());
    return {true, "reloaded"};
  };

  auto queries = std::make_shared<actors::query_pool>(sys, rt, 2);
  actors::api_settings api;
  api.rt = rt;
  api.registry = registry;
  api.queries = queries;
  api.alerts = alerts;
  api.anomalies = anomalies;
  api.incidents = incidents;
  api.incident_store = incident_store;
  api.predictions = predictions;
  api.auth = auth;
  api.config = config_now;
  api.reload = reload;
  api.version = version;
  auto router = actors::make_api_router(api);
  const auto& host = cfg->server.listen.host;
  int port = cfg->server.listen.port;
  gateway::gateway_options gw_opts;
  gw_opts.bind_address = host;
  gw_opts.port = port;
  gw_opts.max_body_bytes = cfg->server.max_body_bytes;
  // Fanning one event out to thousands of WebSocket clients is send()-bound: spread it over
  // the cores.
  gw_opts.service_threads =
    cfg->server.service_threads > 0
      ? static_cast<std::size_t>(cfg->server.service_threads)
      : std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
  gw_opts.websocket.hub = rt->events;
  gw_opts.websocket.allowed_origins = cfg->server.allowed_origins;
  // Viewer is enough to watch; with no tokens configured the WebSocket is open like GET.
  gw_opts.websocket.authorize = [auth](std::string_view token) {
    auto authority = auth->get();
    return authority->empty() || authority->check(token).role != rest::access::none;
  };
  auto assets = std::make_shared<dashboard::asset_server>(web_root());
  if (!assets->available())
    log->warn("dashboard assets not found in {} ({}); /dashboard answers 404",
              assets->root_dir(), assets->load_error());
  gateway::gateway gw(gw_opts, [router, assets](http::http_request req, http::responder respond) {
    if (req.path == "/dashboard" || req.path.rfind("/dashboard/", 0) == 0) {
      respond(assets->serve(req));
      return;
    }
    // "/" and the incident links notifications carry (<external_url>/incidents/<id>) open
    // the dashboard.
    if (req.path == "/" || req.path.rfind("/incidents/", 0) == 0) {
      http::http_response r;
      r.status = 302;
      r.content_type.clear();
      std::string where = "/dashboard/";
      if (req.path != "/") {
        const auto id = req.path.substr(std::string("/incidents/").size());
        if (!id.empty() && id.size() <= 15 && id.find_first_not_of("0123456789") == std::string::npos)
          where += "#incident-" + id;
      }
      r.headers.push_back({"location", where});
      respond(std::move(r));
      return;
    }
    router->dispatch(req, std::move(respond));
  });
  std::string gw_error;
  int exit_code = 0;
  if (!gw.start(&gw_error)) {
    log->critical("cannot serve on {}: {}", cfg->server.listen.to_string(), gw_error);
    exit_code = 1;
  } else {
    caf::anon_send(registry, actors::reload_atom_v, actors::config_ptr(cfg),
                   actors::catalog_ptr(catalog));
    rt->ready = true;
    log->info("watchkeeper {} serving on {}:{} with {} configured services", version, host,
              gw.port(), cfg->services.size());
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0)
        continue;
      if (sig == SIGHUP) {
        reload();
        continue;
      }
      log->info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
  }

  // Graceful shutdown: stop taking requests, stop watching, write every buffered sample.
  rt->ready = false;
  gw.stop();
  caf::scoped_actor self{sys};
  self->request(registry, std::chrono::seconds(10), actors::shutdown_atom_v)
    .receive([](bool) {},
             [&](caf::error& e) { log->warn("stopping services: {}", caf::to_string(e)); });
  self->request(samples, std::chrono::seconds(60), actors::flush_atom_v)
    .receive(
      [&](bool complete) {
        if (complete)
          log->info("all samples written");
        else
          log->error("database unavailable at shutdown: buffered samples were not written");
      },
      [&](caf::error& e) { log->error("final flush failed: {}", caf::to_string(e)); });
  self->send_exit(registry, caf::exit_reason::user_shutdown);
  self->send_exit(samples, caf::exit_reason::user_shutdown);
  self->send_exit(health, caf::exit_reason::user_shutdown);
  self->send_exit(services, caf::exit_reason::user_shutdown);
  self->send_exit(alerts, caf::exit_reason::user_shutdown);
  self->send_exit(anomalies, caf::exit_reason::user_shutdown);
  self->send_exit(incidents, caf::exit_reason::user_shutdown);
  self->send_exit(notifier, caf::exit_reason::user_shutdown);
  self->send_exit(predictor, caf::exit_reason::user_shutdown);
  self->send_exit(predictions, caf::exit_reason::user_shutdown);
  self->send_exit(incident_store, caf::exit_reason::user_shutdown);
  self->send_exit(outbox_store, caf::exit_reason::user_shutdown);
  queries->stop();
  rt->fetcher.reset();
  log->info("stopped");
  return exit_code;
}

}  // namespace wk::app
