#include "notify/webhook.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "notify/json_out.hpp"
#include "notify/text.hpp"

namespace wk::notify {
namespace {

std::string timestamp(std::int64_t ms) {
  return ms == 0 ? std::string(zero_time) : format_rfc3339(ms);
}

}  // namespace

std::string webhook_payload(const notification& n, std::size_t max_alerts) {
  bool all_resolved = true;
  for (const auto& a : n.alerts)
    all_resolved = all_resolved && a.status == "resolved";
  bool resolved = n.alerts.empty() ? n.status == "resolved" : all_resolved;
  std::size_t sent = max_alerts == 0 ? n.alerts.size() : std::min(max_alerts, n.alerts.size());

  json_out j;
  j.start_object();
  j.member("receiver", n.receiver);
  j.member("status", resolved ? "resolved" : "firing");
  j.key("alerts");
  j.start_array();
  for (std::size_t i = 0; i < sent; ++i) {
    const auto& a = n.alerts[i];
    j.start_object();
    j.member("status", a.status);
    j.object("labels", a.labels);
    j.object("annotations", a.annotations);
    j.member("startsAt", timestamp(a.starts_at_ms));
    j.member("endsAt", timestamp(a.ends_at_ms));
    j.member("generatorURL", a.generator_url);
    j.member("fingerprint", a.fingerprint);
    j.end_object();
  }
  j.end_array();
  j.object("groupLabels", n.group_labels);
  j.object("commonLabels", n.common_labels);
  j.object("commonAnnotations", n.common_annotations);
  j.member("externalURL", n.external_url);
  j.member("version", "4");
  j.member("groupKey", n.group_key);
  j.member("truncatedAlerts", static_cast<std::int64_t>(n.alerts.size() - sent));
  j.end_object();
  return j.str();
}

std::string webhook_signature(std::string_view secret, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < mac_len; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 15];
  }
  return out;
}

std::string webhook_timestamp_signature(std::string_view secret, std::int64_t timestamp_s,
                                        std::string_view body) {
  std::string message = std::to_string(timestamp_s);
  message += '.';
  message.append(body.data(), body.size());
  return webhook_signature(secret, message);
}

std::string idempotency_key(std::string_view incident_id, std::string_view transition,
                            std::int64_t seq) {
  std::string out(incident_id);
  out += ':';
  out += transition;
  out += ':';
  out += std::to_string(seq);
  return out;
}

}  // namespace wk::notify
