#include "protocol/gateway/gateway.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <future>
#include <limits>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <libwebsockets.h>

#include "events/metrics_topic.hpp"
#include "protocol/gateway/lws_log.hpp"
#include "protocol/gateway/ws_messages.hpp"
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
  // Accepted sockets the listening service thread handed to this one, not adopted yet.
  std::vector<int> adopt;
  std::atomic<std::uint64_t> open{0};  // connections this service thread serves

  // Hands an accepted socket over; false (the caller keeps it) when this thread has stopped.
  bool post_adopt(int fd) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!context)
      return false;
    if (adopt.empty())
      lws_cancel_service(context);
    adopt.push_back(fd);
    return true;
  }
};

// The mailboxes of every service thread of one gateway, index = shard.
using mailboxes = std::vector<std::shared_ptr<mailbox>>;

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

constexpr std::string_view server_version = "0.1.0";
constexpr std::string_view ws_subprotocol = "watchkeeper.v1";
// Replies (hello, pong, errors...) queued for one client; a client that keeps asking without
// reading is a slow consumer.
constexpr std::size_t max_control_frames = 64;
// Pulled events the service thread keeps for clients' cursors; older ones are read from the hub.
constexpr std::size_t min_window_events = 8192;
// Events read from the hub per step while a client replays from before the window.
constexpr std::size_t replay_batch = 256;
// Distinct topics the hello lists at most.
constexpr std::size_t max_seen_topics = 10000;
// After the gateway decides to close a client, it has this long to take the close frame.
constexpr int close_grace_seconds = 10;
constexpr int close_unauthorized = 4001;
constexpr int close_slow_consumer = 4008;
// Frame bytes one client gets per WRITEABLE callback (one frame always goes, whatever its size).
constexpr std::size_t ws_batch_bytes = 64 * 1024;

// An unmasked, unfragmented server-to-client text frame (RFC 6455 section 5.2).
void append_text_frame(std::vector<unsigned char>& out, const std::string& payload) {
  const std::size_t n = payload.size();
  out.push_back(0x81);
  if (n < 126) {
    out.push_back(static_cast<unsigned char>(n));
  } else if (n <= 0xFFFF) {
    out.push_back(126);
    out.push_back(static_cast<unsigned char>(n >> 8));
    out.push_back(static_cast<unsigned char>(n));
  } else {
    out.push_back(127);
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<unsigned char>(static_cast<std::uint64_t>(n) >> shift));
  }
  out.insert(out.end(), payload.begin(), payload.end());
}

// One subscribed topic of one WebSocket client.
struct topic_subscription {
  std::uint64_t through = 0;  // events of the topic up to this seq are delivered or skipped
  // Events of the topic pulled after accounted_seq count into the client's backlog until
  // written; replayed (older) ones do not.
  std::uint64_t accounted_seq = 0;
  std::uint64_t pending_events = 0;
  std::uint64_t pending_bytes = 0;
};

// A WebSocket client, created when its upgrade is confirmed and owned by its connection.
struct ws_client {
  lws* wsi = nullptr;
  std::uint64_t id = 0;
  std::string peer;
  bool established = false;
  bool authenticated = false;
  bool token_offered = false;
  std::string offered_token;  // from the upgrade request; cleared once decided
  std::unordered_map<std::string, topic_subscription> topics;
  std::uint64_t cursor = 0;  // events up to this seq are done for this client
  // While replaying from before the gateway's window: the batch last read from the hub.
  std::vector<std::shared_ptr<const events::event>> replay;
  std::size_t replay_next = 0;
  std::uint64_t pending_events = 0;
  std::uint64_t pending_bytes = 0;
  std::deque<std::string> control;  // replies, written before events
  std::string message;              // the client message being assembled from fragments
  bool in_message = false;
  bool message_binary = false;
  std::size_t errors_in_a_row = 0;
  int close_code = 0;  // non-zero: closing with this code; nothing else is sent
  std::string close_reason;
  bool writable_requested = false;
};

// Per TCP connection, hung on the wsi as lws "opaque user data".
struct connection {
  lws* owner = nullptr;
  std::uint64_t id = 0;
  std::uint64_t last_generation = 0;
  bool busy = false;           // a request on this connection is not answered yet
  std::string remote_address;  // looked up once, not per request
  std::unique_ptr<ws_client> ws;  // after a WebSocket upgrade
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
  impl(gateway_options o, http_handler h, std::size_t i, std::shared_ptr<const mailboxes> all)
      : options(std::move(o)),
        handler(std::move(h)),
        log(telemetry::logger("gateway")),
        index(i),
        peers(std::move(all)),
        box(peers->at(i)) {}

