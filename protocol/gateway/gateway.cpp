#include "protocol/gateway/gateway.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <future>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <libwebsockets.h>

#include "protocol/gateway/lws_log.hpp"
#include "protocol/http/chunked_decoder.hpp"
#include "protocol/http/uri.hpp"
#include "telemetry/logging.hpp"

namespace wk::gateway {

namespace {

// Body bytes handed to lws per WRITEABLE callback: big enough for throughput, small enough
// that a slow reader never makes lws copy a whole large body into its own buffer.
constexpr std::size_t write_chunk = 64 * 1024;
// Request bodies start with at most this much room and grow as bytes arrive, so a declared
// Content-Length alone does not claim memory.
constexpr std::size_t initial_body_reserve = 64 * 1024;
// After an answer that closes the connection (413, 400...), keep reading and discarding for
// this long so the client sees the answer rather than a reset caused by unread upload bytes.
constexpr auto drain_time = std::chrono::seconds(2);
// A client that stops reading a response is dropped after this long without progress.
constexpr int send_stall_seconds = 30;
// Body-less interim answer to "Expect: 100-continue".
constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

struct reply_key {
  std::uint64_t connection = 0;
  std::uint64_t generation = 0;
  bool operator==(const reply_key& o) const {
    return connection == o.connection && generation == o.generation;
  }
};

struct reply_key_hash {
  std::size_t operator()(const reply_key& k) const noexcept {
    return std::hash<std::uint64_t>{}(k.connection * 0x9E3779B97F4A7C15ull ^ k.generation);
  }
};

struct queued_response {
  reply_key key;
  http::http_response response;
};

// Shared by the gateway and every responder it hands out: a responder called after stop(), or
// after the gateway is gone, finds a closed mailbox instead of freed memory.
struct mailbox {
  std::mutex mutex;
  lws_context* context = nullptr;  // non-null while serving
  std::thread::id service_thread;
  std::vector<queued_response> queue;
};

// The answer slot of one request, shared by all copies of its responder so that only the first
// call counts.
struct pending_reply {
  std::shared_ptr<mailbox> box;
  reply_key key;
  std::atomic<bool> answered{false};

