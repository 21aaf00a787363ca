#pragma once

// Slack incoming-webhook body: a `text` fallback (shown in notifications) plus blocks: a header
// with the status tag and title, a section with the summary and alert list and fields
// (service, severity, status, alerts), a context line (incident, receiver, time) and a link
// button to the incident. Every text is cut to Slack's block limits (header 150, section 3000,
// field 2000 characters) with a truncation marker, and &, <, > are escaped in mrkdwn.

#include <string>

#include "notify/notification.hpp"

namespace wk::notify {

struct slack_options {
  // Legacy webhooks honour these; app webhooks ignore them. Empty = not sent.
  std::string channel, username, icon_emoji;
  // Optional templates (see template.hpp): the title replaces "<title>" in the header and
  // fallback, the text replaces the section body.
  std::string title_template, text_template;
};

std::string slack_payload(const notification& n, const slack_options& o);

}  // namespace wk::notify
