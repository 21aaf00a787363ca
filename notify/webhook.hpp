#pragma once

// The generic webhook: body in Alertmanager's webhook v4 format, so existing receivers work.
//
// Signing scheme (document for receivers), with a channel secret:
//   X-Watchkeeper-Signature:           sha256=<lowercase hex HMAC-SHA256(secret, body)>
//   X-Watchkeeper-Timestamp:           <unix seconds of the attempt>
//   X-Watchkeeper-Timestamp-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
//   X-Watchkeeper-Delivery:            <idempotency key "<incident_id>:<transition>:<seq>">
// The first is the documented contract (HMAC of the raw body bytes): a receiver recomputes it
// and compares in constant time. One that also wants replay protection checks the timestamped
// signature and rejects timestamps far from its clock. The delivery key is the same on every
// retry of one transition, so a receiver can drop repeats.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "notify/notification.hpp"

namespace wk::notify {

inline constexpr std::string_view signature_header = "X-Watchkeeper-Signature";
inline constexpr std::string_view timestamp_header = "X-Watchkeeper-Timestamp";
inline constexpr std::string_view timestamp_signature_header = "X-Watchkeeper-Timestamp-Signature";
inline constexpr std::string_view delivery_header = "X-Watchkeeper-Delivery";

// Fields in Alertmanager's order: receiver, status ("resolved" only when every alert is, or
// with no alerts when the incident is), alerts (startsAt/endsAt RFC 3339, zero time when
// unset), groupLabels, commonLabels, commonAnnotations, externalURL, version "4", groupKey,
// truncatedAlerts. max_alerts > 0 keeps the first max_alerts alerts and counts the rest in
// truncatedAlerts.
std::string webhook_payload(const notification& n, std::size_t max_alerts = 0);

// "sha256=<hex>" of the body, as described above.
std::string webhook_signature(std::string_view secret, std::string_view body);
// "sha256=<hex>" of "<timestamp_s>.<body>".
std::string webhook_timestamp_signature(std::string_view secret, std::int64_t timestamp_s,
                                        std::string_view body);

// "<incident_id>:<transition>:<seq>".
std::string idempotency_key(std::string_view incident_id, std::string_view transition,
                            std::int64_t seq);

}  // namespace wk::notify