  void post(http::http_response response) {
    if (answered.exchange(true))
      return;
    std::lock_guard<std::mutex> lock(box->mutex);
    if (!box->context)
      return;
    // The service thread drains the queue itself right after each handler call, so only other
    // threads need to wake it, and only the first of a batch.
    const bool wake = box->queue.empty() && std::this_thread::get_id() != box->service_thread;
    box->queue.push_back({key, std::move(response)});
    if (wake)
      lws_cancel_service(box->context);
  }
};

// Per TCP connection, hung on the wsi as lws "opaque user data".
struct connection {
  lws* owner = nullptr;
  std::uint64_t id = 0;
  std::uint64_t last_generation = 0;
  bool busy = false;           // a request on this connection is not answered yet
  std::string remote_address;  // looked up once, not per request
};

enum class phase { receiving, awaiting, sending, draining, done };

// One HTTP transaction. lws hands out per-session memory as raw zeroed bytes between
// HTTP_BIND_PROTOCOL and HTTP_DROP_PROTOCOL (per transaction, since keep-alive rebinds);
// a session is placement-new'ed into it on bind and destroyed on drop or close.
struct session {
  reply_key key;
  phase state = phase::receiving;
  lws* wsi = nullptr;
  const char* method = "";
  std::string path;  // kept for logs once the request is handed over
  http::http_request request;
  std::optional<http::chunked_decoder> chunked;
  bool head = false;
  bool close_after = false;
  bool continue_pending = false;  // owes the client a "100 Continue" before the body
  // While awaiting an answer: listed in impl::awaiting and linked oldest-first for timeouts.
  bool registered = false;
  std::chrono::steady_clock::time_point deadline;
  session* older = nullptr;
  session* newer = nullptr;
  http::http_response response;
  std::size_t body_sent = 0;
  bool head_written = false;  // the head went out alone (large bodies)
  bool shutdown_pending = false;
  std::chrono::steady_clock::time_point drain_deadline;
};

// The one lws timer for response deadlines; standard layout so the callback can get back
// from the sul to its owner.
struct deadline_timer {
  lws_sorted_usec_list_t sul;
  void* owner;
};

struct session_slot {
  session* live;  // null until bound: lws zeroes the memory
  alignas(session) unsigned char storage[sizeof(session)];
};

session* session_of(void* user) {
  return user ? static_cast<session_slot*>(user)->live : nullptr;
}

bool ascii_iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) {
             return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
           };
           return lower(x) == lower(y);
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::optional<std::uint64_t> parse_content_length(std::string_view s) {
  s = trim(s);
  if (s.empty() || s.size() > 18)
    return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

bool is_tchar(char c) {
  static constexpr std::string_view punctuation = "!#$%&'*+-.^_`|~";
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         punctuation.find(c) != std::string_view::npos;
}

// Response headers a handler may set: well-formed, and not the framing ones the gateway owns.
bool acceptable_response_header(const http::header& h) {
  if (h.name.empty() || h.name.size() > 256 || !std::all_of(h.name.begin(), h.name.end(), is_tchar))
    return false;
  if (h.value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
    return false;
  for (const char* owned : {"content-length", "transfer-encoding", "connection", "content-type"})
    if (ascii_iequals(h.name, owned))
      return false;
  return true;
}

const char* method_name(int lws_method) {
  switch (lws_method) {
    case LWSHUMETH_GET:
      return "GET";
    case LWSHUMETH_POST:
      return "POST";
    case LWSHUMETH_OPTIONS:
      return "OPTIONS";
    case LWSHUMETH_PUT:
      return "PUT";
    case LWSHUMETH_PATCH:
      return "PATCH";
    case LWSHUMETH_DELETE:
      return "DELETE";
    case LWSHUMETH_HEAD:
      return "HEAD";
    default:
      return nullptr;
  }
}

struct known_header {
  lws_token_indexes token;
  const char* name;
};

// The request headers handlers can read; lws parses these into its own table.
const known_header known_headers[] = {
  {WSI_TOKEN_HOST, "host"},
  {WSI_TOKEN_HTTP_AUTHORIZATION, "authorization"},
  {WSI_TOKEN_HTTP_CONTENT_TYPE, "content-type"},
  {WSI_TOKEN_HTTP_CONTENT_LENGTH, "content-length"},
  {WSI_TOKEN_HTTP_TRANSFER_ENCODING, "transfer-encoding"},
  {WSI_TOKEN_ORIGIN, "origin"},
  {WSI_TOKEN_HTTP_ACCEPT, "accept"},
  {WSI_TOKEN_HTTP_ACCEPT_ENCODING, "accept-encoding"},
  {WSI_TOKEN_HTTP_USER_AGENT, "user-agent"},
  {WSI_TOKEN_X_FORWARDED_FOR, "x-forwarded-for"},
  {WSI_TOKEN_HTTP_X_REAL_IP, "x-real-ip"},
  {WSI_TOKEN_HTTP_IF_NONE_MATCH, "if-none-match"},
  {WSI_TOKEN_HTTP_IF_MODIFIED_SINCE, "if-modified-since"},
  {WSI_TOKEN_HTTP_CACHE_CONTROL, "cache-control"},
  {WSI_TOKEN_HTTP_EXPECT, "expect"},
  {WSI_TOKEN_CONNECTION, "connection"},
  {WSI_TOKEN_HTTP_AC_REQUEST_HEADERS, "access-control-request-headers"},
};

// Headers lws does not know by name; looked up as "name:" in its unknown-header list.
const char* const custom_headers[] = {
  "x-request-id:",    "x-forwarded-proto:", "x-forwarded-host:",
  "idempotency-key:", "traceparent:",       "access-control-request-method:",
};

struct listen_spec {
  std::string iface;  // empty: all interfaces
  bool ipv6 = false;

  std::string shown() const {
    const std::string host = iface.empty() ? (ipv6 ? "::" : "0.0.0.0") : iface;
    return ipv6 ? "[" + host + "]" : host;
  }
};

std::optional<listen_spec> parse_bind_address(std::string address) {
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  if (address.empty() || address == "0.0.0.0" || address == "*")
    return listen_spec{"", false};
  if (address == "::")
    return listen_spec{"", true};
  if (address == "localhost")
    return listen_spec{"127.0.0.1", false};
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1)
    return listen_spec{address, false};
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1)
    return listen_spec{address, true};
  return std::nullopt;
}

// Room for the status line and headers lws formats for a response.
std::size_t head_capacity(const http::http_response& r) {
  std::size_t n = 256 + r.content_type.size();
  for (const auto& h : r.headers)
    n += h.name.size() + h.value.size() + 8;
  return n;
}

// lws only says that it could not listen; bind a probe socket the same way to learn why.
std::string describe_listen_failure(const listen_spec& spec, int port) {
  const std::string shown = spec.shown();
  const int fd = socket(spec.ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return "cannot create a socket: " + std::string(std::strerror(errno));
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  int rc = 0;
  if (spec.ipv6) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(static_cast<std::uint16_t>(port));
    sa.sin6_addr = in6addr_any;
    if (!spec.iface.empty())
      inet_pton(AF_INET6, spec.iface.c_str(), &sa.sin6_addr);
    rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  } else {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    if (!spec.iface.empty())
      inet_pton(AF_INET, spec.iface.c_str(), &sa.sin_addr);
    rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  const int err = errno;
  close(fd);
  if (rc == 0)
    return "libwebsockets could not listen on " + shown + ":" + std::to_string(port) +
           " (see the gateway log)";
  switch (err) {
    case EADDRINUSE:
      return "port " + std::to_string(port) + " in use";
    case EACCES:
      return "permission denied binding port " + std::to_string(port);
    case EADDRNOTAVAIL:
      return "address " + shown + " is not available on this host";
    default:
      return "cannot bind " + shown + ":" + std::to_string(port) + ": " + std::strerror(err);
  }
}

}  // namespace

struct gateway::impl {
  impl(gateway_options o, http_handler h)
      : options(std::move(o)), handler(std::move(h)), log(telemetry::logger("gateway")) {}

