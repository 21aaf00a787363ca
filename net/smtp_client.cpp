#include "net/smtp_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace wk::net {
namespace {

// Far beyond any sensible mail session; matches the HTTP fetcher's limit.
constexpr std::int64_t max_timeout_ms = 24LL * 3600 * 1000;
constexpr std::size_t max_recipients = 1000;
// Most relays refuse far less; a bigger message is a bug upstream, not mail to send.
constexpr std::size_t max_data_bytes = 64u << 20;
constexpr std::size_t max_address_bytes = 254;
constexpr std::size_t max_reply_shown = 300;

struct easy_deleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct slist_deleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

bool init_curl_once() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result == CURLE_OK;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(),
                    [](char a, char b) { return ascii_lower(a) == ascii_lower(b); });
}

bool has_space_or_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7f;
  });
}

bool has_bare_line_end(std::string_view data) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '\n') return true;
    if (data[i] == '\r') {
      if (i + 1 == data.size() || data[i + 1] != '\n') return true;
      ++i;
    }
  }
  return false;
}

// SMTP carries CRLF lines only; a bare CR or LF becomes CRLF (some relays reject bare LF,
// others would read a smuggled end of data from it). Copies only when something changes.
std::string_view crlf_lines(const std::string& data, std::string& storage) {
  if (!has_bare_line_end(data)) return data;
  storage.reserve(data.size() + data.size() / 32);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const char c = data[i];
    if (c == '\r' || c == '\n') {
      storage += "\r\n";
      if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n') ++i;
    } else {
      storage += c;
    }
  }
  return storage;
}

struct session {
  std::string_view data;
  std::size_t offset = 0;
  std::string last_error_reply;  // for error messages
};

std::size_t read_data(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* s = static_cast<session*>(user);
  const std::size_t n = std::min(size * count, s->data.size() - s->offset);
  std::memcpy(buffer, s->data.data() + s->offset, n);
  s->offset += n;
  return n;
}

// Keeps the server's last error reply line (4xx/5xx): curl still sends QUIT after a refusal,
// so the very last reply is usually "221". Only CURLINFO_HEADER_IN is read: what curl sends
// (HEADER_OUT) includes the AUTH credentials.
int on_debug(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN || size == 0 || (data[0] != '4' && data[0] != '5')) return 0;
  auto* s = static_cast<session*>(user);
  try {
    std::string_view line(data, size);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    s->last_error_reply.clear();
    for (const char c : line.substr(0, max_reply_shown)) {
      const auto byte = static_cast<unsigned char>(c);
      s->last_error_reply += byte < 0x20 || byte == 0x7f ? '?' : c;
    }
    if (line.size() > max_reply_shown) s->last_error_reply += "...";
  } catch (...) {
    s->last_error_reply.clear();
  }
  return 0;
}

smtp_result invalid(std::string error) {
  smtp_result r;
  r.error = std::move(error);
  // The same message would fail the same way on every retry.
  r.permanent = true;
  return r;
}

// Empty when the message can be sent, else why not.
std::string check(const smtp_message& m) {
  if (!starts_with_nocase(m.url, "smtp://") && !starts_with_nocase(m.url, "smtps://"))
    return "the relay URL must start with smtp:// or smtps://";
  if (has_space_or_control(m.url)) return "the relay URL contains spaces or control characters";
  if (m.timeout_ms <= 0 || m.timeout_ms > max_timeout_ms)
    return "timeout must be between 1 ms and 24 h";
  if (m.username.empty() && !m.password.empty()) return "a password without a username";
  if (m.username.find('\0') != std::string::npos || m.password.find('\0') != std::string::npos)
    return "the credentials contain a NUL byte";
  if (!envelope_address(m.from)) return "invalid sender address";
  if (m.to.empty()) return "no recipients";
  if (m.to.size() > max_recipients)
    return "more than " + std::to_string(max_recipients) + " recipients";
  for (std::size_t i = 0; i < m.to.size(); ++i)
    if (!envelope_address(m.to[i]))
      return "invalid recipient address (entry " + std::to_string(i + 1) + ")";
  if (m.data.size() > max_data_bytes)
    return "message larger than " + std::to_string(max_data_bytes >> 20) + " MiB";
  if (m.data.find('\0') != std::string::npos) return "message contains a NUL byte";
  return {};
}

}  // namespace

