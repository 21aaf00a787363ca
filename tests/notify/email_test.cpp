#include <doctest/doctest.h>

#include "notify/email.hpp"
#include "tests/notify/sample.hpp"

using namespace wk::notify;
using namespace wk::notify::testing;

namespace {

email_options options() {
  email_options o;
  o.from = "Watchkeeper <wk@example.com>";
  o.to = {"oncall@example.com", "Ops Team <ops@example.com>"};
  o.domain = "wk.example.com";
  return o;
}

std::string header(const std::string& message, const std::string& name) {
  std::string key = "\r\n" + name + ": ";
  std::size_t at = ("\r\n" + message).find(key);
  if (at == std::string::npos)
    return {};
  std::size_t start = at + key.size() - 2;
  std::size_t end = message.find("\r\n", start);
  // Unfold continuation lines.
  while (end != std::string::npos && end + 2 < message.size() &&
         (message[end + 2] == ' ' || message[end + 2] == '\t'))
    end = message.find("\r\n", end + 2);
  std::string value = message.substr(start, end - start);
  for (std::size_t crlf; (crlf = value.find("\r\n")) != std::string::npos;)
    value.erase(crlf, 2);
  return value;
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out += s;
  return out;
}

// The decoded text of a quoted-printable part.
std::string decode_qp(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '=' && i + 2 < s.size() && s[i + 1] == '\r' && s[i + 2] == '\n') {
      i += 2;
    } else if (s[i] == '=' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Headers, decoded text part and decoded HTML part of a message.
struct parts {
  std::string headers, text, html;
};

parts split(const std::string& m) {
  parts p;
  p.headers = m.substr(0, m.find("\r\n\r\n") + 2);
  auto body_of = [&](const std::string& type) {
    std::size_t start = m.find("Content-Type: " + type);
    REQUIRE(start != std::string::npos);
    start = m.find("\r\n\r\n", start) + 4;
    std::size_t end = m.find("\r\n--=_wk_", start);
    return decode_qp(m.substr(start, end - start));
  };
  p.text = body_of("text/plain");
  p.html = body_of("text/html");
  return p;
}

void check_line_discipline(const std::string& m) {
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n')
      REQUIRE_MESSAGE((i > 0 && m[i - 1] == '\r'), "bare LF at ", i);
    if (m[i] == '\r')
      REQUIRE_MESSAGE((i + 1 < m.size() && m[i + 1] == '\n'), "bare CR at ", i);
  }
  std::size_t start = 0;
  while (start < m.size()) {
    std::size_t end = m.find("\r\n", start);
    if (end == std::string::npos)
      end = m.size();
    REQUIRE_MESSAGE(end - start <= 78, "line too long: ", m.substr(start, 100));
    start = end + 2;
  }
}

}  // namespace

TEST_CASE("email: golden first message of an incident") {
  std::string m = email_message(sample(), options(), t0_ms + 2000);
  CHECK(m == golden("email_trigger.good.eml", m));
  check_line_discipline(m);
  CHECK(header(m, "Subject") == "[TRIGGERED] checkout is down");
  CHECK(header(m, "From") == "Watchkeeper <wk@example.com>");
  CHECK(header(m, "To") == "oncall@example.com, Ops Team <ops@example.com>");
  CHECK(header(m, "Date") == "Sun, 29 Mar 2026 07:00:02 +0000");
  CHECK(header(m, "Message-ID") == "<incident-inc-42@wk.example.com>");
  CHECK(header(m, "In-Reply-To").empty());
  CHECK(header(m, "MIME-Version") == "1.0");
  CHECK(header(m, "Content-Type").rfind("multipart/alternative; boundary=\"=_wk_", 0) == 0);
  CHECK(m.find("Content-Type: text/plain; charset=utf-8") != std::string::npos);
  CHECK(m.find("Content-Type: text/html; charset=utf-8") != std::string::npos);
}