  gateway_options options;
  http_handler handler;
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<mailbox> box = std::make_shared<mailbox>();
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<int> bound_port{0};

  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> responses{0};
  std::atomic<std::uint64_t> rejected_too_large{0};
  std::atomic<std::uint64_t> open_connections{0};
  std::atomic<std::uint64_t> timed_out{0};
  std::atomic<std::uint64_t> refused_connections{0};

  // Service thread only.
  listen_spec listen;  // lws keeps a pointer to listen.iface
  lws_protocols protocols[2]{};
  lws_context* context = nullptr;
  std::uint64_t next_connection_id = 0;
  std::unordered_map<reply_key, lws*, reply_key_hash> awaiting;  // handlers not answered yet
  // The same sessions by deadline. The timeout is one constant, so deadlines follow dispatch
  // order and a list with one timer replaces a sorted per-request timer.
  session* oldest = nullptr;
  session* newest = nullptr;
  deadline_timer timer{};
  // Left armed when its session is answered: firing early is harmless, while rescheduling on
  // every request would cost a walk of lws's sorted timer list each time.
  bool timer_armed = false;
  std::vector<queued_response> inbox;
  std::vector<unsigned char> out;  // LWS_PRE headroom + one write

  void run(std::promise<std::string>& ready);
  static int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len);
  int handle(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len);

  connection* connection_of(lws* wsi);
  void destroy_session(void* user);
  int on_upgrade(lws* wsi, std::string_view protocol);
  int on_request(lws* wsi, session& s);
  int on_body(lws* wsi, session& s, std::string_view data);
  void read_request(lws* wsi, session& s);
  void expect_continue(lws* wsi, session& s);
  void dispatch(lws* wsi, session& s);
  void track(lws* wsi, session& s);
  void untrack(session& s);
  void arm_timer();
  static void on_deadline(lws_sorted_usec_list_t* sul);
  void expire_due();
  void drain_inbox();
  void start_response(lws* wsi, session& s, http::http_response response);
  void reject(lws* wsi, session& s, int status, std::string_view title, std::string_view detail);
  int on_writeable(lws* wsi, session& s);
  int finish_response(lws* wsi, session& s);
  int begin_drain(lws* wsi, session& s);
  unsigned char* reserve_out(std::size_t bytes);
  bool write_head(lws* wsi, const http::http_response& r, std::size_t content_length, bool close,
                  unsigned char** p, unsigned char* end);
  bool write_whole(lws* wsi, const http::http_response& r, bool head_only, bool close);
};

// --- lifecycle ------------------------------------------------------------------------------

gateway::gateway(gateway_options options, http_handler handler)
    : impl_(std::make_unique<impl>(std::move(options), std::move(handler))) {}

gateway::~gateway() {
  stop();
}

bool gateway::start(std::string* error) {
  auto fail = [&](std::string why) {
    if (error)
      *error = std::move(why);
    return false;
  };
  const auto& o = impl_->options;
  if (impl_->thread.joinable())
    return fail("gateway already started");
  if (!impl_->handler)
    return fail("no request handler");
  if (o.port < 0 || o.port > 65535)
    return fail("port " + std::to_string(o.port) + " is outside 0-65535");
  if (o.max_header_bytes < 1024 || o.max_header_bytes > (1u << 20))
    return fail("max_header_bytes must be between 1024 and 1048576");
  if (o.max_connections == 0)
    return fail("max_connections must be positive");
  if (o.response_timeout.count() <= 0)
    return fail("response_timeout must be positive");
  auto spec = parse_bind_address(o.bind_address);
  if (!spec)
    return fail("bind address '" + o.bind_address + "' is not an IP address");
  impl_->listen = std::move(*spec);

  std::promise<std::string> ready;
  auto outcome = ready.get_future();
  impl_->stopping = false;
  impl_->thread = std::thread([this, ready = std::move(ready)]() mutable { impl_->run(ready); });
  std::string failure = outcome.get();
  if (!failure.empty()) {
    impl_->thread.join();
    return fail(std::move(failure));
  }
  return true;
}

void gateway::stop() {
  if (!impl_->thread.joinable())
    return;
  impl_->stopping = true;
  {
    std::lock_guard<std::mutex> lock(impl_->box->mutex);
    if (impl_->box->context)
      lws_cancel_service(impl_->box->context);
  }
  impl_->thread.join();
}

int gateway::port() const {
  return impl_->bound_port.load();
}

