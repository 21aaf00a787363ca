#include "actors/prober.hpp"

#include <chrono>
#include <cmath>

#include <caf/all.hpp>

#include "actors/live_metrics.hpp"
#include "telemetry/logging.hpp"
#include "watch/check_evaluation.hpp"
#include "watch/health_machine.hpp"
#include "watch/probe_recorder.hpp"
#include "watch/schedule.hpp"

namespace wk::actors {

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string transition_json(const health_record& r) {
  return "{\"service\":\"" + http::json_escape(r.service) + "\",\"check\":\"" +
         http::json_escape(r.check) + "\",\"from\":\"" + http::json_escape(r.from) +
         "\",\"to\":\"" + http::json_escape(r.to) + "\",\"reason\":\"" +
         http::json_escape(r.reason) + "\",\"latency_ms\":" +
         std::to_string(std::isfinite(r.latency_ms) ? r.latency_ms : 0.0) +
         ",\"at_ms\":" + std::to_string(r.at_ms) + "}";
}

struct prober_state {
  prober_state(const prober_settings& settings)
    : rules(settings.spec),
      machine(settings.spec.failure_threshold, settings.spec.success_threshold),
      series(settings.service, settings.spec.name, settings.service_labels) {
  }
  watch::check_rules rules;
  watch::health_machine machine;
  watch::probe_recorder series;
  bool in_flight = false;
  bool commit_in_flight = false;
  std::chrono::steady_clock::time_point started;
  watch::check_status status;  // state is the committed one
  std::string last_reason;
  double last_latency_ms = 0;
};

}  // namespace

caf::behavior prober(caf::event_based_actor* self, runtime_ptr rt, prober_settings settings,
                     supervisor_actor parent, health_store_actor store) {
  auto st = std::make_shared<prober_state>(settings);
  auto log = telemetry::logger("prober");
  const auto& spec = settings.spec;
  bool is_tcp = spec.type == config::health_check_spec::kind::tcp;
  st->status.name = spec.name;
  st->status.type = is_tcp ? "tcp" : "http";
  st->status.target = is_tcp ? spec.address.to_string() : spec.url;
  auto interval = spec.interval;
  auto offset = watch::phase_offset(settings.service + "/" + spec.name, interval);

  // Commits the machine's state if it differs from the committed one; retried on the next
  // probe when the database is unavailable, so a flap during an outage records the latest truth.
  auto commit = [=] {
    auto truth = st->machine.state();
    if (st->commit_in_flight || truth == st->status.state)
      return;
    st->commit_in_flight = true;
    health_record rec{settings.service, spec.name, watch::to_string(st->status.state),
                      watch::to_string(truth), st->last_reason, st->last_latency_ms, wall_ms()};
    self->request(store, std::chrono::seconds(10), record_atom_v, rec)
      .then(
        [=](std::int64_t) {
          st->commit_in_flight = false;
          auto& s = st->status;
          log->info("health service={} check={} {} -> {}: {}", rec.service, rec.check, rec.from,
                    rec.to, rec.reason);
          s.state = truth;
          s.since_ms = rec.at_ms;
          rt->metrics->health_transitions.with({rec.service, rec.check, rec.to}).inc();
          publish_event(*rt, "health", "check_transition", transition_json(rec), rec.at_ms);
          rt->metrics->service_health.with({rec.service, rec.check})
            .set(truth == watch::health_state::up ? 1 : 0);
          self->send(parent, status_atom_v, s);
          // The check may have flipped again while this change was being written.
          self->send(self, record_atom_v);
        },
        [=](caf::error& err) {
          st->commit_in_flight = false;
          log->warn("health service={} check={} change to {} not yet committed: {}",
                    rec.service, rec.check, rec.to, caf::to_string(err));
        });
  };

  auto finish = [=](const watch::check_observation& obs) {
    st->in_flight = false;
    const auto now = wall_ms();
    auto verdict = st->rules.evaluate(obs, now / 1000);
    watch::probe_result sample{verdict.ok, obs.latency_seconds, std::nullopt, verdict.tls_days_left};
    if (!is_tcp && obs.transport_ok) sample.http_status = obs.status;
    st->series.record(*rt->head, now, sample);
    publish_live_metrics(*rt, settings.service, now);
    st->last_reason = verdict.reason;
    st->last_latency_ms = obs.latency_seconds * 1000.0;
    rt->metrics->health_checks.with({settings.service, spec.name, verdict.ok ? "pass" : "fail"})
      .inc();
    st->machine.observe(verdict.ok, verdict.reason);
    auto& s = st->status;
    s.reason = verdict.reason;
    s.latency_ms = st->last_latency_ms;
    s.last_check_ms = now;
    s.tls_days_left = verdict.tls_days_left;
    commit();
    self->send(parent, status_atom_v, s);
  };

  self->send(self, tick_atom_v);
  return {
    [=](tick_atom) {
      self->delayed_send(self, watch::until_next_tick(wall_ms(), interval, offset), tick_atom_v);
      if (st->in_flight)
        return;
      st->in_flight = true;
      st->started = std::chrono::steady_clock::now();
      auto handle = caf::actor_cast<caf::actor>(self);
      if (is_tcp) {
        rt->fetcher->connect_tcp(spec.address.host, spec.address.port, spec.timeout, [handle](net::tcp_result r) {
          caf::anon_send(handle, fetched_atom_v, std::move(r));
        });
        return;
      }
      net::fetch_request req;
      req.url = spec.url;
      req.method = spec.method;
      req.timeout = spec.timeout;
      req.max_body_bytes = 1 << 20;
      req.want_tls_info = spec.url.rfind("https://", 0) == 0;
      req.verify_tls = spec.tls_verify;
      for (const auto& [k, v] : spec.headers)
        req.headers.emplace_back(k, v);
      rt->fetcher->fetch(std::move(req), [handle](net::fetch_result r) {
        caf::anon_send(handle, fetched_atom_v, std::move(r));
      });
    },
    [=](record_atom) { commit(); },
    [=](fetched_atom, net::fetch_result& r) {
      watch::check_observation obs;
      obs.transport_ok = r.transport_ok;
      obs.transport_error = r.error;
      obs.status = r.status;
      obs.body = std::move(r.body);
      obs.latency_seconds = r.total_seconds;
      obs.tls_not_after_unix = r.tls_not_after_unix;
      finish(obs);
    },
    [=](fetched_atom, net::tcp_result& r) {
      watch::check_observation obs;
      obs.transport_ok = r.ok;
      obs.transport_error = r.error;
      obs.latency_seconds = r.connect_seconds;
      finish(obs);
    },
  };
}

}  // namespace wk::actors