  gateway_options options;
  http_handler handler;
  std::shared_ptr<spdlog::logger> log;
  std::size_t index;  // shard 0 listens and hands connections out
  std::shared_ptr<const mailboxes> peers;
  std::shared_ptr<mailbox> box;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<int> bound_port{0};

  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> responses{0};
  std::atomic<std::uint64_t> rejected_too_large{0};
  std::atomic<std::uint64_t> timed_out{0};
  std::atomic<std::uint64_t> refused_connections{0};
  std::atomic<std::uint64_t> websocket_clients{0};
  std::atomic<std::uint64_t> ws_messages_sent{0};
  std::atomic<std::uint64_t> ws_slow_closes{0};
  std::atomic<std::uint64_t> ws_event_writes{0};

  // Service thread only.
  listen_spec listen;  // lws keeps a pointer to listen.iface
  lws_protocols protocols[3]{};
  lws_retry_bo_t ws_retry{};  // heartbeat: lws pings idle clients and drops silent ones
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
  std::vector<unsigned char> batch;  // LWS_PRE headroom + WebSocket frames for one send

  // WebSocket fan-out (service thread only). Events pulled from the hub are kept in `window`
  // (contiguous seqs) for the clients' cursors; each event is counted into the backlog of every
  // subscriber of its topic when pulled, and taken out when written.
  std::unordered_map<std::string, std::unordered_map<ws_client*, topic_subscription*>>
    subscribers;
  std::unordered_set<std::string> seen_topics;  // for the hello
  std::deque<std::shared_ptr<const events::event>> window;
  std::uint64_t pulled_seq = 0;
  std::unordered_map<std::uint64_t, ws_client*> ws_by_id;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> auth_waiting;
  deadline_timer auth_timer{};
  bool auth_timer_armed = false;

  void run(std::promise<std::string>& ready);
  // Shard 0, for a connection just accepted: true when it went to another shard (or was
  // refused) and lws should let go of it here.
  bool hand_over(int fd);
  void adopt_handed();
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

  int ws_confirm(lws* wsi);
  int ws_established(lws* wsi, void* user);
  int ws_receive(lws* wsi, std::string_view data);
  int ws_handle_message(ws_client& c);
  int ws_error(ws_client& c, std::string_view code, std::string_view detail);
  void ws_subscribe(ws_client& c, const client_message& m);
  void ws_unsubscribe(ws_client& c, const std::vector<std::string>& topics);
  void ws_drop_topic(ws_client& c, std::string topic);
  int ws_writeable(lws* wsi);
  void ws_closed(lws* wsi);
  // The next event this client should get, and its subscription; advances the cursor over
  // events it should not get.
  std::shared_ptr<const events::event> ws_next_event(ws_client& c, topic_subscription** sub);
  bool ws_write_text(lws* wsi, std::string_view text);
  void ws_queue(ws_client& c, std::string text);
  void ws_request_writable(ws_client& c);
  void ws_begin_close(ws_client& c, int code, std::string reason);
  bool ws_check_token(ws_client& c, std::string_view token);
  void pull_events();
  void arm_auth_timer();
  static void on_auth_deadline(lws_sorted_usec_list_t* sul);
  ws_client* ws_client_of(lws* wsi);
  std::vector<std::string> known_topics() const;
};

// --- lifecycle ------------------------------------------------------------------------------