gateway::stats gateway::get_stats() const {
  stats s;
  s.requests = impl_->requests.load(std::memory_order_relaxed);
  s.responses = impl_->responses.load(std::memory_order_relaxed);
  s.rejected_too_large = impl_->rejected_too_large.load(std::memory_order_relaxed);
  s.open_connections = impl_->open_connections.load(std::memory_order_relaxed);
  s.timed_out = impl_->timed_out.load(std::memory_order_relaxed);
  s.refused_connections = impl_->refused_connections.load(std::memory_order_relaxed);
  return s;
}

void gateway::impl::run(std::promise<std::string>& ready) {
  try {
    route_lws_logs_to_spdlog();
    {
      std::lock_guard<std::mutex> lock(box->mutex);
      box->service_thread = std::this_thread::get_id();
    }
    // protocols[0] takes plain HTTP; a WebSocket protocol can follow it in this list.
    protocols[0].name = "http";
    protocols[0].callback = &impl::callback;
    protocols[0].per_session_data_size = sizeof(session_slot);

    lws_context_creation_info info;
    std::memset(&info, 0, sizeof info);
    info.port = options.port;
    info.iface = listen.iface.empty() ? nullptr : listen.iface.c_str();
    info.protocols = protocols;
    info.vhost_name = "default";
    info.user = this;
    info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
                   (listen.ipv6 ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6);
    info.max_http_header_data = 0;
    info.max_http_header_data2 = static_cast<unsigned int>(options.max_header_bytes);
    info.keepalive_timeout =
      static_cast<int>(std::max<long long>(1, options.keepalive_timeout.count()));
    info.pt_serv_buf_size = 32 * 1024;
    info.gid = -1;
    info.uid = -1;
    context = lws_create_context(&info);
    if (!context) {
      ready.set_value(describe_listen_failure(listen, options.port));
      return;
    }
    timer = deadline_timer{};
    timer.owner = this;
    timer_armed = false;
    lws_vhost* vhost = lws_get_vhost_by_name(context, "default");
    bound_port = vhost ? lws_get_vhost_listen_port(vhost) : options.port;
    {
      std::lock_guard<std::mutex> lock(box->mutex);
      box->context = context;
    }
  } catch (const std::exception& e) {
    if (context) {
      lws_context_destroy(context);
      context = nullptr;
    }
    ready.set_value(std::string("cannot start the gateway: ") + e.what());
    return;
  }
  log->info("listening on {}:{}", listen.shown(), bound_port.load());
  ready.set_value({});

  while (!stopping.load()) {
    if (lws_service(context, 0) < 0) {
      log->error("the lws service loop failed; the gateway stops serving");
      break;
    }
  }
  {
    std::lock_guard<std::mutex> lock(box->mutex);
    box->context = nullptr;
    box->queue.clear();
  }
  lws_sul_cancel(&timer.sul);
  lws_context_destroy(context);
  context = nullptr;
  awaiting.clear();
  oldest = newest = nullptr;
  log->info("stopped listening on port {}", bound_port.load());
}

// --- lws callback ---------------------------------------------------------------------------

int gateway::impl::callback(lws* wsi, lws_callback_reasons reason, void* user, void* in,
                            std::size_t len) {
  auto* self = wsi ? static_cast<impl*>(lws_context_user(lws_get_context(wsi))) : nullptr;
  if (!self)
    return 0;
  try {
    return self->handle(wsi, reason, user, in, len);
  } catch (const std::exception& e) {
    self->log->error("closing a connection after an internal error: {}", e.what());
  } catch (...) {
    self->log->error("closing a connection after an unknown internal error");
  }
  return -1;
}

int gateway::impl::handle(lws* wsi, lws_callback_reasons reason, void* user, void* in,
                          std::size_t len) {
  switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
      if (open_connections.load() >= options.max_connections) {
        if (refused_connections.fetch_add(1) % 1000 == 0)
          log->warn("refusing connections: {} open (max_connections)", options.max_connections);
        return 1;
      }
      return 0;

    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED: {
      auto* c = new connection;
      c->owner = wsi;
      c->id = ++next_connection_id;
      lws_set_opaque_user_data(wsi, c);
      ++open_connections;
      return 0;
    }

    case LWS_CALLBACK_WSI_DESTROY: {
      destroy_session(user);  // normally gone already (DROP_PROTOCOL / CLOSED_HTTP)
      auto* c = static_cast<connection*>(lws_get_opaque_user_data(wsi));
      if (c && c->owner == wsi) {
        lws_set_opaque_user_data(wsi, nullptr);
        delete c;
        --open_connections;
      }
      return 0;
    }

    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
      return on_upgrade(wsi, in ? static_cast<const char*>(in) : "");

    case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
      if (user) {
        destroy_session(user);
        auto* slot = static_cast<session_slot*>(user);
        slot->live = new (slot->storage) session();
      }
      return 0;

    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
      destroy_session(user);
      return 0;

    case LWS_CALLBACK_RAW_ADOPT:
    case LWS_CALLBACK_RAW_CLOSE:
      // CONNECT turns the connection raw; nothing here serves that.
      destroy_session(user);
      return reason == LWS_CALLBACK_RAW_ADOPT ? -1 : 0;

    case LWS_CALLBACK_HTTP: {
      if (!user)
        return -1;
      // A binding that already served a request (should lws skip the rebind) starts over
      // from a fresh session.
      auto* slot = static_cast<session_slot*>(user);
      if (!slot->live || slot->live->key.generation != 0) {
        destroy_session(user);
        slot->live = new (slot->storage) session();
      }
      return on_request(wsi, *slot->live);
    }

    case LWS_CALLBACK_HTTP_BODY: {
      session* s = session_of(user);
      return s ? on_body(wsi, *s, std::string_view(static_cast<const char*>(in), len)) : -1;
    }

    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
      session* s = session_of(user);
      if (s && s->state == phase::receiving && !s->chunked)
        dispatch(wsi, *s);
      return 0;
    }

    case LWS_CALLBACK_HTTP_WRITEABLE: {
      session* s = session_of(user);
      return s ? on_writeable(wsi, *s) : 0;
    }

    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
      drain_inbox();
      return 0;

    default:
      return 0;
  }
}

