#pragma once

// Who hears of an incident transition, and the exact bytes they get. Pure: the incident actor
// calls it, the outbox stores the result, the notifier sends it unchanged on every attempt.
//
// Receiver keys name a destination:
//   "<receiver name>"          a configured receiver (notifications.receivers)
//   "user:<id>:<contact index>" one contact of a user (email via SMTP, slack/webhook to the
//                              address URL, pagerduty with the address as routing key)

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "incidents/model.hpp"
#include "notify/notification.hpp"
#include "notify/receiver_config.hpp"
#include "oncall/config.hpp"
#include "silences/model.hpp"

namespace wk::incidents {

struct directory {
  const notify::notifications_config* notifications = nullptr;
  const oncall::oncall_config* oncall = nullptr;
  std::string external_url;
};

// One notification ready for the outbox.
struct outgoing {
  std::string receiver;    // receiver key
  std::string channel;     // slack | pagerduty | webhook | email
  std::string transition;  // triggered | acknowledged | resolved | escalated
  // "<incident>:<receiver>:<transition>:<n>", n the reopen count (escalations: reopen count *
  // 1000 + escalation steps taken; reminders: reopen count * 1000000 + reminder number;
  // updates: the time they were sent)
  std::string dedup_key;
  std::string delivery_key;
  std::string target;      // URL, or comma separated mail recipients
  std::string body;
};

// The labels routing, silences and maintenance windows look at: the incident's first firing
// non-related alert's labels (else its group labels) plus service and severity.
std::map<std::string, std::string> routing_labels(const incident& i);

// Receivers the route tree picks (each once, in tree order); empty without a route.
std::vector<std::string> route_receivers(const incident& i, const notify::notifications_config& n);

// Receiver keys for one escalation level at now_ms: channels as named, users' contacts, and
// the on-call user of each schedule (nobody on call: skipped, reported in *unreached).
std::vector<std::string> level_receivers(const oncall::escalation_level& level,
                                         const oncall::oncall_config& oc, std::int64_t now_ms,
                                         std::vector<std::string>* unreached);

// The notification every channel renders.
notify::notification to_notification(const incident& i, const std::string& transition,
                                      const std::string& receiver, const std::string& note,
                                      const std::string& external_url, std::int64_t at_ms);

// Renders one transition for one receiver key; nullopt (and *error) when the key names
// nothing in the directory any more. sequence: for "reminder" the how-many-th reminder of this
// paging cycle, for "updated" the time of the update; part of the keys.
std::optional<outgoing> render(const incident& i, const std::string& receiver_key,
                               const std::string& transition, const std::string& note,
                               const directory& d, std::int64_t at_ms, std::string* error,
                               std::int64_t sequence = 0);

// The route timers that apply to the incident: those of the first route it matches (the
// defaults without a route).
std::int64_t group_wait_ms(const incident& i, const notify::notifications_config& n);
std::int64_t repeat_interval_ms(const incident& i, const notify::notifications_config& n);
std::int64_t group_interval_ms(const incident& i, const notify::notifications_config& n);

// Why notifications are held back right now: "silenced by <ids>" or "in maintenance <names>";
// nullopt when they may go out. Only the incident's own firing alerts count; an incident every
// one of whose firing alerts is muted is muted.
std::optional<std::string> suppression(const incident& i,
                                       const std::vector<silences::silence>& silences,
                                       const std::vector<silences::maintenance_window>& windows,
                                       std::int64_t now_ms);

}  // namespace wk::incidents
