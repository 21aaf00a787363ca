#include "actors/incident_stores.hpp"

#include <chrono>
#include <memory>
#include <optional>

#include <caf/all.hpp>

#include "actors/stores.hpp"
#include "persistence/alert_store.hpp"
#include "persistence/incident_store.hpp"
#include "persistence/silence_store.hpp"
#include "protocol/http/http_types.hpp"
#include "protocol/http/uri.hpp"
#include "protocol/rest/incident_json.hpp"
#include "telemetry/logging.hpp"

namespace wk::actors {
namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// One lazily opened connection of type Store, reopened after any failure.
template <typename Store>
class guarded {
 public:
  guarded(runtime_ptr rt, const char* area) : rt_(std::move(rt)), area_(area) {}

  // op(Store&) -> T; nullopt (and *error) when the database failed.
  template <typename Op>
  auto run(const char* what, Op&& op, std::string* error)
    -> std::optional<decltype(op(std::declval<Store&>()))> {
    if (!ensure_schema(*rt_, error)) {
      *error = "database unavailable: " + *error;
      return std::nullopt;
    }
    try {
      if (!store_) store_ = std::make_unique<Store>(rt_->database_url);
      return op(*store_);
    } catch (const std::exception& e) {
      store_.reset();
      rt_->metrics->db_errors.with({area_}).inc();
      telemetry::logger("store")->warn("{} failed: {}", what, e.what());
      *error = e.what();
      return std::nullopt;
    }
  }

 private:
  runtime_ptr rt_;
  const char* area_;
  std::unique_ptr<Store> store_;
};

http::http_response unavailable(const std::string& error) {
  return http::problem(503, "Database unavailable",
                       "incidents are kept in PostgreSQL, which cannot be read now: " + error);
}

// Group commit: how many queued changes one transaction takes at most.
constexpr std::size_t max_group_commit = 256;

struct pending_commit {
  incident_change_ptr change;
  caf::typed_response_promise<bool> promise;
};

rest::outbox_view view_of(const persistence::outbox_entry& e) {
  rest::outbox_view v;
  v.receiver = e.receiver;
  v.channel = e.channel;
  v.transition = e.transition;
  v.state = e.state;
  v.last_error = e.last_error;
  v.attempts = e.attempts;
  v.last_status = e.last_status;
  v.created_ms = e.created_ms;
  v.next_attempt_ms = e.state == "pending" ? e.next_attempt_ms : 0;
  v.delivered_ms = e.delivered_ms;
  return v;
}

}  // namespace