connection* gateway::impl::connection_of(lws* wsi) {
  auto* c = static_cast<connection*>(lws_get_opaque_user_data(wsi));
  return c && c->owner == wsi ? c : nullptr;
}

void gateway::impl::destroy_session(void* user) {
  if (!user)
    return;
  auto* slot = static_cast<session_slot*>(user);
  session* s = slot->live;
  if (!s)
    return;
  untrack(*s);
  s->~session();
  slot->live = nullptr;
}

int gateway::impl::on_upgrade(lws* wsi, std::string_view protocol) {
  // Served: HTTP/1.1 only. lws 4.1 mishandles h2c (request bodies are lost, stream 1 gets no
  // send window), and the WebSocket fan-out is not attached yet, so every upgrade is answered
  // with a problem and the connection closed. A WebSocket protocol takes over here later.
  const bool h2c = ascii_iequals(protocol, "h2c");
  const auto answer =
    h2c ? http::problem(505, "HTTP Version Not Supported",
                        "HTTP/2 upgrades (h2c) are not supported; send the request over HTTP/1.1")
        : http::problem(501, "Not Implemented",
                        "upgrading to '" + std::string(protocol) + "' is not supported here");
  ++requests;
  if (write_whole(wsi, answer, false, true))
    ++responses;
  return -1;
}

// --- requests -------------------------------------------------------------------------------

int gateway::impl::on_request(lws* wsi, session& s) {
  connection* c = connection_of(wsi);
  // lws holds a pipelined request back until the previous transaction completes. Should one
  // ever arrive early its answer could overtake the previous one, so the connection closes.
  if (!c || c->busy)
    return -1;
  c->busy = true;
  s.key = {c->id, ++c->last_generation};
  ++requests;

  char* uri = nullptr;
  int uri_len = 0;
  const char* method = method_name(lws_http_get_uri_and_method(wsi, &uri, &uri_len));
  if (!method) {
    reject(wsi, s, 501, "Not Implemented", "this server does not implement that method");
    return 0;
  }
  s.method = method;
  s.request.method = method;
  s.head = s.request.method == "HEAD";
  if (uri && uri_len > 0)
    s.request.path.assign(uri, static_cast<std::size_t>(uri_len));
  else
    s.request.path = "/";
  s.path = s.request.path;
  read_request(wsi, s);

  const std::string_view te = s.request.header_value("transfer-encoding");
  const std::string_view cl = s.request.header_value("content-length");
  if (!te.empty()) {
    if (!cl.empty()) {
      reject(wsi, s, 400, "Bad Request",
             "a request cannot have both Content-Length and Transfer-Encoding");
    } else if (!ascii_iequals(trim(te), "chunked")) {
      reject(wsi, s, 501, "Not Implemented",
             "Transfer-Encoding '" + std::string(te) + "' is not supported; use chunked");
    } else {
      // lws 4.1 treats a body without Content-Length as up to 100 MB long and would swallow
      // the next request as its remainder, so this connection ends with the answer.
      s.close_after = true;
      s.chunked.emplace(options.max_body_bytes);
      expect_continue(wsi, s);
    }
    return 0;
  }
  if (!cl.empty()) {
    const auto length = parse_content_length(cl);
    if (!length) {
      reject(wsi, s, 400, "Bad Request",
             "Content-Length '" + std::string(cl) + "' is not a number");
      return 0;
    }
    if (*length > options.max_body_bytes) {
      ++rejected_too_large;
      reject(wsi, s, 413, "Content Too Large",
             "the request body of " + std::to_string(*length) + " bytes exceeds the limit of " +
               std::to_string(options.max_body_bytes) + " bytes");
      return 0;
    }
    if (*length > 0) {
      s.request.body.reserve(
        std::min<std::size_t>(static_cast<std::size_t>(*length), initial_body_reserve));
      expect_continue(wsi, s);
      return 0;
    }
  }
  // No framing: the request has no body (RFC 9112 6.3). lws 4.1 still expects one for
  // POST, PUT and PATCH and would eat the next request as its body: close after answering.
  if (cl.empty() &&
      (s.request.method == "POST" || s.request.method == "PUT" || s.request.method == "PATCH"))
    s.close_after = true;
  dispatch(wsi, s);
  return 0;
}

