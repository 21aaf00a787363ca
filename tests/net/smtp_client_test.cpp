#include "net/smtp_client.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "notify/email.hpp"
#include "tests/net/target_process.hpp"

extern char** environ;

using namespace wk::net;
using wk::net::test::temp_dir;
using wk::net::test::unused_port;

namespace {

using clock_type = std::chrono::steady_clock;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// tests/tools/smtp_sink.py (aiosmtpd) on a free 127.0.0.1 port for the life of the object.
class smtp_sink {
 public:
  // extra: more command line arguments, e.g. {"--auth", "u:p"} or {"--tempfail", "1"}.
  explicit smtp_sink(std::vector<std::string> extra = {}) {
    // The port is free when probed; another process may take it before the sink binds, so a
    // sink that dies at start gets a second and third port.
    for (int attempt = 0; attempt < 3 && pid_ <= 0; ++attempt) start(extra);
    if (pid_ <= 0) throw std::runtime_error("smtp_sink.py did not start");
  }
  ~smtp_sink() { stop(); }
  smtp_sink(const smtp_sink&) = delete;
  smtp_sink& operator=(const smtp_sink&) = delete;

  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_.path(); }

  // The n-th accepted message (1-based): its envelope as JSON and the exact DATA bytes.
  bool message(int n, rapidjson::Document& envelope, std::string& data) const {
    char name[16];
    std::snprintf(name, sizeof name, "%06d", n);
    const std::string json = read_bytes(dir() + "/" + name + ".json");
    if (json.empty()) return false;
    envelope.Parse(json.c_str());
    data = read_bytes(dir() + "/" + name + ".eml");
    return !envelope.HasParseError();
  }

  std::size_t message_count() const {
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir()))
      n += entry.path().extension() == ".json";
    return n;
  }

 private:
  void start(const std::vector<std::string>& extra) {
    port_ = unused_port();
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    const std::string script = std::string(WK_SOURCE_DIR) + "/tests/tools/smtp_sink.py";
    std::vector<std::string> args = {"/usr/bin/python3",    script,  "--port",
                                     std::to_string(port_), "--dir", dir_.path()};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Debian's interpreter, not a pyenv shim: aiosmtpd is a Debian package.
    const int rc = posix_spawn(&pid_, "/usr/bin/python3", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    if (rc != 0) {
      close(out[0]);
      pid_ = -1;
      throw std::runtime_error("cannot start /usr/bin/python3 " + script);
    }
    const bool ready = wait_ready(out[0]);
    close(out[0]);
    if (!ready) stop();
  }

  bool wait_ready(int fd) {
    const auto deadline = clock_type::now() + std::chrono::seconds(20);
    std::string seen;
    while (clock_type::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char buffer[256];
        const ssize_t n = read(fd, buffer, sizeof buffer);
        if (n <= 0) return false;  // exited before saying ready
        seen.append(buffer, static_cast<std::size_t>(n));
        if (seen.find("ready\n") != std::string::npos) return true;
      }
    }
    return false;
  }

  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  temp_dir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

int listen_local(int backlog, int& port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, backlog) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  port = ntohs(address.sin_port);
  return fd;
}

// A minimal SMTP server on a thread: greets, accepts EHLO and MAIL, answers RCPT with a fixed
// reply, and records every command line it reads.
class scripted_server {
 public:
  explicit scripted_server(std::string rcpt_reply) : rcpt_reply_(std::move(rcpt_reply)) {
    listener_ = listen_local(8, port_);
    thread_ = std::thread([this] { run(); });
  }
  ~scripted_server() {
    stop_ = true;
    thread_.join();
    close(listener_);
  }
  scripted_server(const scripted_server&) = delete;
  scripted_server& operator=(const scripted_server&) = delete;

  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> commands() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return commands_;
  }

 private:
  void run() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      serve(client);
      close(client);
    }
  }

  void serve(int client) {
    send_text(client, "220 scripted ESMTP\r\n");
    std::string buffer;
    while (!stop_) {
      pollfd p{client, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char chunk[1024];
      const ssize_t n = read(client, chunk, sizeof chunk);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<std::size_t>(n));
      for (auto end = buffer.find("\r\n"); end != std::string::npos; end = buffer.find("\r\n")) {
        const std::string line = buffer.substr(0, end);
        buffer.erase(0, end + 2);
        {
          std::lock_guard<std::mutex> lock(mutex_);
          commands_.push_back(line);
        }
        const std::string verb = line.substr(0, 4);
        if (verb == "EHLO")
          send_text(client, "250-scripted\r\n250 8BITMIME\r\n");
        else if (verb == "HELO" || verb == "MAIL" || verb == "RSET" || verb == "NOOP")
          send_text(client, "250 OK\r\n");
        else if (verb == "RCPT")
          send_text(client, rcpt_reply_ + "\r\n");
        else if (verb == "QUIT")
          return send_text(client, "221 bye\r\n");
        else
          send_text(client, "502 not here\r\n");
      }
    }
  }

  static void send_text(int fd, const std::string& text) {
    (void)!send(fd, text.data(), text.size(), MSG_NOSIGNAL);
  }

  std::string rcpt_reply_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> commands_;
  std::thread thread_;
};