gateway::gateway(gateway_options options, http_handler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

gateway::~gateway() {
  stop();
}

bool gateway::start(std::string* error) {
  auto fail = [&](std::string why) {
    if (error)
      *error = std::move(why);
    return false;
  };
  const auto& o = options_;
  if (!shards_.empty())
    return fail("gateway already started");
  if (!handler_)
    return fail("no request handler");
  if (o.port < 0 || o.port > 65535)
    return fail("port " + std::to_string(o.port) + " is outside 0-65535");
  if (o.max_header_bytes < 1024 || o.max_header_bytes > (1u << 20))
    return fail("max_header_bytes must be between 1024 and 1048576");
  if (o.max_connections == 0)
    return fail("max_connections must be positive");
  if (o.response_timeout.count() <= 0)
    return fail("response_timeout must be positive");
  if (o.service_threads == 0 || o.service_threads > 64)
    return fail("service_threads must be between 1 and 64");
  const auto& ws = o.websocket;
  if (ws.hub) {
    if (ws.max_message_bytes == 0 || ws.max_message_bytes > (64u << 20))
      return fail("websocket.max_message_bytes must be between 1 and 67108864");
    if (ws.max_backlog_events == 0 || ws.max_backlog_bytes == 0)
      return fail("websocket backlog limits must be positive");
    if (ws.auth_timeout.count() <= 0)
      return fail("websocket.auth_timeout must be positive");
    if (ws.ping_interval.count() <= 0 || ws.idle_timeout <= ws.ping_interval ||
        ws.idle_timeout.count() > 65535)
      return fail("websocket.idle_timeout must be longer than a positive ping_interval "
                  "(and at most 65535 s)");
    if (ws.max_topics_per_client == 0 || ws.max_errors_in_a_row == 0)
      return fail("websocket.max_topics_per_client and max_errors_in_a_row must be positive");
  }
  auto spec = parse_bind_address(o.bind_address);
  if (!spec)
    return fail("bind address '" + o.bind_address + "' is not an IP address");

  auto boxes = std::make_shared<mailboxes>();
  for (std::size_t i = 0; i < o.service_threads; ++i)
    boxes->push_back(std::make_shared<mailbox>());
  std::shared_ptr<const mailboxes> peers = boxes;
  // Shard 0 first: it binds the port; the others only serve what it hands them.
  for (std::size_t i = 0; i < o.service_threads; ++i) {
    auto shard = std::make_unique<impl>(o, handler_, i, peers);
    shard->listen = *spec;
    std::promise<std::string> ready;
    auto outcome = ready.get_future();
    impl* raw = shard.get();
    shard->thread = std::thread([raw, ready = std::move(ready)]() mutable { raw->run(ready); });
    std::string failure = outcome.get();
    if (!failure.empty()) {
      shard->thread.join();
      stop();
      return fail(std::move(failure));
    }
    shards_.push_back(std::move(shard));
  }
  if (ws.hub) {
    // The waker runs on publishers' threads: it only wakes the service threads, and never after
    // a context is gone (its mailbox forgets it under the same lock first).
    ws.hub->set_waker([peers] {
      for (const auto& box : *peers) {
        std::lock_guard<std::mutex> lock(box->mutex);
        if (box->context)
          lws_cancel_service(box->context);
      }
    });
  }
  return true;
}

void gateway::stop() {
  if (shards_.empty())
    return;
  if (options_.websocket.hub)
    options_.websocket.hub->set_waker(nullptr);
  // The listener first, so nothing is handed to a shard that has already stopped.
  for (auto& shard : shards_) {
    shard->stopping = true;
    {
      std::lock_guard<std::mutex> lock(shard->box->mutex);
      if (shard->box->context)
        lws_cancel_service(shard->box->context);
    }
    shard->thread.join();
  }
  shards_.clear();
}

int gateway::port() const {
  return shards_.empty() ? 0 : shards_.front()->bound_port.load();
}

gateway::stats gateway::get_stats() const {
  stats s;
  for (const auto& shard : shards_) {
    const impl& i = *shard;
    s.requests += i.requests.load(std::memory_order_relaxed);
    s.responses += i.responses.load(std::memory_order_relaxed);
    s.rejected_too_large += i.rejected_too_large.load(std::memory_order_relaxed);
    s.open_per_thread.push_back(i.box->open.load(std::memory_order_relaxed));
    s.open_connections += s.open_per_thread.back();
    s.timed_out += i.timed_out.load(std::memory_order_relaxed);
    s.refused_connections += i.refused_connections.load(std::memory_order_relaxed);
    s.websocket_clients += i.websocket_clients.load(std::memory_order_relaxed);
    s.ws_messages_sent += i.ws_messages_sent.load(std::memory_order_relaxed);
    s.ws_slow_closes += i.ws_slow_closes.load(std::memory_order_relaxed);
    s.ws_event_writes += i.ws_event_writes.load(std::memory_order_relaxed);
  }
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
    // A client that offers the named subprotocol binds here; one that offers none lands on
    // protocols[0]. Both share the callback, so WebSocket handling is the same either way.
    protocols[1] = protocols[0];
    protocols[1].name = ws_subprotocol.data();
    protocols[2] = lws_protocols{};
    const auto& ws = options.websocket;
    ws_retry = lws_retry_bo_t{};
    ws_retry.secs_since_valid_ping = static_cast<std::uint16_t>(ws.ping_interval.count());
    ws_retry.secs_since_valid_hangup = static_cast<std::uint16_t>(ws.idle_timeout.count());
    pulled_seq = ws.hub ? ws.hub->last_seq() : 0;

    lws_context_creation_info info;
    std::memset(&info, 0, sizeof info);
    info.port = index == 0 ? options.port : CONTEXT_PORT_NO_LISTEN_SERVER;
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
    if (ws.hub)
      info.retry_and_idle_policy = &ws_retry;
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
    auth_timer = deadline_timer{};
    auth_timer.owner = this;
    auth_timer_armed = false;
    lws_vhost* vhost = lws_get_vhost_by_name(context, "default");
    if (index == 0)
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
  if (index == 0)
    log->info("listening on {}:{} with {} service thread{}", listen.shown(), bound_port.load(),
              peers->size(), peers->size() == 1 ? "" : "s");
  ready.set_value({});

  while (!stopping.load()) {
    if (lws_service(context, 0) < 0) {
      log->error("the lws service loop failed; the gateway stops serving");
      break;
    }
  }
  std::vector<int> unadopted;
  {
    std::lock_guard<std::mutex> lock(box->mutex);
    box->context = nullptr;
    box->queue.clear();
    unadopted.swap(box->adopt);
  }
  for (const int fd : unadopted)
    close(fd);
  lws_sul_cancel(&timer.sul);
  lws_sul_cancel(&auth_timer.sul);
  lws_context_destroy(context);
  context = nullptr;
  awaiting.clear();
  oldest = newest = nullptr;
  subscribers.clear();
  seen_topics.clear();
  window.clear();
  ws_by_id.clear();
  auth_waiting.clear();
  if (index == 0)
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
      return hand_over(static_cast<int>(reinterpret_cast<lws_intptr_t>(in))) ? 1 : 0;

    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED: {
      auto* c = new connection;
      c->owner = wsi;
      // Distinct across shards: WebSocket clients are known by this id in logs.
      c->id = ++next_connection_id * peers->size() + index;
      lws_set_opaque_user_data(wsi, c);
      ++box->open;
      return 0;
    }

    case LWS_CALLBACK_WSI_DESTROY: {
      destroy_session(user);  // normally gone already (DROP_PROTOCOL / CLOSED_HTTP)
      ws_closed(wsi);         // normally done at CLOSED
      auto* c = static_cast<connection*>(lws_get_opaque_user_data(wsi));
      if (c && c->owner == wsi) {
        lws_set_opaque_user_data(wsi, nullptr);
        delete c;
        --box->open;
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
      // lws tells every protocol; the two share this callback, so act once.
      if (lws_get_protocol(wsi) == &protocols[1])
        return 0;
      adopt_handed();
      drain_inbox();
      pull_events();
      return 0;

    case LWS_CALLBACK_ESTABLISHED:
      return ws_established(wsi, user);

    case LWS_CALLBACK_RECEIVE:
      return ws_receive(wsi, std::string_view(static_cast<const char*>(in), len));

    case LWS_CALLBACK_SERVER_WRITEABLE:
      return ws_writeable(wsi);

    case LWS_CALLBACK_CLOSED:
      ws_closed(wsi);
      destroy_session(user);
      return 0;

    default:
      return 0;
  }
}

bool gateway::impl::hand_over(int fd) {
  // The pending hand-overs count too: a burst of accepts must not overshoot the limit.
  std::uint64_t open = 0;
  std::size_t target = 0;
  std::uint64_t least = std::numeric_limits<std::uint64_t>::max();
  for (std::size_t i = 0; i < peers->size(); ++i) {
    mailbox& b = *(*peers)[i];
    std::uint64_t load = b.open.load();
    if (i != index) {
      std::lock_guard<std::mutex> lock(b.mutex);
      load += b.adopt.size();
    }
    open += load;
    if (load < least) {
      least = load;
      target = i;
    }
  }
  if (open >= options.max_connections) {
    if (refused_connections.fetch_add(1) % 1000 == 0)
      log->warn("refusing connections: {} open (max_connections)", options.max_connections);
    return true;
  }
  if (target == index || fd < 0)
    return false;
  // lws closes its descriptor when the filter refuses; the duplicate keeps the socket open.
  const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0)
    return false;  // out of descriptors: serve it here rather than drop it
  if (!(*peers)[target]->post_adopt(copy)) {
    close(copy);
    return false;
  }
  return true;
}

void gateway::impl::adopt_handed() {
  std::vector<int> fds;
  {
    std::lock_guard<std::mutex> lock(box->mutex);
    fds.swap(box->adopt);
  }
  if (fds.empty())
    return;
  lws_vhost* vhost = lws_get_vhost_by_name(context, "default");
  for (const int fd : fds) {
    // On failure lws closes the socket itself.
    if (!vhost || !lws_adopt_socket_vhost(vhost, fd)) {
      if (!vhost)
        close(fd);
      log->warn("could not take over an accepted connection");
    }
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
  // lws 4.1 mishandles h2c (request bodies are lost, stream 1 gets no send window), so only
  // WebSocket upgrades are taken, and only with an event hub to serve; the rest are answered
  // with a problem and the connection closed.
  const bool h2c = ascii_iequals(protocol, "h2c");
  if (!h2c && ascii_iequals(protocol, "websocket") && options.websocket.hub)
    return ws_confirm(wsi);
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


// --- WebSocket ------------------------------------------------------------------------------

ws_client* gateway::impl::ws_client_of(lws* wsi) {
  connection* c = connection_of(wsi);
  return c ? c->ws.get() : nullptr;
}

int gateway::impl::ws_confirm(lws* wsi) {
  connection* conn = connection_of(wsi);
  if (!conn)
    return -1;
  ++requests;
  const auto& ws = options.websocket;
  if (!ws.allowed_origins.empty()) {
    const int n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    if (n > 0) {
      std::string origin(static_cast<std::size_t>(n) + 1, '\0');
      const int copied = lws_hdr_copy(wsi, origin.data(), n + 1, WSI_TOKEN_ORIGIN);
      origin.resize(copied > 0 ? static_cast<std::size_t>(copied) : 0);
      const bool allowed =
        std::any_of(ws.allowed_origins.begin(), ws.allowed_origins.end(),
                    [&](const std::string& a) { return ascii_iequals(a, trim(origin)); });
      if (!allowed) {
        log->info("refusing a WebSocket upgrade from origin '{}'", origin.substr(0, 200));
        if (write_whole(wsi,
                        http::problem(403, "Forbidden",
                                      "WebSocket connections from this Origin are not allowed"),
                        false, true))
          ++responses;
        return -1;
      }
    }
  }
  auto client = std::make_unique<ws_client>();
  // Token from ?token=... (lws hands the query over decoded) or "Authorization: Bearer ...".
  std::string buffer(max_token_bytes + 8, '\0');
  if (const char* token = lws_get_urlarg_by_name(wsi, "token=", buffer.data(),
                                                 static_cast<int>(buffer.size()))) {
    client->token_offered = true;
    client->offered_token = token;
  } else {
    const int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n > 0 && static_cast<std::size_t>(n) <= max_token_bytes + 16) {
      std::string value(static_cast<std::size_t>(n) + 1, '\0');
      const int copied = lws_hdr_copy(wsi, value.data(), n + 1, WSI_TOKEN_HTTP_AUTHORIZATION);
      value.resize(copied > 0 ? static_cast<std::size_t>(copied) : 0);
      const std::string_view v = trim(value);
      if (v.size() > 7 && ascii_iequals(v.substr(0, 7), "bearer ")) {
        client->token_offered = true;
        client->offered_token = std::string(trim(v.substr(7)));
      }
    }
  }
  conn->ws = std::move(client);
  return 0;
}

int gateway::impl::ws_established(lws* wsi, void* user) {
  destroy_session(user);  // the HTTP transaction that carried the upgrade is over
  connection* conn = connection_of(wsi);
  ws_client* c = conn ? conn->ws.get() : nullptr;
  if (!c)
    return -1;
  c->wsi = wsi;
  c->id = conn->id;
  if (conn->remote_address.empty()) {
    char peer[128];
    if (const char* address = lws_get_peer_simple(wsi, peer, sizeof peer))
      conn->remote_address = address;
  }
  c->peer = conn->remote_address;
  c->established = true;
  ws_by_id[c->id] = c;
  ++websocket_clients;
  pull_events();
  c->cursor = pulled_seq;

  const auto& ws = options.websocket;
  const bool auth_required = static_cast<bool>(ws.authorize);
  if (!auth_required) {
    c->authenticated = true;
  } else if (c->token_offered) {
    const std::string token = std::move(c->offered_token);
    c->offered_token.clear();
    if (!ws_check_token(*c, token)) {
      ws_begin_close(*c, close_unauthorized, "unauthorized");
      return 0;
    }
  } else {
    auth_waiting.emplace_back(std::chrono::steady_clock::now() + ws.auth_timeout, c->id);
    if (!auth_timer_armed)
      arm_auth_timer();
  }
  log->debug("WebSocket client {} connected from {}", c->id, c->peer);
  ws_queue(*c, render_hello(server_version, pulled_seq, known_topics(), auth_required));
  return 0;
}

bool gateway::impl::ws_check_token(ws_client& c, std::string_view token) {
  bool ok = false;
  try {
    ok = options.websocket.authorize(token);
  } catch (const std::exception& e) {
    log->error("the WebSocket authorize callback threw: {}", e.what());
  } catch (...) {
    log->error("the WebSocket authorize callback threw");
  }
  c.authenticated = ok;
  if (!ok)
    log->info("WebSocket client {} from {}: token refused", c.id, c.peer);
  return ok;
}

std::vector<std::string> gateway::impl::known_topics() const {
  std::vector<std::string> topics = fixed_topics();
  std::vector<std::string> metrics;
  // The services with live metrics; the selector streams are the clients' own business.
  for (const auto& topic : seen_topics) {
    const auto parsed = events::parse_metrics_topic(topic);
    if (parsed && parsed->selector.empty())
      metrics.push_back(topic);
  }
  std::sort(metrics.begin(), metrics.end());
  topics.insert(topics.end(), metrics.begin(), metrics.end());
  return topics;
}

int gateway::impl::ws_receive(lws* wsi, std::string_view data) {
  ws_client* c = ws_client_of(wsi);
  if (!c)
    return -1;
  if (c->close_code)
    return 0;  // closing: input no longer matters
  if (!c->in_message) {
    c->in_message = true;
    c->message.clear();
    c->message_binary = lws_frame_is_binary(wsi) != 0;
  }
  const auto& ws = options.websocket;
  if (c->message.size() + data.size() > ws.max_message_bytes) {
    log->info("WebSocket client {} from {}: message over {} bytes, closing", c->id, c->peer,
              ws.max_message_bytes);
    static constexpr char reason[] = "message too large";
    lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                     reinterpret_cast<unsigned char*>(const_cast<char*>(reason)),
                     sizeof reason - 1);
    return -1;
  }
  c->message.append(data);
  if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) != 0)
    return 0;
  c->in_message = false;
  if (c->message_binary) {
    c->message.clear();
    return ws_error(*c, "unsupported", "binary messages are not supported; send JSON text");
  }
  if (!valid_utf8(c->message)) {
    log->info("WebSocket client {} from {}: invalid UTF-8, closing", c->id, c->peer);
    static constexpr char reason[] = "invalid UTF-8";
    lws_close_reason(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD,
                     reinterpret_cast<unsigned char*>(const_cast<char*>(reason)),
                     sizeof reason - 1);
    return -1;
  }
  const int rc = ws_handle_message(*c);
  c->message.clear();
  if (c->message.capacity() > 4096)
    c->message.shrink_to_fit();  // one large message does not pin its buffer for the session
  return rc;
}