incident_store_actor::behavior_type incident_store(incident_store_actor::pointer self,
                                                   runtime_ptr rt) {
  auto pending = std::make_shared<std::vector<pending_commit>>();
  auto incidents = std::make_shared<guarded<persistence::incident_store>>(rt, "incidents");
  auto alerts = std::make_shared<guarded<persistence::alert_store>>(rt, "incidents");
  auto silences = std::make_shared<guarded<persistence::silence_store>>(rt, "incidents");
  auto failed = [](const std::string& error) {
    return caf::make_error(caf::sec::runtime_error, error);
  };
  return {
    [=](record_atom, const incident_change_ptr& change) -> caf::result<bool> {
      auto promise = self->make_response_promise<bool>();
      pending->push_back(pending_commit{change, promise});
      // The flush runs after every record already in the mailbox: they share one commit.
      if (pending->size() == 1) self->send(self, flush_atom_v);
      return promise;
    },
    [=](flush_atom) {
      if (pending->empty()) return;
      const std::size_t n = std::min(pending->size(), max_group_commit);
      std::vector<pending_commit> batch(std::make_move_iterator(pending->begin()),
                                        std::make_move_iterator(pending->begin() + n));
      pending->erase(pending->begin(), pending->begin() + n);
      if (!pending->empty()) self->send(self, flush_atom_v);
      std::vector<persistence::incident_change> changes;
      changes.reserve(batch.size());
      for (const auto& p : batch) changes.push_back(*p.change);
      std::string error;
      auto results = incidents->run("committing incident changes", [&](persistence::incident_store& s) {
        return s.commit_batch(changes);
      }, &error);
      for (std::size_t k = 0; k < batch.size(); ++k) {
        if (!results) {
          batch[k].promise.deliver(failed(error));
          continue;
        }
        const auto& r = (*results)[k];
        // A conflict or invalid change is an answer, not an outage: false, and the incident
        // actor drops it instead of retrying forever.
        if (r.state != persistence::commit_result::status::committed) {
          telemetry::logger("store")->error("incident {} not committed: {}",
                                            batch[k].change->incident.id, r.message);
        }
        batch[k].promise.deliver(r.state == persistence::commit_result::status::committed);
      }
    },
    [=](load_atom) -> caf::result<incident_snapshot_ptr> {
      auto snap = std::make_shared<incident_snapshot>();
      std::string error;
      auto open = incidents->run("loading open incidents", [&](persistence::incident_store& s) {
        snap->open = s.open_incidents();
        snap->max_id = s.max_id();
        return true;
      }, &error);
      if (!open) return failed(error);
      auto current = alerts->run("loading firing alerts", [&](persistence::alert_store& s) {
        for (auto& row : s.all_current()) {
          if (row.to_state == "firing") snap->firing.push_back(std::move(row));
        }
        return true;
      }, &error);
      if (!current) return failed(error);
      auto kept = silences->run("loading silences", [&](persistence::silence_store& s) {
        snap->silences = s.all(wall_ms());
        return true;
      }, &error);
      if (!kept) return failed(error);
      return incident_snapshot_ptr(std::move(snap));
    },
    [=](show_atom, std::int64_t id) -> caf::result<incident_ptr> {
      std::string error;
      auto found = incidents->run("reading an incident",
                                  [&](persistence::incident_store& s) { return s.get(id); }, &error);
      if (!found) return failed(error);
      if (!*found) return incident_ptr();
      return incident_ptr(std::make_shared<incidents::incident>(std::move(**found)));
    },
    [=](open_atom, const std::string& group_key, std::int64_t since_ms) -> caf::result<incident_ptr> {
      std::string error;
      auto found = incidents->run("looking for a recently resolved incident",
                                  [&](persistence::incident_store& s) {
                                    return s.last_resolved(group_key, since_ms);
                                  }, &error);
      if (!found) return failed(error);
      if (!*found) return incident_ptr();
      return incident_ptr(std::make_shared<incidents::incident>(std::move(**found)));
    },
    [=](list_atom, const std::string& raw_query, const http_reply& reply) {
      std::string detail;
      auto filter = rest::parse_incident_filter(http::parse_query(raw_query), &detail);
      if (!filter) {
        reply.respond(http::problem(400, "Invalid query", detail));
        return;
      }
      persistence::incident_query q;
      q.statuses = filter->statuses;
      q.service = filter->service;
      q.severity = filter->severity;
      q.since_ms = filter->since_ms;
      q.until_ms = filter->until_ms;
      q.limit = filter->limit;
      q.offset = filter->offset;
      std::string error;
      auto page = incidents->run("listing incidents",
                                 [&](persistence::incident_store& s) { return s.list(q); }, &error);
      if (!page) {
        reply.respond(unavailable(error));
        return;
      }
      reply.respond(http::json_response(
        200, rest::incident_list_json(page->incidents, page->total, q.limit, q.offset)));
    },
    [=](show_atom, std::int64_t id, const http_reply& reply) {
      std::string error;
      auto detail = incidents->run("reading an incident", [&](persistence::incident_store& s) {
        std::optional<std::string> json;
        if (auto i = s.get(id)) {
          std::vector<rest::outbox_view> views;
          for (const auto& e : s.outbox_for(id)) views.push_back(view_of(e));
          json = rest::incident_detail_json(*i, s.timeline(id), views);
        }
        return json;
      }, &error);
      if (!detail) {
        reply.respond(unavailable(error));
      } else if (!*detail) {
        reply.respond(http::problem(404, "No such incident",
                                    "there is no incident " + std::to_string(id)));
      } else {
        reply.respond(http::json_response(200, std::move(**detail)));
      }
    },
    [=](audit_atom, const std::string& raw_query, const http_reply& reply) {
      std::string detail;
      const auto q = rest::parse_audit_query(http::parse_query(raw_query), &detail);
      if (!q) {
        reply.respond(http::problem(400, "Invalid query", detail));
        return;
      }
      const std::size_t limit = q->limit, offset = q->offset;
      std::string error;
      std::size_t total = 0;
      auto entries = incidents->run("reading the audit log", [&](persistence::incident_store& s) {
        return s.audit_log(limit, offset, &total);
      }, &error);
      if (!entries) {
        reply.respond(unavailable(error));
        return;
      }
      std::vector<rest::audit_view> views;
      for (const auto& e : *entries) {
        views.push_back(rest::audit_view{e.at_ms, e.actor, e.role, e.action, e.target, e.detail});
      }
      reply.respond(http::json_response(200, rest::audit_json(views, total)));
    },
    [=](silence_atom, const silence_ptr& s, const persistence::audit_entry& audit) -> caf::result<bool> {
      std::string error;
      auto done = silences->run("saving a silence", [&](persistence::silence_store& store) {
        store.save(*s);
        return true;
      }, &error);
      if (!done) return failed(error);
      incidents->run("auditing a silence", [&](persistence::incident_store& store) {
        store.audit(audit);
        return true;
      }, &error);
      return true;
    },
    [=](expire_atom, const std::string& id, std::int64_t at_ms,
        const persistence::audit_entry& audit) -> caf::result<bool> {
      std::string error;
      auto done = silences->run("expiring a silence", [&](persistence::silence_store& store) {
        return store.expire(id, at_ms);
      }, &error);
      if (!done) return failed(error);
      if (*done) {
        incidents->run("auditing a silence", [&](persistence::incident_store& store) {
          store.audit(audit);
          return true;
        }, &error);
      }
      return *done;
    },
  };
}