smtp_message basic_message(const std::string& url) {
  smtp_message m;
  m.url = url;
  m.from = "Watchkeeper <wk@example.com>";
  m.to = {"Ops Team <ops@example.com>", "pager@example.com"};
  m.data =
      "From: Watchkeeper <wk@example.com>\r\nTo: ops@example.com\r\nSubject: test\r\n\r\nbody\r\n";
  m.timeout_ms = 10000;
  return m;
}

std::vector<std::string> strings(const rapidjson::Value& array) {
  std::vector<std::string> out;
  for (const auto& v : array.GetArray()) out.emplace_back(v.GetString(), v.GetStringLength());
  return out;
}

}  // namespace

TEST_CASE("smtp: a real SMTP server receives the envelope and the exact bytes") {
  smtp_sink sink;
  smtp_message m = basic_message(sink.url());
  // 8-bit UTF-8 in a header, dot lines that need stuffing, a lone "." that must not end DATA,
  // and a CRLF.CRLF inside the text.
  m.data =
      "From: Watchkeeper <wk@example.com>\r\n"
      "To: Ops Team <ops@example.com>\r\n"
      "Subject: St\xc3\xb6rung \xe2\x80\x93 \xd0\xb1\xd0\xb0\xd0\xb7\xd0\xb0 \xe2\x9a\xa0\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "\r\n"
      ".leading dot\r\n"
      "..two dots\r\n"
      ".\r\n"
      "after the lone dot\r\n"
      "\r\n.\r\n"
      "end\r\n";
  const smtp_result r = send_mail(m);
  INFO(r.error);
  REQUIRE(r.ok);
  CHECK(r.reply_code == 250);
  CHECK(r.error.empty());

  rapidjson::Document envelope;
  std::string data;
  REQUIRE(sink.message(1, envelope, data));
  CHECK(std::string(envelope["mail_from"].GetString()) == "wk@example.com");
  CHECK(strings(envelope["rcpt_tos"]) ==
        std::vector<std::string>{"ops@example.com", "pager@example.com"});
  CHECK(data == m.data);
  CHECK(sink.message_count() == 1);
}

TEST_CASE("smtp: notify::email_message arrives unchanged, UTF-8 subject included") {
  wk::notify::notification n;
  n.incident_id = "42";
  n.title = "Datenbank gest\xc3\xb6rt \xe2\x80\x94 \xe6\x95\xb0\xe6\x8d\xae\xe5\xba\x93";
  n.service = "db";
  n.severity = "critical";
  n.transition = "triggered";
  n.status = "triggered";
  n.external_url = "https://wk.example.com";
  n.at_ms = 1774767600000;
  n.common_annotations = {{"summary", ".starts with a dot\nand continues"}};
  wk::notify::email_options o;
  o.from = "Watchkeeper <wk@example.com>";
  o.to = {"ops@example.com"};
  o.domain = "wk.example.com";
  smtp_sink sink;
  smtp_message m = basic_message(sink.url());
  m.to = o.to;
  m.data = wk::notify::email_message(n, o, n.at_ms);
  const smtp_result r = send_mail(m);
  INFO(r.error);
  REQUIRE(r.ok);
  rapidjson::Document envelope;
  std::string data;
  REQUIRE(sink.message(1, envelope, data));
  CHECK(data == m.data);
  CHECK(data.find("Subject: =?UTF-8?B?") != std::string::npos);
  CHECK(strings(envelope["rcpt_tos"]) == std::vector<std::string>{"ops@example.com"});
}