int gateway::impl::ws_error(ws_client& c, std::string_view code, std::string_view detail) {
  if (++c.errors_in_a_row >= options.websocket.max_errors_in_a_row) {
    log->info("WebSocket client {} from {}: {} bad messages in a row, closing", c.id, c.peer,
              c.errors_in_a_row);
    static constexpr char reason[] = "too many bad messages";
    lws_close_reason(c.wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                     reinterpret_cast<unsigned char*>(const_cast<char*>(reason)),
                     sizeof reason - 1);
    return -1;
  }
  ws_queue(c, render_error(code, detail));
  return 0;
}

int gateway::impl::ws_handle_message(ws_client& c) {
  std::string error;
  const auto m = parse_client_message(c.message, &error);
  if (!m)
    return ws_error(c, "bad_message", error);
  switch (m->type) {
    case client_message_type::ping:
      c.errors_in_a_row = 0;
      ws_queue(c, render_pong(m->id_json, pulled_seq));
      return 0;
    case client_message_type::auth:
      c.errors_in_a_row = 0;
      if (c.authenticated || ws_check_token(c, m->token))
        ws_queue(c, render_authenticated());
      else
        ws_begin_close(c, close_unauthorized, "unauthorized");
      return 0;
    case client_message_type::subscribe:
      if (!c.authenticated) {
        ws_begin_close(c, close_unauthorized, "unauthorized");
        return 0;
      }
      {
        std::size_t added = 0;
        for (const auto& t : m->topics)
          added += c.topics.count(t) ? 0 : 1;
        if (c.topics.size() + added > options.websocket.max_topics_per_client)
          return ws_error(c, "bad_message",
                          "a client may subscribe to at most " +
                            std::to_string(options.websocket.max_topics_per_client) + " topics");
      }
      c.errors_in_a_row = 0;
      ws_subscribe(c, *m);
      return 0;
    case client_message_type::unsubscribe:
      c.errors_in_a_row = 0;
      ws_unsubscribe(c, m->topics);
      return 0;
  }
  return 0;
}

