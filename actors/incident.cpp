#include "actors/incident.hpp"

#include <algorithm>
#include <chrono>
#include <deque>

#include <caf/all.hpp>

#include "incidents/dispatch.hpp"
#include "notify/route_tree.hpp"
#include "oncall/escalation.hpp"
#include "protocol/http/http_types.hpp"
#include "protocol/rest/incident_json.hpp"
#include "telemetry/logging.hpp"

namespace wk::actors {
namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// A held trigger (silenced, in maintenance, or waiting for group_wait) is looked at again this
// often, so it goes out soon after the silence ends.
constexpr std::chrono::seconds held_recheck{2};

struct pending_commit {
  incident_change_ptr change;
  std::optional<http_reply> reply;
  int reply_status = 200;
  bool opened = false;  // the incident's first commit
};

struct incident_state {
  incidents::incident i;
  incident_context_ptr ctx;
  std::deque<pending_commit> queue;
  bool commit_in_flight = false;
  bool committed_once = false;
  bool trigger_held = false;
  bool recheck_scheduled = false;
  std::int64_t held_since_ms = 0;  // group_wait runs from here
  bool group_wait_passed = false;
  std::int64_t escalation_timer_ms = 0;  // when the escalate message is due; 0 = none
  std::int64_t reminders_sent = 0;       // in this paging cycle (from escalation_started_ms)
  // Alerts joined or resolved since receivers last heard: an update goes out at most once
  // per group_interval after the last notification.
  bool alerts_changed = false;
  std::int64_t last_notified_ms = 0;
  // The manager has stopped sending this resolved incident anything: quit once idle.
  bool retired = false;
};

const oncall::escalation_policy* find_policy(const incident_context& ctx, const std::string& name) {
  if (name.empty()) return nullptr;
  for (const auto& p : ctx.oncall.escalation_policies) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

incidents::timeline_entry note(const incidents::incident& i, std::int64_t at_ms, std::string kind,
                               std::string text, std::map<std::string, std::string> detail = {}) {
  incidents::timeline_entry t;
  t.incident_id = i.id;
  t.at_ms = at_ms;
  t.kind = std::move(kind);
  t.actor = "system";
  t.text = std::move(text);
  t.detail = std::move(detail);
  return t;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

caf::behavior incident_actor(caf::event_based_actor* self, runtime_ptr rt, incident_start start,
                             incident_context_ptr context, incident_store_actor store,
                             notifier_actor notifier, caf::actor manager) {
  auto log = telemetry::logger("incidents");
  auto st = std::make_shared<incident_state>();
  st->i = std::move(start.initial);
  st->ctx = std::move(context);

  auto directory = [st] {
    incidents::directory d;
    d.notifications = &st->ctx->notifications;
    d.oncall = &st->ctx->oncall;
    d.external_url = st->ctx->external_url;
    return d;
  };

  // Renders one transition for each receiver key into the outbox list.
  auto render_all = [st, directory, log](const std::vector<std::string>& keys,
                                         const std::string& transition, const std::string& note_text,
                                         std::int64_t now,
                                         std::vector<persistence::outbox_entry>& outbox,
                                         std::vector<incidents::timeline_entry>& timeline,
                                         std::int64_t sequence = 0) {
    const auto d = directory();
    for (const auto& key : keys) {
      std::string error;
      auto out = incidents::render(st->i, key, transition, note_text, d, now, &error, sequence);
      if (!out) {
        timeline.push_back(note(st->i, now, "notification_failed", error, {{"receiver", key}}));
        log->warn("incident {}: {}", st->i.id, error);
        continue;
      }
      persistence::outbox_entry e;
      e.incident_id = st->i.id;
      e.receiver = out->receiver;
      e.channel = out->channel;
      e.transition = out->transition;
      e.dedup_key = out->dedup_key;
      e.delivery_key = out->delivery_key;
      e.target = out->target;
      e.body = std::move(out->body);
      e.created_ms = e.next_attempt_ms = now;
      outbox.push_back(std::move(e));
    }
  };

  // The first page of a triggered incident: route receivers plus escalation level 0, unless a
  // silence, a maintenance window or group_wait holds it back.
  auto plan_trigger = [st, render_all](std::int64_t now,
                                       std::vector<persistence::outbox_entry>& outbox,
                                       std::vector<incidents::timeline_entry>& timeline) {
    auto& i = st->i;
    const auto& ctx = *st->ctx;
    if (auto why = incidents::suppression(i, ctx.silences, ctx.windows, now)) {
      if (!st->trigger_held) {
        timeline.push_back(note(i, now, "suppressed", "notifications held back: " + *why));
      }
      st->trigger_held = true;
      return;
    }
    const std::int64_t wait = incidents::group_wait_ms(i, ctx.notifications);
    if (wait > 0 && !st->group_wait_passed) {
      if (st->held_since_ms == 0) st->held_since_ms = now;
      if (now < st->held_since_ms + wait) {
        st->trigger_held = true;
        return;
      }
    }
    st->group_wait_passed = true;
    st->held_since_ms = 0;
    st->trigger_held = false;
    auto keys = incidents::route_receivers(i, ctx.notifications);
    i.escalation_started_ms = now;
    st->reminders_sent = 0;
    i.escalated.clear();
    if (const auto* policy = find_policy(ctx, i.escalation_policy)) {
      auto plan = oncall::plan_escalation(*policy, now, std::nullopt, now);
      for (const auto& due : plan.due) {
        std::vector<std::string> unreached;
        for (auto& key : incidents::level_receivers(policy->levels[due.level], ctx.oncall, now,
                                                    &unreached)) {
          if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
        }
        for (const auto& u : unreached) timeline.push_back(note(i, now, "escalated", u));
        i.escalated.emplace_back(static_cast<int>(due.level), due.repetition);
      }
    }
    render_all(keys, "triggered", "", now, outbox, timeline);
    i.notified_receivers = keys;
    st->alerts_changed = false;
    st->last_notified_ms = now;
  };

  auto pump_ptr = std::make_shared<std::function<void()>>();
  auto schedule_ptr = std::make_shared<std::function<void()>>();

  auto queue_commit = [=](std::vector<incidents::timeline_entry> timeline,
                          std::vector<persistence::outbox_entry> outbox,
                          std::optional<persistence::audit_entry> audit,
                          std::optional<http_reply> reply, int reply_status, bool opened) {
    auto change = std::make_shared<persistence::incident_change>();
    change->incident = st->i;
    change->timeline = std::move(timeline);
    change->outbox = std::move(outbox);
    change->audit = std::move(audit);
    st->queue.push_back(pending_commit{std::move(change), std::move(reply), reply_status, opened});
    (*pump_ptr)();
    (*schedule_ptr)();
  };

  // Applies a change: plans its notifications, then queues the commit.
  auto process = [=](incidents::change c, std::optional<persistence::audit_entry> audit,
                     std::optional<http_reply> reply, int reply_status, bool opened) {
    auto& i = st->i;
    if (!c.refused.empty()) {
      if (reply) reply->respond(http::problem(409, "Impossible transition", c.refused));
      return;
    }
    if (!c.changed && c.notify.empty()) {
      if (reply) reply->respond(http::json_response(reply_status, rest::incident_json(i)));
      return;
    }
    const std::int64_t now = wall_ms();
    ++i.version;
    if (c.notify.empty() && !i.notified_receivers.empty() && i.state != incidents::status::resolved) {
      for (const auto& t : c.timeline) {
        if (t.kind == "alert_joined" || t.kind == "alert_resolved") st->alerts_changed = true;
      }
    }
    std::vector<persistence::outbox_entry> outbox;
    for (const auto& transition : c.notify) {
      if (transition == "triggered") {
        plan_trigger(now, outbox, c.timeline);
      } else {
        st->trigger_held = false;
        std::string note_text;
        for (const auto& t : c.timeline) {
          auto it = t.detail.find("note");
          if (it != t.detail.end()) note_text = it->second;
        }
        render_all(i.notified_receivers, transition, note_text, now, outbox, c.timeline);
      }
    }
    queue_commit(std::move(c.timeline), std::move(outbox), std::move(audit), std::move(reply),
                 reply_status, opened);
  };

  *pump_ptr = [=] {
    if (st->commit_in_flight || st->queue.empty()) return;
    st->commit_in_flight = true;
    auto change = st->queue.front().change;
    self->request(store, std::chrono::seconds(15), record_atom_v, change)
      .then(
        [=](bool committed_ok) {
          st->commit_in_flight = false;
          auto done = std::move(st->queue.front());
          st->queue.pop_front();
          if (!committed_ok) {
            // Another writer holds this group or version: the database is the truth, this
            // change is dropped rather than retried forever.
            log->error("incident {}: change refused by the database (conflict); dropped", st->i.id);
            if (done.reply)
              done.reply->respond(http::problem(409, "Conflict",
                                                "the incident was changed elsewhere; reload it"));
            (*pump_ptr)();
            return;
          }
          const auto& committed = done.change->incident;
          auto json = rest::incident_json(committed);
          const char* kind = committed.state == incidents::status::resolved ? "incident_resolved"
                             : !st->committed_once                          ? "incident_opened"
                                                                            : "incident_updated";
          st->committed_once = true;
          rt->metrics->incident_transitions.with({std::string(incidents::to_string(committed.state))}).inc();
          publish_event(*rt, "incidents", kind, json, committed.updated_at_ms);
          if (done.reply) done.reply->respond(http::json_response(done.reply_status, json));
          if (!done.change->outbox.empty()) caf::anon_send(notifier, wake_atom_v);
          if (st->queue.empty()) {
            if (committed.state == incidents::status::resolved) {
              std::vector<routed_alert> orphans;
              for (const auto* a : incidents::orphaned_related(committed)) {
                incidents::alert_event e;
                e.fingerprint = a->fingerprint;
                e.alertname = a->alertname;
                e.service = a->service;
                e.labels = a->labels;
                e.annotations = a->annotations;
                e.value = a->value;
                e.starts_at_ms = a->starts_at_ms;
                e.at_ms = committed.resolved_at_ms;
                orphans.push_back(routed_alert{std::move(e), false});
              }
              self->send(manager, resolved_atom_v, committed.id, committed.group_key,
                         std::move(orphans));
            } else if (done.opened || committed.reopen_count > 0) {
              self->send(manager, open_atom_v, committed.id, committed.group_key);
            }
          }
          if (st->retired && st->queue.empty()) {
            self->quit();
            return;
          }
          (*pump_ptr)();
        },
        [=](caf::error& err) {
          st->commit_in_flight = false;
          auto& head = st->queue.front();
          log->warn("incident {}: change not yet committed ({} queued), retrying: {}", st->i.id,
                    st->queue.size(), caf::to_string(err));
          if (head.reply) {
            // Accepted, not yet durable: the change stays queued and is committed (and only
            // then announced) when PostgreSQL answers again. 202 says exactly that, so the
            // client does not repeat it.
            auto resp = http::json_response(202, rest::incident_json(head.change->incident));
            resp.headers.push_back({"warning", "199 watchkeeper \"accepted; not yet committed: database unavailable\""});
            head.reply->respond(std::move(resp));
            head.reply.reset();
          }
          self->delayed_send(self, std::chrono::seconds(1), record_atom_v);
        });
  };

  // Arms the one timer the incident needs: a held trigger's recheck or the next escalation.
  *schedule_ptr = [=] {
    const auto& i = st->i;
    if (st->trigger_held && i.state == incidents::status::triggered) {
      if (!st->recheck_scheduled) {
        st->recheck_scheduled = true;
        auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(held_recheck);
        if (!st->group_wait_passed && st->held_since_ms != 0) {
          const auto wait = incidents::group_wait_ms(i, st->ctx->notifications);
          delay = std::min(delay, std::chrono::milliseconds(
                                    std::max<std::int64_t>(st->held_since_ms + wait - wall_ms(), 0)));
        }
        self->delayed_send(self, delay, escalate_atom_v);
      }
      return;
    }
    const std::int64_t now = wall_ms();
    std::int64_t next = 0;
    auto earliest = [&next](std::int64_t at) {
      if (at != 0 && (next == 0 || at < next)) next = at;
    };
    // An update about alerts that joined or resolved, once group_interval has passed.
    if (st->alerts_changed && i.state != incidents::status::resolved) {
      earliest(std::max(now, st->last_notified_ms +
                               incidents::group_interval_ms(i, st->ctx->notifications)));
    }
    if (i.state == incidents::status::triggered && i.escalation_started_ms != 0) {
      if (const auto* policy = find_policy(*st->ctx, i.escalation_policy)) {
        auto plan = oncall::plan_escalation(*policy, i.escalation_started_ms, std::nullopt, now);
        earliest(plan.next_due_ms.value_or(0));
        for (const auto& due : plan.due) {
          const std::pair<int, int> key{static_cast<int>(due.level), due.repetition};
          if (std::find(i.escalated.begin(), i.escalated.end(), key) == i.escalated.end())
            earliest(now);
        }
      }
      // Reminders: every repeat_interval while nobody acknowledges.
      const auto repeat = incidents::repeat_interval_ms(i, st->ctx->notifications);
      if (repeat > 0 && !i.notified_receivers.empty())
        earliest(i.escalation_started_ms + (st->reminders_sent + 1) * repeat);
    }
    if (next == 0 || (st->escalation_timer_ms != 0 && st->escalation_timer_ms <= next)) return;
    st->escalation_timer_ms = next;
    self->delayed_send(self, std::chrono::milliseconds(std::max<std::int64_t>(next - now, 0)),
                       escalate_atom_v);
  };

  auto escalate = [=] {
    st->recheck_scheduled = false;
    st->escalation_timer_ms = 0;
    auto& i = st->i;
    const std::int64_t now = wall_ms();
    std::vector<persistence::outbox_entry> updates;
    std::vector<incidents::timeline_entry> update_notes;
    if (st->alerts_changed && i.state != incidents::status::resolved && !i.notified_receivers.empty() &&
        now >= st->last_notified_ms + incidents::group_interval_ms(i, st->ctx->notifications)) {
      st->alerts_changed = false;
      st->last_notified_ms = now;
      ++i.version;
      render_all(i.notified_receivers, "updated", "", now, updates, update_notes, now);
    }
    if (i.state != incidents::status::triggered) {
      if (!updates.empty() || !update_notes.empty()) {
        queue_commit(std::move(update_notes), std::move(updates), std::nullopt, std::nullopt, 200, false);
      } else {
        (*schedule_ptr)();
      }
      return;
    }
    if (st->trigger_held) {
      std::vector<persistence::outbox_entry> outbox;
      std::vector<incidents::timeline_entry> timeline;
      ++i.version;
      plan_trigger(now, outbox, timeline);
      if (st->trigger_held) {
        --i.version;  // still held: nothing to commit
        (*schedule_ptr)();
        return;
      }
      queue_commit(std::move(timeline), std::move(outbox), std::nullopt, std::nullopt, 200, false);
      return;
    }
    if (i.escalation_started_ms == 0) return;
    if (incidents::suppression(i, st->ctx->silences, st->ctx->windows, now)) {
      self->delayed_send(self, held_recheck, escalate_atom_v);
      st->recheck_scheduled = true;
      return;
    }
    std::vector<persistence::outbox_entry> reminders = std::move(updates);
    std::vector<incidents::timeline_entry> reminder_notes = std::move(update_notes);
    const auto repeat = incidents::repeat_interval_ms(i, st->ctx->notifications);
    if (repeat > 0 && !i.notified_receivers.empty()) {
      const auto due = (now - i.escalation_started_ms) / repeat;
      if (due > st->reminders_sent) {
        st->reminders_sent = due;
        st->last_notified_ms = now;
        render_all(i.notified_receivers, "reminder", "", now, reminders, reminder_notes, due);
      }
    }
    const auto* policy = find_policy(*st->ctx, i.escalation_policy);
    const auto plan = policy ? oncall::plan_escalation(*policy, i.escalation_started_ms, std::nullopt, now)
                             : oncall::escalation_plan{};
    incidents::change c;
    c.timeline = std::move(reminder_notes);
    std::vector<std::string> keys;
    for (const auto& due : plan.due) {
      const std::pair<int, int> key{static_cast<int>(due.level), due.repetition};
      if (std::find(i.escalated.begin(), i.escalated.end(), key) != i.escalated.end()) continue;
      std::vector<std::string> unreached;
      auto level_keys = incidents::level_receivers(policy->levels[due.level], st->ctx->oncall, now,
                                                   &unreached);
      c.timeline.push_back(note(i, now, "escalated",
                                "escalated to level " + std::to_string(due.level + 1) +
                                  (due.repetition ? " (repeat " + std::to_string(due.repetition) + ")"
                                                  : std::string()) +
                                  ": " + (level_keys.empty() ? "nobody reachable" : join(level_keys)),
                                {{"level", std::to_string(due.level + 1)},
                                 {"repetition", std::to_string(due.repetition)}}));
      for (const auto& u : unreached) c.timeline.push_back(note(i, now, "escalated", u));
      for (auto& k : level_keys) {
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(std::move(k));
      }
      i.escalated.push_back(key);
    }
    if (keys.empty() && c.timeline.empty() && reminders.empty()) {
      (*schedule_ptr)();
      return;
    }
    ++i.version;
    std::vector<persistence::outbox_entry> outbox = std::move(reminders);
    if (!keys.empty()) render_all(keys, "escalated", "", now, outbox, c.timeline);
    for (const auto& k : keys) {
      if (std::find(i.notified_receivers.begin(), i.notified_receivers.end(), k) ==
          i.notified_receivers.end())
        i.notified_receivers.push_back(k);
    }
    i.updated_at_ms = now;
    queue_commit(std::move(c.timeline), std::move(outbox), std::nullopt, std::nullopt, 200, false);
  };

  auto audit_of = [](const incident_command& cmd, const std::string& action, std::int64_t id,
                     std::map<std::string, std::string> detail) {
    persistence::audit_entry a;
    a.at_ms = wall_ms();
    a.actor = cmd.actor;
    a.role = cmd.role;
    a.action = action;
    a.target = "incident/" + std::to_string(id);
    a.detail = std::move(detail);
    return a;
  };

  // The self-referencing callbacks hold actor handles; break the cycles when this actor ends,
  // or the detached actors they name are never destroyed and shutdown hangs.
  self->attach_functor([pump_ptr, schedule_ptr] {
    *pump_ptr = nullptr;
    *schedule_ptr = nullptr;
  });
  // Start: commit the opening change, or pick up where a previous process left off.
  {
    auto& i = st->i;
    if (start.opening) {
      process(std::move(*start.opening), std::move(start.audit), std::move(start.reply),
              start.reply ? 201 : 200, true);
    } else {
      st->committed_once = true;
      if (i.state == incidents::status::triggered && i.escalation_started_ms == 0) {
        st->trigger_held = true;  // opened but never paged: a crash or a hold cut it off
        self->send(self, escalate_atom_v);
      } else {
        (*schedule_ptr)();
      }
    }
  }

  return {
    [=](alert_atom, const routed_alert& a) {
      auto c = incidents::apply_alert(st->i, st->ctx->settings, a.event, a.related);
      process(std::move(c), std::nullopt, std::nullopt, 200, false);
    },
    [=](command_atom, const incident_command& cmd) {
      auto& i = st->i;
      const std::int64_t now = wall_ms();
      incidents::change c;
      std::string action;
      std::map<std::string, std::string> detail;
      using k = incident_command::kind;
      switch (cmd.what) {
        case k::acknowledge:
          c = incidents::acknowledge(i, cmd.actor, cmd.text, now);
          action = "incident.acknowledge";
          break;
        case k::resolve:
          c = incidents::resolve(i, cmd.actor, cmd.text, now);
          action = "incident.resolve";
          break;
        case k::note:
          c = incidents::add_note(i, cmd.actor, cmd.text, now);
          action = "incident.note";
          break;
        case k::severity:
          c = incidents::set_severity(i, cmd.actor, cmd.severity, now);
          action = "incident.severity";
          detail["severity"] = cmd.severity;
          break;
        case k::reassign:
          c = incidents::reassign(i, cmd.actor, cmd.text, now);
          action = "incident.reassign";
          detail["assignee"] = cmd.text;
          break;
        case k::create:
          cmd.reply.respond(http::problem(409, "Conflict", "incident already exists"));
          return;
      }
      if (!cmd.text.empty() && cmd.what != k::reassign) detail["text"] = cmd.text.substr(0, 500);
      std::optional<persistence::audit_entry> audit;
      if (c.changed) audit = audit_of(cmd, action, i.id, std::move(detail));
      process(std::move(c), std::move(audit), cmd.reply, 200, false);
    },
    [=](context_atom, const incident_context_ptr& ctx) {
      st->ctx = ctx;
      (*schedule_ptr)();
    },
    [=](retired_atom) {
      st->retired = true;
      if (st->queue.empty() && !st->commit_in_flight)
        self->quit();
    },
    [=](escalate_atom) { escalate(); },
    [=](record_atom) { (*pump_ptr)(); },
    [=](shutdown_atom) {
      // Resolved and idle: ask the manager to stop routing commands here, and quit on its
      // answer. Quitting now would drop a command it forwarded in the meantime, and leave
      // that REST request unanswered.
      if (st->i.state == incidents::status::resolved && st->queue.empty()) {
        self->send(manager, retired_atom_v, st->i.id);
      } else if (st->queue.empty()) {
        self->send(manager, open_atom_v, st->i.id, st->i.group_key);
      }
    },
  };
}

}  // namespace wk::actors
