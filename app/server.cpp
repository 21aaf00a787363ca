#include "app/server.hpp"

#include <csignal>
#include <cstdlib>
#include <mutex>
#include <pthread.h>

#include <caf/all.hpp>

#include "actors/api.hpp"
#include "actors/registry.hpp"
#include "actors/stores.hpp"
#include "config/loader.hpp"
#include "persistence/migrations.hpp"
#include "protocol/gateway/gateway.hpp"
#include "telemetry/logging.hpp"

namespace wk::app {

namespace {

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
  auto registry = sys.spawn(actors::registry, rt, cfg, health, services);

  std::mutex reload_mutex;
  auto auth = std::make_shared<actors::auth_holder>(
    std::make_shared<const rest::token_authority>(cfg->auth.tokens));
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
    if (next->server.listen != current->server.listen || database_url(*next) != db_url)
      log->warn("server.listen and the database url change only on restart");
    telemetry::init_logging(std::string(config::to_string(next->logging.level)),
                            std::string(config::to_string(next->logging.format)));
    auth->set(std::make_shared<const rest::token_authority>(next->auth.tokens));
    caf::anon_send(registry, actors::reload_atom_v, actors::config_ptr(next));
    current = next;
    log->info("configuration reloaded from {} ({} services)", config_path,
              next->services.size());
    return {true, "reloaded"};
  };

  auto queries = std::make_shared<actors::query_pool>(sys, rt, 2);
  actors::api_settings api{rt, registry, queries, auth, reload, version};
  auto router = actors::make_api_router(api);
  const auto& host = cfg->server.listen.host;
  int port = cfg->server.listen.port;
  gateway::gateway_options gw_opts;
  gw_opts.bind_address = host;
  gw_opts.port = port;
  gw_opts.max_body_bytes = cfg->server.max_body_bytes;
  gateway::gateway gw(gw_opts, [router](http::http_request req, http::responder respond) {
    router->dispatch(req, std::move(respond));
  });
  std::string gw_error;
  int exit_code = 0;
  if (!gw.start(&gw_error)) {
    log->critical("cannot serve on {}: {}", cfg->server.listen.to_string(), gw_error);
    exit_code = 1;
  } else {
    caf::anon_send(registry, actors::reload_atom_v, actors::config_ptr(cfg));
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
  queries->stop();
  rt->fetcher.reset();
  log->info("stopped");
  return exit_code;
}

}  // namespace wk::app