void gateway::impl::ws_subscribe(ws_client& c, const client_message& m) {
  auto& hub = *options.websocket.hub;
  pull_events();
  std::uint64_t through = pulled_seq;
  std::string resync_reason;
  std::uint64_t oldest = 0;
  if (m.since) {
    oldest = hub.oldest_seq();
    if (*m.since > pulled_seq)
      resync_reason = "seq ahead of the server (restarted?)";
    else if (oldest != 0 && *m.since + 1 < oldest)
      resync_reason = "gap too old";
    else
      through = *m.since;
  }
  for (const auto& topic : m.topics) {
    auto [it, inserted] = c.topics.try_emplace(topic);
    topic_subscription& sub = it->second;
    if (inserted) {
      sub.accounted_seq = pulled_seq;
      sub.through = through;
      subscribers[topic].emplace(&c, &sub);
      hub.add_subscriber(topic);
    } else if (m.since && resync_reason.empty()) {
      sub.through = through;  // asked again with since: replay from there
    }
    c.cursor = std::min(c.cursor, sub.through);
  }
  ws_queue(c, render_subscribed(m.topics, pulled_seq));
  if (!resync_reason.empty())
    ws_queue(c, render_resync(resync_reason, oldest, pulled_seq));
}

void gateway::impl::ws_drop_topic(ws_client& c, std::string topic) {
  const auto it = c.topics.find(topic);
  if (it == c.topics.end())
    return;
  c.pending_events -= it->second.pending_events;
  c.pending_bytes -= it->second.pending_bytes;
  c.topics.erase(it);
  const auto s = subscribers.find(topic);
  if (s != subscribers.end()) {
    s->second.erase(&c);
    if (s->second.empty())
      subscribers.erase(s);
  }
  if (options.websocket.hub)
    options.websocket.hub->remove_subscriber(topic);
}