TEST_CASE("email: later transitions thread onto the first message") {
  auto n = sample();
  n.transition = n.status = "acknowledged";
  n.acknowledged_by = "alice";
  n.at_ms = t0_ms + 60000;
  std::string m = email_message(n, options(), t0_ms + 61000);
  check_line_discipline(m);
  CHECK(header(m, "Subject") == "[ACKNOWLEDGED] checkout is down");
  CHECK(header(m, "Message-ID") == "<incident-inc-42.acknowledged.1774767660000@wk.example.com>");
  CHECK(header(m, "In-Reply-To") == "<incident-inc-42@wk.example.com>");
  CHECK(header(m, "References") == "<incident-inc-42@wk.example.com>");
  CHECK(split(m).text.find("Acknowledged by: alice") != std::string::npos);
  // A retry renders the same Message-ID, so a resent mail is recognisably the same.
  CHECK(email_message(n, options(), t0_ms + 99000).find(header(m, "Message-ID")) !=
        std::string::npos);
}

TEST_CASE("email: non-ASCII subject is RFC 2047 encoded and split on code points") {
  auto n = sample();
  n.title = std::string(22, 'x') + "🔥 Zürich-Rechenzentrum: Störung " + std::string(60, 'x') +
            " ünd mehr Störungen";
  std::string m = email_message(n, options(), t0_ms);
  check_line_discipline(m);
  std::string subject = header(m, "Subject");
  CHECK(subject.rfind("=?UTF-8?B?", 0) == 0);
  // Every encoded-word is at most 75 characters.
  std::size_t pos = 0;
  while ((pos = subject.find("=?UTF-8?B?", pos)) != std::string::npos) {
    std::size_t end = subject.find("?=", pos + 10);
    REQUIRE(end != std::string::npos);
    CHECK(end + 2 - pos <= 60);
    pos = end + 2;
  }
  // The first word holds 34 bytes: a 36-byte word would split the 4-byte emoji.
  CHECK(subject.rfind(
            "=?UTF-8?B?W1RSSUdHRVJFRF0geHh4eHh4eHh4eHh4eHh4eHh4eHh4eA==?= =?UTF-8?B?8J+UpS", 0) ==
        0);
}

TEST_CASE("email: CR/LF in values cannot inject headers; HTML is escaped") {
  auto n = sample();
  n.title = "pwn\r\nBcc: victim@example.com\r\n\r\n<script>alert(1)</script>";
  n.incident_id = "inc 42>\r\nX-Evil: 1";
  auto o = options();
  o.to.push_back("x@example.com\r\nBcc: other@example.com");
  std::string m = email_message(n, o, t0_ms);
  check_line_discipline(m);
  auto p = split(m);
  CHECK(p.headers.find("\r\nBcc:") == std::string::npos);
  CHECK(p.headers.find("\r\nX-Evil:") == std::string::npos);
  CHECK(header(m, "To") ==
        "oncall@example.com, Ops Team <ops@example.com>, x@example.com  Bcc: other@example.com");
  CHECK(p.html.find("<script>") == std::string::npos);
  CHECK(p.html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(header(m, "Message-ID") == "<incident-inc=2042=3E=0D=0AX-Evil=3A=201@wk.example.com>");
}

TEST_CASE("email: long unbroken content stays within line limits") {
  auto n = sample();
  n.common_annotations["summary"] = std::string(5000, 'a') + "\n.leading dot\n" + repeat("é", 300);
  n.title = std::string(500, 'z');
  std::string m = email_message(n, options(), t0_ms);
  check_line_discipline(m);
  CHECK(m.find("\r\n.") == std::string::npos);  // quoted-printable encodes a leading dot
  CHECK(m.find("=2Eleading dot") != std::string::npos);
  auto p = split(m);
  CHECK(p.text.find(std::string(5000, 'a') + "\r\n.leading dot\r\n" + repeat("é", 300)) !=
        std::string::npos);
}

TEST_CASE("email: templates for subject and text") {
  auto o = options();
  o.subject_template = "{{ .Tag }} {{ .Service }}: {{ .Title }}";
  o.text_template = "Incident {{ .IncidentID }} <{{ .IncidentURL }}>";
  std::string m = email_message(sample(), o, t0_ms);
  CHECK(header(m, "Subject") == "TRIGGERED checkout: checkout is down");
  auto p = split(m);
  CHECK(p.text == "Incident inc-42 <https://wk.example.com/incidents/inc-42>");
  CHECK(p.html.find("Incident inc-42 &lt;https://wk.example.com/incidents/inc-42&gt;") !=
        std::string::npos);
}
