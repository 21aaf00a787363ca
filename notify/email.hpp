#pragma once

// RFC 5322 message for one incident transition: multipart/alternative with a text/plain and a
// text/html part, both UTF-8 in quoted-printable (so no line exceeds 76 characters whatever the
// content, and 8-bit-unclean relays are fine). Lines end in CRLF.
//
// Threading: the "triggered" mail of an incident carries Message-ID <incident-<id>@<domain>>;
// every other transition gets its own Message-ID <incident-<id>.<transition>.<at_ms>@<domain>>
// (the same on every retry) and In-Reply-To/References pointing at the first, so mail clients
// show one thread per incident.
//
// Headers: CR, LF and other control characters are removed from every header value (no header
// injection); the subject is cut to 200 code points and sent as RFC 2047 UTF-8 "B" encoded-words
// when it holds non-ASCII or an unfoldable long word, folded at 78 characters otherwise.
// Dot-stuffing is the SMTP client's business (libcurl does it); the body also never starts a
// line with '.', because quoted-printable encodes it.

#include <cstdint>
#include <string>
#include <vector>

#include "notify/notification.hpp"

namespace wk::notify {

struct email_options {
  std::string from;             // "Watchkeeper <wk@example.com>" or a bare address
  std::vector<std::string> to;  // each an address as above
  std::string domain;           // right-hand side of Message-IDs, e.g. "wk.example.com"
  // Optional templates (see template.hpp): the subject replaces "[TAG] <title>", the text
  // replaces the plain-text body (the HTML part then shows the same text).
  std::string subject_template, text_template;
};

std::string email_message(const notification& n, const email_options& o, std::int64_t now_ms);

// "<incident-<id>@<domain>>": the Message-ID of an incident's first mail.
std::string incident_message_id(const std::string& incident_id, const std::string& domain);

}  // namespace wk::notify