void gateway::impl::ws_unsubscribe(ws_client& c, const std::vector<std::string>& topics) {
  for (const auto& t : topics)
    ws_drop_topic(c, t);
  ws_queue(c, render_unsubscribed(topics, pulled_seq));
}

void gateway::impl::ws_queue(ws_client& c, std::string text) {
  if (c.close_code)
    return;
  if (c.control.size() >= max_control_frames) {
    ++ws_slow_closes;
    log->warn("closing WebSocket client {} from {}: slow consumer, {} replies unread", c.id,
              c.peer, c.control.size());
    ws_begin_close(c, close_slow_consumer, "slow consumer");
    return;
  }
  c.control.push_back(std::move(text));
  ws_request_writable(c);
}

void gateway::impl::ws_request_writable(ws_client& c) {
  if (c.writable_requested)
    return;
  c.writable_requested = true;
  lws_callback_on_writable(c.wsi);
}

void gateway::impl::ws_begin_close(ws_client& c, int code, std::string reason) {
  if (c.close_code)
    return;
  c.close_code = code;
  c.close_reason = std::move(reason);
  c.control.clear();
  while (!c.topics.empty())
    ws_drop_topic(c, c.topics.begin()->first);
  c.writable_requested = false;  // the close must get its own callback
  ws_request_writable(c);
  // The close frame goes out once the client reads; one that never does is dropped.
  lws_set_timeout(c.wsi, PENDING_TIMEOUT_USER_OK, close_grace_seconds);
}

