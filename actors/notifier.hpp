#pragma once

// Delivers the notification outbox at least once: Slack, PagerDuty and webhooks over the shared
// libcurl loop, email through the mailer. Exponential backoff with jitter between attempts,
// Retry-After honoured, a permanent refusal (4xx, SMTP 5xx) or give_up_after ends a row as
// failed. Every outcome is written back (with a timeline entry) before the row is let go, and
// rows in flight are never fetched twice, so one process sends each row once; after a crash
// the receiver-side keys (PagerDuty dedup_key, X-Watchkeeper-Delivery) make a repeat harmless.

#include <caf/actor_system.hpp>

#include "actors/interfaces.hpp"
#include "actors/runtime.hpp"

namespace wk::actors {

notifier_actor make_notifier(caf::actor_system& sys, runtime_ptr rt, config_ptr cfg,
                             outbox_store_actor outbox);

}  // namespace wk::actors