void gateway::impl::read_request(lws* wsi, session& s) {
  // lws splits the query into decoded "name=value" fragments; re-encode them so raw_query is a
  // canonical encoded string that parse_query() reads back exactly.
  const int args_len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
  if (args_len > 0) {
    std::string fragment(static_cast<std::size_t>(args_len) + 1, '\0');
    for (int i = 0;; ++i) {
      const int n =
        lws_hdr_copy_fragment(wsi, fragment.data(), args_len + 1, WSI_TOKEN_HTTP_URI_ARGS, i);
      if (n < 0)
        break;
      if (n == 0)
        continue;
      const std::string_view arg(fragment.data(), static_cast<std::size_t>(n));
      if (!s.request.raw_query.empty())
        s.request.raw_query += '&';
      const std::size_t eq = arg.find('=');
      s.request.raw_query += http::percent_encode(arg.substr(0, eq));
      if (eq != std::string_view::npos) {
        s.request.raw_query += '=';
        s.request.raw_query += http::percent_encode(arg.substr(eq + 1));
      }
    }
  }

  for (const auto& k : known_headers) {
    const int n = lws_hdr_total_length(wsi, k.token);
    if (n <= 0)
      continue;
    std::string value(static_cast<std::size_t>(n) + 1, '\0');
    const int copied = lws_hdr_copy(wsi, value.data(), n + 1, k.token);
    if (copied < 0)
      continue;
    value.resize(static_cast<std::size_t>(copied));
    s.request.headers.push_back({k.name, std::move(value)});
  }
  for (const char* name : custom_headers) {
    const int name_len = static_cast<int>(std::strlen(name));
    const int n = lws_hdr_custom_length(wsi, name, name_len);
    if (n < 0)
      continue;
    std::string value(static_cast<std::size_t>(n) + 1, '\0');
    const int copied = lws_hdr_custom_copy(wsi, value.data(), n + 1, name, name_len);
    if (copied < 0)
      continue;
    value.resize(static_cast<std::size_t>(copied));
    s.request.headers.push_back(
      {std::string(name, static_cast<std::size_t>(name_len - 1)), std::string(trim(value))});
  }

  if (connection* c = connection_of(wsi)) {
    if (c->remote_address.empty()) {
      char peer[128];
      if (const char* address = lws_get_peer_simple(wsi, peer, sizeof peer))
        c->remote_address = address;
    }
    s.request.remote_address = c->remote_address;
  }
  log->trace("{} {} from {}", s.method, s.path, s.request.remote_address);
}

void gateway::impl::expect_continue(lws* wsi, session& s) {
  if (!ascii_iequals(trim(s.request.header_value("expect")), "100-continue"))
    return;
  s.continue_pending = true;
  lws_callback_on_writable(wsi);
}

int gateway::impl::on_body(lws* wsi, session& s, std::string_view data) {
  switch (s.state) {
    case phase::receiving:
      if (s.chunked) {
        std::size_t consumed = 0;
        switch (s.chunked->feed(data, s.request.body, consumed)) {
          case http::chunked_decoder::status::need_more:
            return 0;
          case http::chunked_decoder::status::done:
            dispatch(wsi, s);
            return 0;
          case http::chunked_decoder::status::too_large:
            ++rejected_too_large;
            reject(wsi, s, 413, "Content Too Large",
                   "the chunked request body exceeds the limit of " +
                     std::to_string(options.max_body_bytes) + " bytes");
            return 0;
          case http::chunked_decoder::status::malformed:
            reject(wsi, s, 400, "Bad Request",
                   "malformed chunked body: " + std::string(s.chunked->error()));
            return 0;
        }
        return 0;
      }
      if (s.request.body.size() + data.size() > options.max_body_bytes) {
        ++rejected_too_large;
        reject(wsi, s, 413, "Content Too Large",
               "the request body exceeds the limit of " + std::to_string(options.max_body_bytes) +
                 " bytes");
        return 0;
      }
      s.request.body.append(data);
      return 0;
    case phase::draining:
      return std::chrono::steady_clock::now() > s.drain_deadline ? -1 : 0;
    case phase::awaiting:
    case phase::sending:
    case phase::done:
      // More bytes after a complete, unframed request: a pipelined request lws hands us as
      // body. It cannot be served in order, so the connection closes after this answer.
      s.close_after = true;
      return 0;
  }
  return 0;
}