std::optional<std::string> envelope_address(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  std::string_view address = text;
  if (!text.empty() && text.back() == '>') {
    const auto open = text.rfind('<');
    if (open == std::string_view::npos) return std::nullopt;
    // The display name goes nowhere near the envelope, but a line break in it is no address.
    if (std::any_of(text.begin(), text.begin() + open,
                    [](char c) { return c == '\r' || c == '\n' || c == '\0'; }))
      return std::nullopt;
    address = text.substr(open + 1, text.size() - open - 2);
  }
  const auto at = address.rfind('@');
  if (address.empty() || address.size() > max_address_bytes || at == 0 ||
      at == std::string_view::npos || at + 1 == address.size() || has_space_or_control(address) ||
      address.find_first_of("<>") != std::string_view::npos)
    return std::nullopt;
  return std::string(address);
}

namespace {

smtp_result send_checked(const smtp_message& m) {
  if (std::string problem = check(m); !problem.empty()) return invalid(std::move(problem));
  smtp_result result;
  if (!init_curl_once()) {
    result.error = "curl_global_init failed";
    return result;
  }
  std::string normalized;
  session s;
  s.data = crlf_lines(m.data, normalized);

  std::unique_ptr<curl_slist, slist_deleter> recipients;
  for (const auto& to : m.to) {
    const std::string line = "<" + *envelope_address(to) + ">";
    curl_slist* extended = curl_slist_append(recipients.get(), line.c_str());
    if (extended == nullptr) {
      result.error = "out of memory";
      return result;
    }
    recipients.release();
    recipients.reset(extended);
  }
  const std::string sender = "<" + *envelope_address(m.from) + ">";

  const std::unique_ptr<CURL, easy_deleter> easy(curl_easy_init());
  if (!easy) {
    result.error = "out of memory creating the transfer";
    return result;
  }
  std::array<char, CURL_ERROR_SIZE> error_buffer{};
  CURLcode rc = CURLE_OK;
  const auto set = [&rc](CURLcode code) {
    if (rc == CURLE_OK) rc = code;
  };
  CURL* e = easy.get();
  set(curl_easy_setopt(e, CURLOPT_URL, m.url.c_str()));
  set(curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps"));
  set(curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L));
  set(curl_easy_setopt(e, CURLOPT_NOPROGRESS, 1L));
  // The relay is whatever the URL names, not a proxy from the daemon's environment.
  set(curl_easy_setopt(e, CURLOPT_PROXY, ""));
  set(curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer.data()));
  set(curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(m.timeout_ms)));
  set(curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(m.timeout_ms)));
  set(curl_easy_setopt(e, CURLOPT_USE_SSL,
                       static_cast<long>(m.require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY)));
  set(curl_easy_setopt(e, CURLOPT_MAIL_FROM, sender.c_str()));
  set(curl_easy_setopt(e, CURLOPT_MAIL_RCPT, recipients.get()));
  set(curl_easy_setopt(e, CURLOPT_UPLOAD, 1L));
  set(curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(s.data.size())));
  set(curl_easy_setopt(e, CURLOPT_READFUNCTION, &read_data));
  set(curl_easy_setopt(e, CURLOPT_READDATA, &s));
  set(curl_easy_setopt(e, CURLOPT_VERBOSE, 1L));
  set(curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, &on_debug));
  set(curl_easy_setopt(e, CURLOPT_DEBUGDATA, &s));
  if (!m.username.empty()) {
    set(curl_easy_setopt(e, CURLOPT_USERNAME, m.username.c_str()));
    set(curl_easy_setopt(e, CURLOPT_PASSWORD, m.password.c_str()));
  }
  if (rc != CURLE_OK) {
    result.error = std::string("cannot configure the transfer: ") + curl_easy_strerror(rc);
    return result;
  }

  rc = curl_easy_perform(e);
  long code = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
  if (rc == CURLE_OK) {
    result.ok = true;
    result.reply_code = static_cast<int>(code);
    return result;
  }
  // A 4xx/5xx reply decided the outcome; anything else (a timeout after "250", a refused
  // connection, a failed handshake) is the transport's.
  if (code >= 400 && code <= 599) {
    result.reply_code = static_cast<int>(code);
    result.permanent = code >= 500;
  }
  if (rc == CURLE_OPERATION_TIMEDOUT)
    result.error = "timeout after " + std::to_string(m.timeout_ms) + " ms";
  else
    result.error = error_buffer[0] != '\0' ? error_buffer.data() : curl_easy_strerror(rc);
  if (result.reply_code != 0 && !s.last_error_reply.empty())
    result.error += " (server: \"" + s.last_error_reply + "\")";
  return result;
}

}  // namespace

smtp_result send_mail(const smtp_message& m) {
  // Strings are built along the way; running out of memory is a failed attempt, not an
  // exception escaping into the actor that called this.
  try {
    return send_checked(m);
  } catch (const std::exception&) {
    smtp_result r;
    r.error = "out of memory";
    return r;
  }
}

}  // namespace wk::net
