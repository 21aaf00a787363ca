#include "actors/scraper.hpp"

#include <chrono>

#include <caf/all.hpp>

#include "telemetry/logging.hpp"
#include "watch/schedule.hpp"
#include "actors/live_metrics.hpp"
#include "watch/scrape_ingester.hpp"

namespace wk::actors {

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

const char* outcome_of(const net::fetch_result& r) {
  using failure = net::fetch_result::failure;
  switch (r.failure_kind) {
    case failure::timeout:
      return "timeout";
    case failure::too_large:
      return "body_too_large";
    case failure::connect:
    case failure::dns:
      return "connect_error";
    case failure::tls:
      return "tls_error";
    default:
      return "transport_error";
  }
}

std::string instance_of(const std::string& url) {
  auto start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  auto end = url.find_first_of("/?#", start);
  auto hostport = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (auto at = hostport.rfind('@'); at != std::string::npos)
    hostport = hostport.substr(at + 1);
  return hostport;
}

struct scraper_state {
  std::unique_ptr<watch::scrape_ingester> ingester;
  bool in_flight = false;
  std::int64_t started_ms = 0;
  std::chrono::steady_clock::time_point started;
  std::chrono::milliseconds offset{0};
  watch::scrape_status status;
};

}  // namespace

std::vector<std::pair<std::string, std::string>>
target_labels(const std::string& service, const std::string& url,
              const std::map<std::string, std::string>& extra) {
  std::vector<std::pair<std::string, std::string>> labels{
    {"instance", instance_of(url)}, {"job", service}, {"service", service}};
  for (const auto& [k, v] : extra)
    if (k != "instance" && k != "job" && k != "service")
      labels.emplace_back(k, v);
  return labels;
}

caf::behavior scraper(caf::event_based_actor* self, runtime_ptr rt, scraper_settings settings,
                      supervisor_actor parent) {
  auto st = std::make_shared<scraper_state>();
  auto log = telemetry::logger("scraper");
  watch::scrape_target target;
  target.labels = target_labels(settings.service, settings.spec.url, settings.service_labels);
  target.sample_limit = settings.spec.sample_limit;
  target.honor_labels = settings.spec.honor_labels;
  st->ingester = std::make_unique<watch::scrape_ingester>(*rt->head, std::move(target));
  st->status.configured = true;
  st->status.url = settings.spec.url;
  auto interval = settings.spec.interval;
  st->offset = settings.jitter ? watch::phase_offset(settings.service + settings.spec.url, interval)
                               : std::chrono::milliseconds(0);
  auto schedule_next = [=] {
    self->delayed_send(self, watch::until_next_tick(wall_ms(), interval, st->offset), tick_atom_v);
  };
  // The first scrape happens at once so a new service shows data immediately; then on the grid.
  self->send(self, tick_atom_v);
  self->attach_functor([st](const caf::error&) {
    // A target that stops being watched leaves no dangling "current" series behind.
    st->ingester->mark_all_stale(wall_ms());
  });
  return {
    [=](tick_atom) {
      schedule_next();
      if (st->in_flight)
        return;  // the previous scrape is still running: skip, never pile up
      st->in_flight = true;
      st->started_ms = wall_ms();
      st->started = std::chrono::steady_clock::now();
      net::fetch_request req;
      req.url = settings.spec.url;
      req.timeout = settings.spec.timeout;
      req.max_body_bytes = settings.spec.body_size_limit;
      req.headers.emplace_back(
        "Accept",
        "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1");
      req.headers.emplace_back("X-Prometheus-Scrape-Timeout-Seconds",
                               std::to_string(settings.spec.timeout.count() / 1000.0));
      auto handle = caf::actor_cast<caf::actor>(self);
      rt->fetcher->fetch(std::move(req), [handle](net::fetch_result r) {
        caf::anon_send(handle, fetched_atom_v, std::move(r));
      });
    },
    [=](fetched_atom, net::fetch_result& r) {
      // Metric children are looked up per scrape, not cached: a removed service's children are
      // deleted while this actor may still be draining its mailbox.
      auto& m = *rt->metrics;
      st->in_flight = false;
      auto seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - st->started).count();
      watch::scrape_outcome out;
      const char* outcome = "success";
      if (!r.transport_ok) {
        out.error = r.error;
        outcome = outcome_of(r);
      } else if (r.status < 200 || r.status > 299) {
        out.error = "server returned HTTP status " + std::to_string(r.status);
        outcome = "http_error";
      } else {
        out = st->ingester->ingest(r.body, r.content_type, st->started_ms);
        if (!out.ok) {
          bool limit = out.error.rfind("sample_limit", 0) == 0;
          outcome = limit ? "sample_limit" : "parse_error";
          if (!limit)
            m.parse_errors.with({settings.service}).inc();
        }
      }
      if (!out.ok)
        st->ingester->mark_all_stale(st->started_ms);
      st->ingester->write_report(out, seconds, st->started_ms);
      m.scrapes.with({settings.service, outcome}).inc();
      m.samples_ingested.get().inc(static_cast<double>(out.ok ? out.samples_scraped : 0) + 4);
      m.scrape_duration.get().observe(seconds);
      m.service_up.with({settings.service}).set(out.ok ? 1 : 0);
      auto& s = st->status;
      if (s.up != out.ok || s.scrapes == 0) {
        if (out.ok)
          log->info("scrape ok service={} samples={}", settings.service, out.samples_scraped);
        else
          log->warn("scrape failed service={} url={}: {}", settings.service, settings.spec.url,
                    out.error);
      }
      if (out.ok)
        publish_live_metrics(*rt, settings.service, st->started_ms);
      s.up = out.ok;
      s.last_scrape_ms = st->started_ms;
      s.last_duration_seconds = seconds;
      s.last_error = out.error;
      ++s.scrapes;
      if (out.ok) {
        s.samples_scraped = out.samples_scraped;
        s.series = out.samples_scraped;
      } else {
        ++s.failures;
      }
      self->send(parent, status_atom_v, s);
    },
  };
}

}  // namespace wk::actors
