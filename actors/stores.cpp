#include "actors/stores.hpp"

#include <memory>
#include <mutex>
#include <optional>

#include <caf/all.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/alert_entry.hpp"
#include "persistence/alert_store.hpp"
#include "persistence/anomaly_store.hpp"
#include "persistence/database.hpp"
#include "persistence/health_store.hpp"
#include "persistence/prediction_store.hpp"
#include "persistence/migrations.hpp"
#include "persistence/sample_writer.hpp"
#include "persistence/service_store.hpp"
#include "protocol/http/uri.hpp"
#include "protocol/rest/alert_json.hpp"
#include "protocol/rest/anomaly_json.hpp"
#include "protocol/rest/capacity_json.hpp"
#include "telemetry/logging.hpp"

namespace wk::actors {

namespace {

std::string labels_json(const tsdb::label_set& labels) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  for (const auto& l : labels.labels()) {
    if (l.name == "__name__")
      continue;
    w.Key(l.name.c_str(), static_cast<rapidjson::SizeType>(l.name.size()));
    w.String(l.value.c_str(), static_cast<rapidjson::SizeType>(l.value.size()));
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

}  // namespace

bool ensure_schema(runtime& rt, std::string* error) {
  static std::mutex schema_mutex;
  std::lock_guard<std::mutex> guard(schema_mutex);
  if (rt.schema_ready.load())
    return true;
  try {
    auto report = persistence::apply_migrations(rt.database_url);
    for (const auto& name : report.applied)
      telemetry::logger("store")->info("applied migration {}", name);
    rt.schema_ready = true;
    return true;
  } catch (const std::exception& e) {
    if (error)
      *error = e.what();
    return false;
  }
}

sample_store_actor::behavior_type sample_store(sample_store_actor::pointer self, runtime_ptr rt,
                                               sample_store_settings settings) {
  auto log = telemetry::logger("store");
  auto writer = std::make_shared<persistence::sample_writer>(
    rt->database_url, persistence::writer_options{settings.max_buffer_bytes});
  auto last_error = std::make_shared<std::string>();
  // One flush: hand the head's new samples to the writer, write, then apply retention. gc runs
  // after collection so retention never drops a sample that was not handed over.
  auto flush = [=]() -> bool {
    auto& m = *rt->metrics;
    auto chunks = rt->head->collect_unflushed();
    if (!chunks.empty()) {
      std::vector<persistence::chunk_record> records;
      records.reserve(chunks.size());
      for (auto& c : chunks)
        records.push_back({c.fingerprint, std::string(c.labels.get("__name__")),
                           labels_json(c.labels), c.min_t, c.max_t, c.count, std::move(c.data)});
      writer->enqueue(std::move(records));
    }
    rt->head->gc(wall_ms());
    auto before = writer->stats();
    std::string error;
    bool ok = ensure_schema(*rt, &error);
    if (ok && before.buffered_chunks > 0) {
      auto started = std::chrono::steady_clock::now();
      ok = writer->flush(&error);
      m.db_write_duration.get().observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    } else if (ok) {
      ok = persistence::ping(rt->database_url, &error);
    }
    auto after = writer->stats();
    m.samples_written.get().inc(static_cast<double>(after.written_samples - before.written_samples));
    m.samples_dropped.with({"write_buffer_full"})
      .inc(static_cast<double>(after.dropped_samples - before.dropped_samples));
    m.write_queue_bytes.get().set(static_cast<double>(after.buffered_bytes));
    m.write_queue_chunks.get().set(static_cast<double>(after.buffered_chunks));
    m.database_up.get().set(ok ? 1 : 0);
    if (!ok) {
      m.db_errors.with({"flush"}).inc();
      if (error != *last_error)
        log->error("database write failed (will retry, {} chunks buffered): {}",
                   after.buffered_chunks, error);
    } else if (!rt->database_up.load()) {
      log->info("database reachable");
    }
    *last_error = ok ? std::string() : error;
    rt->database_up = ok;
    return ok && after.buffered_chunks == 0;
  };
  self->delayed_send(self, settings.flush_interval, tick_atom_v);
  return {
    [=](tick_atom) {
      flush();
      self->delayed_send(self, settings.flush_interval, tick_atom_v);
    },
    [=](flush_atom) { return flush(); },
  };
}

health_store_actor::behavior_type health_store(health_store_actor::pointer self, runtime_ptr rt) {
  auto store = std::make_shared<std::unique_ptr<persistence::health_store>>();
  auto log = telemetry::logger("store");
  (void)self;
  return {
    [=](record_atom, const health_record& r) -> caf::result<std::int64_t> {
      std::string error;
      if (!ensure_schema(*rt, &error)) {
        rt->metrics->db_errors.with({"health"}).inc();
        return caf::make_error(caf::sec::runtime_error, "database unavailable: " + error);
      }
      try {
        if (!*store)
          *store = std::make_unique<persistence::health_store>(rt->database_url);
        return (*store)->record({r.service, r.check, r.from, r.to, r.reason, r.latency_ms, r.at_ms});
      } catch (const std::exception& e) {
        store->reset();  // reconnect next time
        rt->metrics->db_errors.with({"health"}).inc();
        log->warn("recording health transition service={} check={} failed: {}", r.service,
                  r.check, e.what());
        return caf::make_error(caf::sec::runtime_error, std::string(e.what()));
      }
    },
  };
}

alert_store_actor::behavior_type alert_store(alert_store_actor::pointer, runtime_ptr rt,
                                             caf::actor incident_sink) {
  auto store = std::make_shared<std::unique_ptr<persistence::alert_store>>();
  auto log = telemetry::logger("store");
  // Runs one store operation, reconnecting after a failure; nullopt (and *error) when it failed.
  auto attempt = [=](const char* what, auto&& op, std::string* error)
    -> std::optional<decltype(op(std::declval<persistence::alert_store&>()))> {
    if (!ensure_schema(*rt, error)) {
      *error = "database unavailable: " + *error;
      return std::nullopt;
    }
    try {
      if (!*store)
        *store = std::make_unique<persistence::alert_store>(rt->database_url);
      return op(**store);
    } catch (const std::exception& e) {
      store->reset();
      rt->metrics->db_errors.with({"alerts"}).inc();
      log->warn("{} failed: {}", what, e.what());
      *error = e.what();
      return std::nullopt;
    }
  };
  using rows = std::vector<persistence::alert_row>;
  return {
    [=](record_atom, const rows& transitions) -> caf::result<bool> {
      std::string error;
      auto done = attempt("recording alert transitions", [&](persistence::alert_store& s) {
        s.record(transitions);
        return true;
      }, &error);
      if (!done) return caf::make_error(caf::sec::runtime_error, error);
      if (incident_sink) caf::anon_send(incident_sink, record_atom_v, transitions);
      return true;
    },
    [=](list_atom, const std::string& scope) -> caf::result<rows> {
      std::string error;
      auto current = attempt("reading current alerts",
                             [&](persistence::alert_store& s) { return s.current(scope); }, &error);
      if (!current) return caf::make_error(caf::sec::runtime_error, error);
      return std::move(*current);
    },
    [=](show_atom, const std::string& raw_query, const http_reply& reply) {
      const auto filter = rest::parse_alert_filter(http::parse_query(raw_query));
      if (!filter.error.empty()) {
        reply.respond(http::problem(400, "Invalid query", filter.error));
        return;
      }
      std::string error;
      auto listed = attempt("listing alerts", [&](persistence::alert_store& s) {
        if (filter.state == "resolved") {
          persistence::alert_query q;
          q.service = filter.service;
          q.state = "inactive";
          q.limit = filter.limit;
          return s.history(q);
        }
        return s.all_current();
      }, &error);
      if (!listed) {
        reply.respond(http::problem(503, "Database unavailable",
                                    "alerts are kept in PostgreSQL, which cannot be read now: " + error));
        return;
      }
      std::vector<rest::alert_entry> entries;
      entries.reserve(listed->size());
      for (const auto& r : *listed) entries.push_back(alert_entry_of(r));
      reply.respond(http::json_response(200, rest::alerts_json(entries, filter)));
    },
  };
}

anomaly_store_actor::behavior_type anomaly_store(anomaly_store_actor::pointer, runtime_ptr rt) {
  auto store = std::make_shared<std::unique_ptr<persistence::anomaly_store>>();
  auto log = telemetry::logger("store");
  auto attempt = [=](const char* what, auto&& op, std::string* error) -> bool {
    if (!ensure_schema(*rt, error)) return false;
    try {
      if (!*store)
        *store = std::make_unique<persistence::anomaly_store>(rt->database_url);
      op(**store);
      return true;
    } catch (const std::exception& e) {
      store->reset();
      rt->metrics->db_errors.with({"anomalies"}).inc();
      log->warn("{} failed: {}", what, e.what());
      *error = e.what();
      return false;
    }
  };
  return {
    [=](record_atom, const std::vector<persistence::anomaly_row>& rows) {
      std::string error;
      attempt("recording anomalies", [&](persistence::anomaly_store& s) { s.record(rows); }, &error);
    },
    [=](show_atom, const std::string& raw_query, const http_reply& reply) {
      std::string service;
      std::int64_t since = 0;
      std::size_t limit = 100;
      for (const auto& [k, v] : http::parse_query(raw_query)) {
        const bool digits = !v.empty() && v.size() <= 15 && v.find_first_not_of("0123456789") == std::string::npos;
        if (k == "service") {
          service = v;
        } else if (k == "since_ms" && digits) {
          since = std::stoll(v);
        } else if (k == "limit" && digits && std::stoul(v) >= 1 && std::stoul(v) <= 10000) {
          limit = std::stoul(v);
        } else {
          reply.respond(http::problem(400, "Invalid query",
                                      "known parameters: service, since_ms (epoch ms), limit (1-10000); "
                                      "got \"" + k + "\" = \"" + v + "\""));
          return;
        }
      }
      std::vector<persistence::anomaly_row> rows;
      std::string error;
      if (!attempt("listing anomalies",
                   [&](persistence::anomaly_store& s) { rows = s.list(service, since, limit); }, &error)) {
        reply.respond(http::problem(503, "Database unavailable",
                                    "anomalies are kept in PostgreSQL, which cannot be read now: " + error));
        return;
      }
      std::vector<rest::anomaly_entry> entries;
      for (auto& r : rows)
        entries.push_back({std::move(r.service), std::move(r.metric), std::move(r.labels), r.value, r.score, r.at_ms});
      reply.respond(http::json_response(200, rest::anomalies_json(entries)));
    },
  };
}

prediction_store_actor::behavior_type prediction_store(prediction_store_actor::pointer,
                                                       runtime_ptr rt) {
  auto store = std::make_shared<std::unique_ptr<persistence::prediction_store>>();
  auto log = telemetry::logger("store");
  auto attempt = [=](const char* what, auto&& op, std::string* error) -> bool {
    if (!ensure_schema(*rt, error)) return false;
    try {
      if (!*store) *store = std::make_unique<persistence::prediction_store>(rt->database_url);
      op(**store);
      return true;
    } catch (const std::exception& e) {
      store->reset();
      rt->metrics->db_errors.with({"predictions"}).inc();
      log->warn("{} failed: {}", what, e.what());
      *error = e.what();
      return false;
    }
  };
  return {
    [=](record_atom, const std::vector<persistence::prediction_row>& rows) {
      std::string error;
      attempt("recording predictions", [&](persistence::prediction_store& s) { s.record(rows); }, &error);
    },
    [=](show_atom, const std::string& raw_query, const http_reply& reply) {
      std::string prediction;
      std::size_t limit = 1000;
      for (const auto& [k, v] : http::parse_query(raw_query)) {
        const bool digits = !v.empty() && v.size() <= 6 && v.find_first_not_of("0123456789") == std::string::npos;
        if (k == "prediction") {
          prediction = v;
        } else if (k == "limit" && digits && std::stoul(v) >= 1 && std::stoul(v) <= 10000) {
          limit = std::stoul(v);
        } else {
          reply.respond(http::problem(400, "Invalid query",
                                      "known parameters: prediction, limit (1-10000); got \"" + k +
                                        "\" = \"" + v + "\""));
          return;
        }
      }
      std::vector<persistence::prediction_row> rows;
      std::string error;
      if (!attempt("listing predictions",
                   [&](persistence::prediction_store& s) { rows = s.latest(prediction, limit); }, &error)) {
        reply.respond(http::problem(503, "Database unavailable",
                                    "predictions are kept in PostgreSQL, which cannot be read now: " + error));
        return;
      }
      std::vector<rest::capacity_view> views;
      for (auto& r : rows) {
        views.push_back(rest::capacity_view{std::move(r.prediction), std::move(r.labels),
                                            std::move(r.method), r.seconds_to_threshold,
                                            r.value_at_horizon, r.at_ms});
      }
      reply.respond(http::json_response(200, rest::capacity_json(views)));
    },
  };
}

service_store_actor::behavior_type service_store(service_store_actor::pointer self,
                                                 runtime_ptr rt) {
  auto store = std::make_shared<std::unique_ptr<persistence::service_store>>();
  (void)self;
  // Runs one store operation, reconnecting after a failure, turning exceptions into errors.
  auto guarded = [=](auto&& op) -> decltype(op(std::declval<persistence::service_store&>())) {
    std::string error;
    if (!ensure_schema(*rt, &error))
      return caf::make_error(caf::sec::runtime_error, "database unavailable: " + error);
    try {
      if (!*store)
        *store = std::make_unique<persistence::service_store>(rt->database_url);
      return op(**store);
    } catch (const std::exception& e) {
      store->reset();
      rt->metrics->db_errors.with({"services"}).inc();
      return caf::make_error(caf::sec::runtime_error, std::string(e.what()));
    }
  };
  return {
    [=](list_atom) -> caf::result<std::vector<persistence::stored_service>> {
      return guarded([](persistence::service_store& s)
                       -> caf::result<std::vector<persistence::stored_service>> { return s.list(); });
    },
    [=](upsert_atom, const persistence::stored_service& svc) -> caf::result<bool> {
      return guarded([&](persistence::service_store& s) -> caf::result<bool> {
        s.upsert(svc);
        return true;
      });
    },
    [=](remove_atom, const std::string& name) -> caf::result<bool> {
      return guarded(
        [&](persistence::service_store& s) -> caf::result<bool> { return s.remove(name); });
    },
  };
}

}  // namespace wk::actors
