#pragma once

// One mail over SMTP through libcurl's easy interface. Blocking: call it from a detached actor
// or another thread that may wait up to timeout_ms. Environment proxy variables are ignored.
// The process should ignore SIGPIPE (curl runs with CURLOPT_NOSIGNAL).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wk::net {

struct smtp_message {
  std::string url;                 // smtp://host:port or smtps://host:port
  std::string username, password;  // both empty: no AUTH
  std::string from;                // "Name <addr>" or addr: the envelope sender is the address
  std::vector<std::string> to;     // same forms; the envelope recipients are the addresses
  // The full RFC 5322 message with CRLF line ends (a bare LF or CR is sent as CRLF, as SMTP
  // requires). Dot-stuffing happens on the wire; the server receives these bytes.
  std::string data;
  std::int64_t timeout_ms = 10000;  // the whole session, connect to QUIT
  // smtp:// only: fail unless STARTTLS succeeds. Otherwise STARTTLS is used when offered.
  // The server certificate is always verified when TLS is used.
  bool require_tls = false;
};

struct smtp_result {
  bool ok = false;
  // The server's reply that ended the session (250 on success), 0 when no reply decided it:
  // connect failure, timeout, TLS failure, invalid message.
  int reply_code = 0;
  std::string error;  // clear text, never the password
  // A 5xx reply, or a message that cannot be sent as given (bad address, no recipients, bad
  // URL): retrying the same mail will not help.
  bool permanent = false;
};

smtp_result send_mail(const smtp_message& m);

// The address of "Name <addr>" or a bare "addr", as the envelope uses it; nullopt when there
// is none or it holds spaces, control characters or angle brackets.
std::optional<std::string> envelope_address(std::string_view text);

}  // namespace wk::net