void gateway::impl::pull_events() {
  const auto& ws = options.websocket;
  if (!ws.hub)
    return;
  bool gap = false;
  auto fresh = ws.hub->read_shared_after(pulled_seq, std::numeric_limits<std::size_t>::max(), &gap);
  if (fresh.empty())
    return;
  if (gap || fresh.front()->seq != pulled_seq + 1) {
    // Events went by unseen (the service thread stalled for a whole ring): the window restarts;
    // clients behind it read from the hub, which tells them to resync.
    log->warn("the gateway fell behind the event ring: seq {} -> {}", pulled_seq,
              fresh.front()->seq);
    window.clear();
  }
  for (auto& e : fresh) {
    pulled_seq = e->seq;
    if (seen_topics.size() < max_seen_topics)
      seen_topics.insert(e->topic);
    const auto s = subscribers.find(e->topic);
    if (s != subscribers.end()) {
      const std::uint64_t bytes = e->frame->size();
      // Copy: a slow close below removes clients from this very map.
      const std::vector<std::pair<ws_client*, topic_subscription*>> targets(s->second.begin(),
                                                                            s->second.end());
      for (const auto& [c, sub] : targets) {
        sub->pending_events += 1;
        sub->pending_bytes += bytes;
        c->pending_events += 1;
        c->pending_bytes += bytes;
        if (c->pending_events > ws.max_backlog_events || c->pending_bytes > ws.max_backlog_bytes) {
          ++ws_slow_closes;
          log->warn("closing WebSocket client {} from {}: slow consumer, {} events / {} bytes "
                    "pending",
                    c->id, c->peer, c->pending_events, c->pending_bytes);
          ws_begin_close(*c, close_slow_consumer, "slow consumer");
        } else {
          ws_request_writable(*c);
        }
      }
    }
    window.push_back(std::move(e));
  }
  const std::size_t keep = std::max(min_window_events, ws.max_backlog_events);
  while (window.size() > keep)
    window.pop_front();
}

std::shared_ptr<const events::event> gateway::impl::ws_next_event(ws_client& c,
                                                                 topic_subscription** sub) {
  while (c.cursor < pulled_seq) {
    std::shared_ptr<const events::event> e;
    if (!window.empty() && c.cursor + 1 >= window.front()->seq) {
      c.replay.clear();
      c.replay_next = 0;
      e = window[static_cast<std::size_t>(c.cursor + 1 - window.front()->seq)];
    } else {
      // Replaying from before the window: read from the hub a batch at a time.
      if (c.replay_next == c.replay.size() || c.replay[c.replay_next]->seq != c.cursor + 1) {
        bool gap = false;
        c.replay = options.websocket.hub->read_shared_after(c.cursor, replay_batch, &gap);
        c.replay_next = 0;
        if (gap) {
          const std::uint64_t oldest = c.replay.empty() ? pulled_seq + 1 : c.replay.front()->seq;
          ws_queue(c, render_resync("gap too old", oldest, pulled_seq));
          c.cursor = oldest - 1;
        }
        if (c.replay.empty()) {
          c.cursor = pulled_seq;
          return nullptr;
        }
      }
      e = c.replay[c.replay_next++];
    }
    const auto it = c.topics.find(e->topic);
    if (it != c.topics.end() && e->seq > it->second.through) {
      *sub = &it->second;
      return e;
    }
    c.cursor = e->seq;
  }
  return nullptr;
}

