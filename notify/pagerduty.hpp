#pragma once

// PagerDuty Events API v2 body. Status triggered -> "trigger" (escalations and reminders
// re-send the trigger: PagerDuty folds it into the open alert by dedup_key), acknowledged ->
// "acknowledge", resolved -> "resolve". Acknowledge and resolve carry only routing_key,
// event_action and dedup_key. A trigger carries payload (summary <= 1024 code points, source =
// service, severity mapped to PagerDuty's four, timestamp, component, group, class,
// custom_details), client, client_url and links. The body stays under PagerDuty's 512 KB:
// custom_details values are cut to 8 KiB each and at most 20 alerts are listed.

#include <string>

#include "notify/notification.hpp"

namespace wk::notify {

// "watchkeeper/<incident_id>", or "watchkeeper/sha256:<hex of id>" when that would exceed
// PagerDuty's 255 characters: stable per incident either way.
std::string pagerduty_dedup_key(const std::string& incident_id);

// critical|error|warning|info pass through (any case); "page"/"fatal" -> critical,
// "major" -> error, "warn"/"minor" -> warning, "none"/"debug" -> info, anything else -> error.
std::string pagerduty_severity(const std::string& severity);

std::string pagerduty_payload(const notification& n, const std::string& routing_key);

}  // namespace wk::notify
