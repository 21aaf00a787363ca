#include "actors/notifier.hpp"

#include <chrono>
#include <map>
#include <random>

#include <caf/all.hpp>

#include "actors/mailer.hpp"
#include "notify/retry.hpp"
#include "notify/webhook.hpp"
#include "telemetry/logging.hpp"

namespace wk::actors {

// One attempt's outcome, whatever the channel.
struct attempt_result {
  bool transport_ok = false;
  int status = 0;  // HTTP status or SMTP reply code
  bool permanent = false;
  std::string error;
  std::optional<std::int64_t> retry_after_ms;
};

}  // namespace wk::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::actors::attempt_result)

namespace wk::actors {
namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

constexpr std::size_t max_in_flight = 32;
constexpr std::size_t batch_size = 64;  // the outbox store's page
constexpr std::chrono::seconds idle_poll{5};

struct notifier_state {
  config_ptr cfg;
  std::map<std::int64_t, persistence::outbox_entry> in_flight;
  bool polling = false;
  bool poll_again = false;
  std::int64_t timer_at_ms = 0;
  std::mt19937_64 rng{std::random_device{}()};
};

std::vector<std::string> split_recipients(const std::string& target) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= target.size()) {
    auto end = target.find(',', start);
    if (end == std::string::npos) end = target.size();
    if (end > start) out.push_back(target.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string header(const net::fetch_result& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < k.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(k[i])) == name[i];
    if (same) return v;
  }
  return {};
}

}  // namespace