void gateway::impl::dispatch(lws* wsi, session& s) {
  s.state = phase::awaiting;
  track(wsi, s);
  // The response deadline replaces lws's own timeouts until the answer is being sent.
  lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);

  auto reply = std::make_shared<pending_reply>();
  reply->box = box;
  reply->key = s.key;
  http::responder respond = [reply](http::http_response r) {
    reply->post(std::move(r));
  };
  try {
    handler(std::move(s.request), respond);
  } catch (const std::exception& e) {
    log->error("request handler threw: {}", e.what());
    respond(http::problem(500, "Internal Server Error", "the request handler failed"));
  } catch (...) {
    log->error("request handler threw an unknown exception");
    respond(http::problem(500, "Internal Server Error", "the request handler failed"));
  }
  drain_inbox();
}

void gateway::impl::track(lws* wsi, session& s) {
  s.wsi = wsi;
  s.deadline = std::chrono::steady_clock::now() + options.response_timeout;
  awaiting.emplace(s.key, wsi);
  s.registered = true;
  s.older = newest;
  s.newer = nullptr;
  if (newest)
    newest->newer = &s;
  newest = &s;
  if (!oldest)
    oldest = &s;
  if (!timer_armed)
    arm_timer();
}

void gateway::impl::untrack(session& s) {
  if (!s.registered)
    return;
  awaiting.erase(s.key);
  (s.older ? s.older->newer : oldest) = s.newer;
  (s.newer ? s.newer->older : newest) = s.older;
  s.older = s.newer = nullptr;
  s.registered = false;
}

void gateway::impl::arm_timer() {
  timer_armed = oldest != nullptr;
  if (!oldest)
    return;
  const auto wait = std::chrono::duration_cast<std::chrono::microseconds>(
    oldest->deadline - std::chrono::steady_clock::now());
  lws_sul_schedule(context, 0, &timer.sul, &impl::on_deadline,
                   std::max<lws_usec_t>(0, static_cast<lws_usec_t>(wait.count())));
}

void gateway::impl::on_deadline(lws_sorted_usec_list_t* sul) {
  auto* self = static_cast<impl*>(reinterpret_cast<deadline_timer*>(sul)->owner);
  self->timer_armed = false;
  try {
    self->expire_due();
    return;
  } catch (const std::exception& e) {
    self->log->error("expiring response deadlines failed: {}", e.what());
  } catch (...) {
    self->log->error("expiring response deadlines failed");
  }
  self->arm_timer();  // keep later deadlines alive
}

void gateway::impl::expire_due() {
  const auto now = std::chrono::steady_clock::now();
  while (oldest && oldest->deadline <= now) {
    session& s = *oldest;
    ++timed_out;
    log->warn("{} {}: no answer within {} ms, sending 504", s.method, s.path,
              options.response_timeout.count());
    start_response(s.wsi, s,
                   http::problem(504, "Gateway Timeout",
                                 "the request was not answered within " +
                                   std::to_string(options.response_timeout.count()) + " ms"));
  }
  arm_timer();
}

void gateway::impl::drain_inbox() {
  {
    std::lock_guard<std::mutex> lock(box->mutex);
    inbox.swap(box->queue);
  }
  for (auto& item : inbox) {
    auto it = awaiting.find(item.key);
    if (it == awaiting.end())
      continue;  // answered already (504) or the connection went away
    lws* wsi = it->second;
    session* s = session_of(lws_wsi_user(wsi));
    if (s && s->state == phase::awaiting && s->key == item.key)
      start_response(wsi, *s, std::move(item.response));
  }
  inbox.clear();
}

void gateway::impl::start_response(lws* wsi, session& s, http::http_response response) {
  untrack(s);
  if (response.status < 200 || response.status > 599) {
    log->error("handler answered with invalid status {}; sending 500", response.status);
    response =
      http::problem(500, "Internal Server Error", "the handler produced an invalid HTTP status");
  }
  s.response = std::move(response);
  s.state = phase::sending;
  s.body_sent = 0;
  s.head_written = false;
  lws_callback_on_writable(wsi);
}

void gateway::impl::reject(lws* wsi, session& s, int status, std::string_view title,
                           std::string_view detail) {
  log->debug("rejecting a request from {} with {}: {}", s.request.remote_address, status, detail);
  // The rest of the request is not read, so the connection cannot carry another one.
  s.close_after = true;
  start_response(wsi, s, http::problem(status, title, detail));
}

// --- responses ------------------------------------------------------------------------------

unsigned char* gateway::impl::reserve_out(std::size_t bytes) {
  if (out.size() < LWS_PRE + bytes)
    out.resize(LWS_PRE + bytes);
  return out.data() + LWS_PRE;
}