outbox_store_actor::behavior_type outbox_store(outbox_store_actor::pointer, runtime_ptr rt) {
  auto outbox = std::make_shared<guarded<persistence::incident_store>>(rt, "outbox");
  auto failed = [](const std::string& error) {
    return caf::make_error(caf::sec::runtime_error, error);
  };
  return {
    [=](outbox_atom, std::int64_t now_ms) -> caf::result<outbox_batch_ptr> {
      std::string error;
      auto batch = outbox->run("reading due notifications", [&](persistence::incident_store& s) {
        auto b = std::make_shared<outbox_batch>();
        b->due = s.due_outbox(now_ms, 64);
        b->next_due_ms = s.next_outbox_due_ms().value_or(0);
        return b;
      }, &error);
      if (!batch) return failed(error);
      return outbox_batch_ptr(std::move(*batch));
    },
    [=](delivered_atom, std::int64_t id, std::int64_t at_ms, int status,
        const incidents::timeline_entry& entry) -> caf::result<bool> {
      std::string error;
      auto done = outbox->run("marking a notification delivered", [&](persistence::incident_store& s) {
        s.mark_delivered(id, at_ms, status, entry);
        return true;
      }, &error);
      if (!done) return failed(error);
      return true;
    },
    [=](deliver_atom, std::int64_t id, int attempts, std::int64_t next_ms, int status,
        const std::string& last_error) -> caf::result<bool> {
      std::string error;
      auto done = outbox->run("scheduling a notification retry", [&](persistence::incident_store& s) {
        s.mark_retry(id, attempts, next_ms, status, last_error);
        return true;
      }, &error);
      if (!done) return failed(error);
      return true;
    },
    [=](expire_atom, std::int64_t id, int attempts, int status, const std::string& last_error,
        const incidents::timeline_entry& entry) -> caf::result<bool> {
      std::string error;
      auto done = outbox->run("marking a notification failed", [&](persistence::incident_store& s) {
        s.mark_failed(id, attempts, status, last_error, entry);
        return true;
      }, &error);
      if (!done) return failed(error);
      return true;
    },
  };
}

}  // namespace wk::actors