TEST_CASE("smtp: concurrent sends from several threads each arrive once") {
  smtp_sink sink;
  constexpr int senders = 8;
  std::vector<smtp_result> results(senders);
  std::vector<std::thread> threads;
  for (int i = 0; i < senders; ++i) {
    threads.emplace_back([&, i] {
      smtp_message m = basic_message(sink.url());
      m.data = "Subject: sender " + std::to_string(i) + "\r\n\r\nbody\r\n";
      results[i] = send_mail(m);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    INFO(r.error);
    CHECK(r.ok);
  }
  REQUIRE(sink.message_count() == senders);
  std::vector<bool> seen(senders, false);
  for (int n = 1; n <= senders; ++n) {
    rapidjson::Document envelope;
    std::string data;
    REQUIRE(sink.message(n, envelope, data));
    const int sender = std::stoi(data.substr(std::string("Subject: sender ").size()));
    REQUIRE(sender >= 0);
    REQUIRE(sender < senders);
    CHECK_FALSE(seen[sender]);
    seen[sender] = true;
  }
}

TEST_CASE("smtp: bare LF and CR line ends are sent as CRLF") {
  smtp_sink sink;
  smtp_message m = basic_message(sink.url());
  m.data = "Subject: lf\n\nline one\n.\rline two\r\nend";
  const smtp_result r = send_mail(m);
  INFO(r.error);
  REQUIRE(r.ok);
  rapidjson::Document envelope;
  std::string data;
  REQUIRE(sink.message(1, envelope, data));
  CHECK(data == "Subject: lf\r\n\r\nline one\r\n.\r\nline two\r\nend\r\n");
}

TEST_CASE("smtp: AUTH with the right password delivers, a wrong one is a permanent 535") {
  smtp_sink sink({"--auth", "wk-user:s3cret-pass"});
  smtp_message m = basic_message(sink.url());
  m.username = "wk-user";
  m.password = "s3cret-pass";
  smtp_result r = send_mail(m);
  INFO(r.error);
  REQUIRE(r.ok);
  rapidjson::Document envelope;
  std::string data;
  REQUIRE(sink.message(1, envelope, data));
  CHECK(std::string(envelope["auth_user"].GetString()) == "wk-user");

  m.password = "wrong-pass";
  r = send_mail(m);
  CHECK_FALSE(r.ok);
  CHECK(r.reply_code == 535);
  CHECK(r.permanent);
  CHECK(r.error.find("535") != std::string::npos);
  CHECK(r.error.find("wrong-pass") == std::string::npos);

  m.username.clear();
  m.password.clear();
  r = send_mail(m);  // the sink requires AUTH before MAIL
  CHECK_FALSE(r.ok);
  CHECK(r.reply_code == 530);
  CHECK(r.permanent);
  CHECK(sink.message_count() == 1);
}

TEST_CASE("smtp: a 451 after DATA is temporary and the retry is delivered once") {
  smtp_sink sink({"--tempfail", "1"});
  const smtp_message m = basic_message(sink.url());
  smtp_result r = send_mail(m);
  CHECK_FALSE(r.ok);
  CHECK(r.reply_code == 451);
  CHECK_FALSE(r.permanent);
  CHECK(r.error.find("451 4.3.0 temporary failure") != std::string::npos);
  CHECK(sink.message_count() == 0);

  r = send_mail(m);
  INFO(r.error);
  CHECK(r.ok);
  CHECK(sink.message_count() == 1);
}

TEST_CASE("smtp: require_tls refuses a server without STARTTLS and sends nothing") {
  smtp_sink sink;
  smtp_message m = basic_message(sink.url());
  m.require_tls = true;
  const smtp_result r = send_mail(m);
  CHECK_FALSE(r.ok);
  CHECK(r.reply_code == 0);
  CHECK_FALSE(r.permanent);
  CHECK(r.error.find("STARTTLS") != std::string::npos);
  CHECK(sink.message_count() == 0);
}

TEST_CASE("smtp: a 550 to RCPT is permanent, a 451 is not, and no DATA follows either") {
  scripted_server rejecting("550 5.1.1 <ops@example.com>: Recipient address rejected");
  smtp_result r = send_mail(basic_message(rejecting.url()));
  CHECK_FALSE(r.ok);
  CHECK(r.reply_code == 550);
  CHECK(r.permanent);
  CHECK(r.error.find("550") != std::string::npos);
  CHECK(r.error.find("Recipient address rejected") != std::string::npos);
  const auto commands = rejecting.commands();
  REQUIRE(commands.size() >= 3);
  CHECK(commands[0].rfind("EHLO ", 0) == 0);
  CHECK(commands[1].rfind("MAIL FROM:<wk@example.com>", 0) == 0);
  CHECK(commands[2] == "RCPT TO:<ops@example.com>");
  for (const auto& c : commands) CHECK(c != "DATA");

  scripted_server busy("451 4.3.0 try again later");
  r = send_mail(basic_message(busy.url()));
  CHECK_FALSE(r.ok);
  CHECK(r.reply_code == 451);
  CHECK_FALSE(r.permanent);
}

TEST_CASE("smtp: a server that never answers times out, a closed port fails fast") {
  int port = 0;
  const int silent = listen_local(8, port);
  smtp_message m = basic_message("smtp://127.0.0.1:" + std::to_string(port));
  m.timeout_ms = 300;
  const auto start = clock_type::now();
  smtp_result r = send_mail(m);
  const auto took = clock_type::now() - start;
  close(silent);
  CHECK_FALSE(r.ok);
  CHECK(r.reply_code == 0);
  CHECK_FALSE(r.permanent);
  CHECK(r.error == "timeout after 300 ms");
  CHECK(took >= std::chrono::milliseconds(250));
  CHECK(took < std::chrono::seconds(3));

  m.url = "smtp://127.0.0.1:" + std::to_string(unused_port());
  m.timeout_ms = 5000;
  r = send_mail(m);
  CHECK_FALSE(r.ok);
  CHECK(r.reply_code == 0);
  CHECK_FALSE(r.permanent);
  CHECK_FALSE(r.error.empty());
}

TEST_CASE("smtp: a message that cannot be sent as given fails at once, permanently") {
  const smtp_message good = basic_message("smtp://127.0.0.1:1");
  auto rejected = [](const smtp_message& m, const std::string& why) {
    const smtp_result r = send_mail(m);
    CHECK_FALSE(r.ok);
    CHECK(r.permanent);
    CHECK(r.reply_code == 0);
    CHECK(r.error == why);
  };
  smtp_message m = good;
  m.url = "http://127.0.0.1:1";
  rejected(m, "the relay URL must start with smtp:// or smtps://");
  m = good;
  m.url = "smtp://127.0.0.1:1/\r\nRSET";
  rejected(m, "the relay URL contains spaces or control characters");
  m = good;
  m.to.clear();
  rejected(m, "no recipients");
  m = good;
  m.to.push_back("evil@example.com>\r\nRCPT TO:<other@example.com");
  rejected(m, "invalid recipient address (entry 3)");
  m = good;
  m.from = "not an address";
  rejected(m, "invalid sender address");
  m = good;
  m.password = "secret";
  rejected(m, "a password without a username");
  m = good;
  m.timeout_ms = 0;
  rejected(m, "timeout must be between 1 ms and 24 h");
  m = good;
  m.data = std::string("a\0b", 3);
  rejected(m, "message contains a NUL byte");
  m = good;
  m.to.assign(1001, "a@example.com");
  rejected(m, "more than 1000 recipients");
}

TEST_CASE("smtp: envelope_address takes the address part") {
  CHECK(envelope_address("ops@example.com") == std::optional<std::string>("ops@example.com"));
  CHECK(envelope_address(" Ops <ops@example.com> ") ==
        std::optional<std::string>("ops@example.com"));
  CHECK(envelope_address("\"a <b>\" <c@example.com>") ==
        std::optional<std::string>("c@example.com"));
  CHECK_FALSE(envelope_address(""));
  CHECK_FALSE(envelope_address("<>"));
  CHECK_FALSE(envelope_address("ops"));
  CHECK_FALSE(envelope_address("ops@"));
  CHECK_FALSE(envelope_address("a b@example.com"));
  CHECK_FALSE(envelope_address("Ops <ops@example.com"));
  CHECK_FALSE(envelope_address("Ops\r\n <ops@example.com>"));
  CHECK_FALSE(envelope_address(std::string(300, 'a') + "@example.com"));
}