bool gateway::impl::write_head(lws* wsi, const http::http_response& r, std::size_t content_length,
                               bool close, unsigned char** p, unsigned char* end) {
  const bool bodiless_status = r.status == 204 || r.status == 304;
  if (lws_add_http_header_status(wsi, static_cast<unsigned int>(r.status), p, end))
    return false;
  if (!r.content_type.empty() && !bodiless_status &&
      lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                   reinterpret_cast<const unsigned char*>(r.content_type.data()),
                                   static_cast<int>(r.content_type.size()), p, end))
    return false;
  if (!bodiless_status) {
    // Added by token rather than lws_add_http_header_content_length() so lws does no body
    // accounting of its own (HEAD answers carry the length without the body).
    const std::string digits = std::to_string(content_length);
    if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
                                     reinterpret_cast<const unsigned char*>(digits.data()),
                                     static_cast<int>(digits.size()), p, end))
      return false;
  }
  std::string name;
  for (const auto& h : r.headers) {
    if (!acceptable_response_header(h)) {
      log->warn("dropping response header '{}': malformed or owned by the gateway", h.name);
      continue;
    }
    name.assign(h.name);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
    name += ':';
    if (lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>(name.c_str()),
                                    reinterpret_cast<const unsigned char*>(h.value.data()),
                                    static_cast<int>(h.value.size()), p, end))
      return false;
  }
  if (close) {
    static constexpr std::string_view value = "close";
    if (lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                     reinterpret_cast<const unsigned char*>(value.data()),
                                     static_cast<int>(value.size()), p, end))
      return false;
  }
  return true;
}

// Head and body in one lws_write: one syscall for the common small answer.
bool gateway::impl::write_whole(lws* wsi, const http::http_response& r, bool head_only,
                                bool close) {
  const bool bodiless_status = r.status == 204 || r.status == 304;
  const std::size_t body = head_only || bodiless_status ? 0 : r.body.size();
  const std::size_t capacity = head_capacity(r) + body;
  unsigned char* start = reserve_out(capacity);
  unsigned char* p = start;
  unsigned char* end = start + capacity;
  if (!write_head(wsi, r, r.body.size(), close, &p, end) || lws_finalize_http_header(wsi, &p, end))
    return false;
  std::memcpy(p, r.body.data(), body);
  p += body;
  return lws_write(wsi, start, static_cast<std::size_t>(p - start), LWS_WRITE_HTTP_FINAL) >= 0;
}

int gateway::impl::on_writeable(lws* wsi, session& s) {
  if (s.state == phase::draining)
    return s.shutdown_pending ? begin_drain(wsi, s) : 0;
  if (s.state == phase::receiving && s.continue_pending) {
    s.continue_pending = false;
    unsigned char* start = reserve_out(continue_line.size());
    std::memcpy(start, continue_line.data(), continue_line.size());
    return lws_write(wsi, start, continue_line.size(), LWS_WRITE_HTTP) < 0 ? -1 : 0;
  }
  if (s.state != phase::sending)
    return 0;

  const http::http_response& r = s.response;
  const bool bodiless_status = r.status == 204 || r.status == 304;
  const std::string_view body =
    s.head || bodiless_status ? std::string_view{} : std::string_view(r.body);

  if (!s.head_written) {
    if (body.size() <= write_chunk) {
      if (!write_whole(wsi, r, s.head, s.close_after))
        return -1;
      return finish_response(wsi, s);
    }
    const std::size_t capacity = head_capacity(r);
    unsigned char* start = reserve_out(capacity);
    unsigned char* p = start;
    if (!write_head(wsi, r, r.body.size(), s.close_after, &p, start + capacity) ||
        lws_finalize_write_http_header(wsi, start, &p, start + capacity))
      return -1;
    s.head_written = true;
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, send_stall_seconds);
    lws_callback_on_writable(wsi);
    return 0;
  }

  const std::size_t n = std::min(write_chunk, body.size() - s.body_sent);
  unsigned char* start = reserve_out(n);
  std::memcpy(start, body.data() + s.body_sent, n);
  const bool last = s.body_sent + n == body.size();
  if (lws_write(wsi, start, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
    return -1;
  s.body_sent += n;
  lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, send_stall_seconds);
  if (last)
    return finish_response(wsi, s);
  lws_callback_on_writable(wsi);
  return 0;
}

int gateway::impl::finish_response(lws* wsi, session& s) {
  ++responses;
  if (s.close_after) {
    s.state = phase::draining;
    s.drain_deadline = std::chrono::steady_clock::now() + drain_time;
    if (lws_partial_buffered(wsi)) {
      // Shut the write side only once lws has flushed what it still holds.
      s.shutdown_pending = true;
      lws_callback_on_writable(wsi);
      return 0;
    }
    return begin_drain(wsi, s);
  }
  if (connection* c = connection_of(wsi))
    c->busy = false;
  s.state = phase::done;
  // May drop the protocol binding and so destroy `s`: nothing may touch it afterwards.
  return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int gateway::impl::begin_drain(lws* wsi, session& s) {
  s.shutdown_pending = false;
  // FIN after the answer, then keep reading so unread upload bytes do not turn the close into
  // a reset that could destroy the answer before the client reads it.
  if (shutdown(lws_get_socket_fd(wsi), SHUT_WR) != 0)
    return -1;
  lws_set_timeout(
    wsi, PENDING_TIMEOUT_USER_OK,
    static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(drain_time).count()));
  return 0;
}

}  // namespace wk::gateway