notifier_actor make_notifier(caf::actor_system& sys, runtime_ptr rt, config_ptr cfg,
                             outbox_store_actor outbox) {
  auto mail = sys.spawn<caf::detached>(mailer);
  auto behavior = [rt, cfg, outbox, mail](caf::event_based_actor* self) -> caf::behavior {
    auto log = telemetry::logger("notify");
    auto st = std::make_shared<notifier_state>();
    st->cfg = cfg;
    self->attach_functor([mail] { caf::anon_send_exit(mail, caf::exit_reason::user_shutdown); });

    auto arm = [=](std::int64_t at_ms) {
      const auto now = wall_ms();
      at_ms = std::max(at_ms, now + 50);
      if (st->timer_at_ms != 0 && st->timer_at_ms <= at_ms && st->timer_at_ms > now) return;
      st->timer_at_ms = at_ms;
      self->delayed_send(self, std::chrono::milliseconds(at_ms - now), tick_atom_v);
    };

    auto poll_ptr = std::make_shared<std::function<void()>>();

    // Writes one row's outcome back; the row stays in flight (never fetched again) until the
    // database has it.
    auto settle_ptr = std::make_shared<std::function<void(std::int64_t, attempt_result)>>();
    *settle_ptr = [=](std::int64_t id, attempt_result r) {
      auto it = st->in_flight.find(id);
      if (it == st->in_flight.end()) return;
      const auto& e = it->second;
      const auto now = wall_ms();
      const auto& delivery = st->cfg->notifications.delivery;
      const int attempts = e.attempts + 1;
      auto verdict = notify::delivery_verdict::retry;
      if (r.transport_ok) {
        verdict = r.permanent ? notify::delivery_verdict::give_up
                  : e.channel == "email" ? notify::delivery_verdict::delivered
                                         : notify::classify_http(r.status);
      }
      if (verdict == notify::delivery_verdict::retry && now - e.created_ms >= delivery.give_up_after_ms) {
        verdict = notify::delivery_verdict::give_up;
        r.error = "gave up after " + std::to_string(attempts) + " attempts: " + r.error;
      }
      incidents::timeline_entry entry;
      entry.incident_id = e.incident_id;
      entry.at_ms = now;
      entry.actor = e.receiver;
      entry.detail = {{"receiver", e.receiver}, {"channel", e.channel},
                      {"transition", e.transition}, {"attempts", std::to_string(attempts)},
                      {"status", std::to_string(r.status)}};
      auto done = [=](bool) {
        st->in_flight.erase(id);
        (*poll_ptr)();
      };
      auto keep_trying = [=](caf::error& err) {
        log->warn("outcome of notification {} not written yet ({}); retrying", id,
                  caf::to_string(err));
        self->delayed_send(self, std::chrono::seconds(2), delivered_atom_v, id, r);
      };
      auto& m = *rt->metrics;
      switch (verdict) {
        case notify::delivery_verdict::delivered:
          m.notifications.with({e.channel, "delivered"}).inc();
          m.notification_latency.get().observe(static_cast<double>(now - e.created_ms) / 1000.0);
          entry.kind = "notified";
          entry.text = "notified " + e.receiver + " via " + e.channel + " (" + e.transition + ")";
          log->info("incident {}: {} delivered to {} via {} after {} attempt(s)", e.incident_id,
                    e.transition, e.receiver, e.channel, attempts);
          self->request(outbox, std::chrono::seconds(10), delivered_atom_v, id, now, r.status, entry)
            .then(done, keep_trying);
          break;
        case notify::delivery_verdict::give_up:
          m.notifications.with({e.channel, "failed"}).inc();
          entry.kind = "notification_failed";
          entry.text = "could not notify " + e.receiver + " via " + e.channel + " (" +
                       e.transition + "): " + r.error;
          entry.detail["error"] = r.error;
          log->error("incident {}: {} to {} failed for good: {}", e.incident_id, e.transition,
                     e.receiver, r.error);
          self->request(outbox, std::chrono::seconds(10), expire_atom_v, id, attempts, r.status,
                        r.error, entry)
            .then(done, keep_trying);
          break;
        case notify::delivery_verdict::retry: {
          m.notifications.with({e.channel, "retry"}).inc();
          std::uniform_real_distribution<double> jitter(0.0, 1.0);
          auto wait = notify::backoff_ms(attempts - 1, delivery.initial_backoff_ms,
                                         delivery.max_backoff_ms, jitter(st->rng));
          if (r.retry_after_ms) wait = std::max(wait, std::min(*r.retry_after_ms, delivery.max_backoff_ms));
          log->warn("incident {}: {} to {} not delivered (attempt {}: {}); next try in {} ms",
                    e.incident_id, e.transition, e.receiver, attempts, r.error, wait);
          self->request(outbox, std::chrono::seconds(10), deliver_atom_v, id, attempts, now + wait,
                        r.status, r.error)
            .then(
              [=](bool) {
                st->in_flight.erase(id);
                arm(now + wait);
              },
              keep_trying);
          break;
        }
      }
    };

    auto deliver = [=](const persistence::outbox_entry& e) {
      st->in_flight[e.id] = e;
      const auto id = e.id;
      const auto& n = st->cfg->notifications;
      if (e.channel == "email") {
        if (!n.smtp.configured) {
          attempt_result r;
          r.transport_ok = true;
          r.permanent = true;
          r.error = "notifications.smtp is not configured";
          (*settle_ptr)(id, r);
          return;
        }
        net::smtp_message m;
        m.url = n.smtp.url;
        m.username = n.smtp.username;
        m.password = n.smtp.password;
        m.from = n.smtp.from;
        m.to = split_recipients(e.target);
        m.data = e.body;
        m.timeout_ms = n.smtp.timeout_ms;
        m.require_tls = n.smtp.require_tls;
        self->request(mail, std::chrono::milliseconds(m.timeout_ms + 5000), deliver_atom_v, m)
          .then(
            [=](const net::smtp_result& s) {
              attempt_result r;
              r.transport_ok = s.ok || s.reply_code != 0;
              r.status = s.reply_code;
              r.permanent = s.permanent;
              r.error = s.ok ? std::string() : s.error;
              if (!s.ok && !s.permanent) r.transport_ok = false;
              (*settle_ptr)(id, r);
            },
            [=](caf::error& err) {
              attempt_result r;
              r.error = "mailer: " + caf::to_string(err);
              (*settle_ptr)(id, r);
            });
        return;
      }
      net::fetch_request req;
      req.url = e.target;
      req.method = "POST";
      req.body = e.body;
      req.timeout = std::chrono::milliseconds(n.delivery.timeout_ms);
      req.connect_timeout = std::min(req.timeout, std::chrono::milliseconds(5000));
      req.accept_compressed = false;
      req.max_body_bytes = 64 * 1024;
      req.headers.push_back({"Content-Type", "application/json"});
      if (e.channel == "webhook") {
        const auto ts = wall_ms() / 1000;
        req.headers.push_back({std::string(notify::timestamp_header), std::to_string(ts)});
        req.headers.push_back({std::string(notify::delivery_header), e.delivery_key});
        if (const auto* r = n.find(e.receiver)) {
          if (!r->secret.empty()) {
            req.headers.push_back({std::string(notify::signature_header),
                                   notify::webhook_signature(r->secret, e.body)});
            req.headers.push_back({std::string(notify::timestamp_signature_header),
                                   notify::webhook_timestamp_signature(r->secret, ts, e.body)});
          }
          for (const auto& h : r->headers) req.headers.push_back(h);
        }
      }
      caf::actor me = caf::actor_cast<caf::actor>(self);
      rt->fetcher->fetch(std::move(req), [me, id](net::fetch_result result) {
        caf::anon_send(me, fetched_atom_v, id, std::move(result));
      });
    };

    *poll_ptr = [=] {
      if (st->polling) {
        st->poll_again = true;
        return;
      }
      if (st->in_flight.size() >= max_in_flight) return;
      st->polling = true;
      st->poll_again = false;
      self->request(outbox, std::chrono::seconds(10), outbox_atom_v, wall_ms())
        .then(
          [=](const outbox_batch_ptr& batch) {
            st->polling = false;
            for (const auto& e : batch->due) {
              if (st->in_flight.size() >= max_in_flight) break;
              if (!st->in_flight.count(e.id)) deliver(e);
            }
            const auto now = wall_ms();
            if (st->poll_again || batch->due.size() == batch_size) {
              (*poll_ptr)();
            } else {
              std::int64_t next = now + std::chrono::milliseconds(idle_poll).count();
              if (batch->next_due_ms > now) next = std::min(next, batch->next_due_ms);
              arm(next);
            }
          },
          [=](caf::error& err) {
            st->polling = false;
            log->warn("reading the notification outbox failed: {}", caf::to_string(err));
            arm(wall_ms() + 2000);
          });
    };
  // The self-referencing callbacks hold actor handles; break the cycles when this actor ends,
  // or the detached actors they name are never destroyed and shutdown hangs.
  self->attach_functor([poll_ptr, settle_ptr] {
    *poll_ptr = nullptr;
    *settle_ptr = nullptr;
  });
    self->send(self, tick_atom_v);

    return {
      [=](wake_atom) { (*poll_ptr)(); },
      [=](tick_atom) {
        st->timer_at_ms = 0;
        (*poll_ptr)();
      },
      [=](reload_atom, const config_ptr& next) { st->cfg = next; },
      [=](fetched_atom, std::int64_t id, const net::fetch_result& f) {
        attempt_result r;
        r.transport_ok = f.transport_ok;
        r.status = f.status;
        if (!f.transport_ok) {
          r.error = f.error;
        } else if (f.status < 200 || f.status >= 300) {
          r.error = "HTTP " + std::to_string(f.status);
          if (!f.body.empty()) r.error += ": " + f.body.substr(0, 200);
          if (auto ra = notify::parse_retry_after(header(f, "retry-after"), wall_ms()))
            r.retry_after_ms = *ra;
        }
        (*settle_ptr)(id, std::move(r));
      },
      [=](delivered_atom, std::int64_t id, const attempt_result& r) { (*settle_ptr)(id, r); },
    };
  };
  return caf::actor_cast<notifier_actor>(sys.spawn(behavior));
}

}  // namespace wk::actors