bool gateway::impl::ws_write_text(lws* wsi, std::string_view text) {
  unsigned char* start = reserve_out(text.size());
  std::memcpy(start, text.data(), text.size());
  if (lws_write(wsi, start, text.size(), LWS_WRITE_TEXT) < static_cast<int>(text.size()))
    return false;
  ++ws_messages_sent;
  return true;
}

int gateway::impl::ws_writeable(lws* wsi) {
  ws_client* c = ws_client_of(wsi);
  if (!c)
    return -1;
  c->writable_requested = false;
  if (c->close_code) {
    lws_close_reason(wsi, static_cast<lws_close_status>(c->close_code),
                     reinterpret_cast<unsigned char*>(c->close_reason.data()),
                     c->close_reason.size());
    return -1;
  }
  if (!c->control.empty()) {
    const std::string text = std::move(c->control.front());
    c->control.pop_front();
    if (!ws_write_text(wsi, text))
      return -1;
    if (!c->control.empty() || c->cursor < pulled_seq)
      ws_request_writable(*c);
    return 0;
  }
  if (!c->authenticated || c->topics.empty()) {
    c->cursor = pulled_seq;
    return 0;
  }
  // Every event due, up to a budget, goes out as complete frames in one send: a client that
  // fell behind while the thread served thousands of others catches up in one syscall.
  batch.resize(LWS_PRE);
  std::size_t frames = 0;
  while (batch.size() - LWS_PRE < ws_batch_bytes) {
    topic_subscription* found = nullptr;
    const auto e = ws_next_event(*c, &found);
    if (!c->control.empty()) {
      ws_request_writable(*c);  // a resync found while replaying goes first
      break;
    }
    if (!e)
      break;
    append_text_frame(batch, *e->frame);
    ++frames;
    c->cursor = e->seq;
    topic_subscription& sub = *found;
    sub.through = e->seq;
    if (e->seq > sub.accounted_seq && sub.pending_events > 0) {
      const std::uint64_t bytes = e->frame->size();
      sub.pending_events -= 1;
      sub.pending_bytes -= bytes;
      c->pending_events -= 1;
      c->pending_bytes -= bytes;
      sub.accounted_seq = e->seq;
    }
  }
  if (frames > 0) {
    // Whole frames written raw: lws keeps what the socket does not take and sends it before
    // the next WRITEABLE callback, so frames never interleave with its pings or close.
    const std::size_t n = batch.size() - LWS_PRE;
    if (lws_write(wsi, batch.data() + LWS_PRE, n, LWS_WRITE_RAW) < static_cast<int>(n))
      return -1;
    ws_messages_sent += frames;
    ++ws_event_writes;
  }
  if (c->cursor < pulled_seq)
    ws_request_writable(*c);
  return 0;
}

void gateway::impl::ws_closed(lws* wsi) {
  connection* conn = connection_of(wsi);
  if (!conn || !conn->ws)
    return;
  ws_client& c = *conn->ws;
  if (c.established) {
    while (!c.topics.empty())
      ws_drop_topic(c, c.topics.begin()->first);
    ws_by_id.erase(c.id);
    --websocket_clients;
    log->debug("WebSocket client {} from {} closed", c.id, c.peer);
  }
  conn->ws.reset();
}

void gateway::impl::arm_auth_timer() {
  auth_timer_armed = !auth_waiting.empty();
  if (!auth_timer_armed)
    return;
  const auto wait = std::chrono::duration_cast<std::chrono::microseconds>(
    auth_waiting.front().first - std::chrono::steady_clock::now());
  lws_sul_schedule(context, 0, &auth_timer.sul, &impl::on_auth_deadline,
                   std::max<lws_usec_t>(0, static_cast<lws_usec_t>(wait.count())));
}

void gateway::impl::on_auth_deadline(lws_sorted_usec_list_t* sul) {
  auto* self = static_cast<impl*>(reinterpret_cast<deadline_timer*>(sul)->owner);
  self->auth_timer_armed = false;
  try {
    const auto now = std::chrono::steady_clock::now();
    while (!self->auth_waiting.empty() && self->auth_waiting.front().first <= now) {
      const std::uint64_t id = self->auth_waiting.front().second;
      self->auth_waiting.pop_front();
      const auto it = self->ws_by_id.find(id);
      if (it == self->ws_by_id.end() || it->second->authenticated)
        continue;
      self->log->info("WebSocket client {} from {}: no auth within {} s, closing", id,
                      it->second->peer, self->options.websocket.auth_timeout.count());
      self->ws_begin_close(*it->second, close_unauthorized, "unauthorized");
    }
  } catch (const std::exception& e) {
    self->log->error("expiring WebSocket auth deadlines failed: {}", e.what());
  } catch (...) {
    self->log->error("expiring WebSocket auth deadlines failed");
  }
  self->arm_auth_timer();
}

}  // namespace wk::gateway
