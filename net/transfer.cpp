#include "net/transfer.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "net/cert_time.hpp"

namespace wk::net {
namespace {

using failure = fetch_result::failure;

// A declared Content-Length is only a hint for the first reservation, capped so a target that
// claims gigabytes and sends a few bytes costs nothing; the body then grows geometrically.
constexpr std::uint64_t max_trusted_reserve = 256 * 1024;
constexpr long max_redirects = 10;
// Far beyond any sensible check, and small enough that deadline arithmetic cannot overflow.
constexpr std::chrono::hours max_timeout{24};
constexpr std::size_t max_host_length = 253;
constexpr const char* allowed_protocols = "http,https";

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

bool has_line_break(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// User-supplied text inside an error message: control characters become '?' (no line breaks in
// logs) and long text is cut (a megabyte URL must not become a megabyte error).
std::string quoted(std::string_view text) {
  constexpr std::size_t max_quoted = 120;
  std::string out = "'";
  for (const char c : text.substr(0, max_quoted)) {
    const auto byte = static_cast<unsigned char>(c);
    out += byte < 0x20 || byte == 0x7f ? '?' : c;
  }
  if (text.size() > max_quoted) out += "...";
  out += '\'';
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

double seconds_from_micros(curl_off_t micros) { return static_cast<double>(micros) / 1e6; }

std::string ms_text(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), ascii_lower);
  return text;
}

std::string lowercase_first(std::string text) {
  if (!text.empty()) text.front() = ascii_lower(text.front());
  return text;
}

struct url_deleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct curl_string_deleter {
  void operator()(char* text) const { curl_free(text); }
};

bool is_tls_error(CURLcode code) {
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return true;
    default:
      return false;
  }
}

// Host names and IP literals only: anything that could smuggle a path, userinfo or a second
// URL part into the URL built from it is refused.
bool valid_tcp_host(std::string_view host) {
  if (host.empty() || host.size() > max_host_length) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == ':' || c == '%';
  });
}

std::string tcp_url(std::string_view host, int port) {
  std::string url = "http://";
  if (host.find(':') != std::string_view::npos) {
    // IPv6 literal; a zone id's '%' must itself be escaped inside a URL.
    url += '[';
    for (char c : host) {
      if (c == '%') {
        url += "%25";
      } else {
        url += c;
      }
    }
    url += ']';
  } else {
    url += host;
  }
  url += ':' + std::to_string(port) + '/';
  return url;
}

}  // namespace

transfer::transfer(fetch_request request, std::function<void(fetch_result)> done,
                   std::string user_agent)
    : submitted_(clock::now()),
      request_(std::move(request)),
      fetch_done_(std::move(done)),
      user_agent_(std::move(user_agent)) {}

transfer::transfer(std::string host, int port, std::chrono::milliseconds timeout,
                   std::function<void(tcp_result)> done)
    : submitted_(clock::now()),
      is_tcp_(true),
      tcp_host_(std::move(host)),
      tcp_port_(port),
      tcp_timeout_(timeout),
      tcp_done_(std::move(done)) {}

transfer::~transfer() {
  if (easy_ != nullptr) curl_easy_cleanup(easy_);
  curl_slist_free_all(header_list_);
}

bool transfer::check() {
  const std::string invalid = is_tcp_ ? check_tcp() : check_fetch();
  if (!invalid.empty()) {
    fail(failure::other, invalid);
    return false;
  }
  deadline_ = submitted_ + timeout();
  return true;
}

bool transfer::open(clock::time_point now) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now);
  if (left.count() <= 0) {
    fail(failure::timeout, timeout_text());
    return false;
  }
  curl_timeout_ = left;
  // Connecting never gets longer than the whole transfer; 0 means "same as the transfer".
  const std::chrono::milliseconds connect_limit = is_tcp_ ? tcp_timeout_ : request_.connect_timeout;
  curl_connect_timeout_ = connect_limit.count() == 0 ? left : std::min(left, connect_limit);

  easy_ = curl_easy_init();
  if (easy_ == nullptr) {
    fail(failure::other, "out of memory creating the transfer");
    return false;
  }
  const CURLcode code = is_tcp_ ? configure_tcp() : configure_fetch();
  if (code != CURLE_OK) {
    fail(failure::other, std::string("cannot configure the transfer: ") + curl_easy_strerror(code));
    return false;
  }
  return true;
}

void transfer::expire_waiting() {
  fail(failure::timeout, timeout_text() + " waiting for a free connection to " + quoted(host_key_));
}

std::string transfer::timeout_text() const { return "timeout after " + ms_text(timeout()); }

std::string transfer::check_fetch() {
  const fetch_request& r = request_;
  if (r.timeout.count() <= 0) return "timeout must be positive";
  if (r.timeout > max_timeout) return "timeout must be at most 24 h";
  if (r.connect_timeout.count() < 0) return "connect timeout must not be negative";
  if (!is_token(r.method)) return "invalid HTTP method " + quoted(r.method);
  if (r.method == "HEAD" && !r.body.empty()) return "a HEAD request cannot carry a body";
  for (const auto& [name, value] : r.headers) {
    if (!is_token(name)) return "invalid header name " + quoted(name);
    if (has_line_break(value)) return "header " + quoted(name) + " contains a line break";
  }
  if (r.url.empty()) return "empty URL";
  if (r.url.find('\0') != std::string::npos) return "URL contains a NUL byte";

  const std::unique_ptr<CURLU, url_deleter> url(curl_url());
  if (!url) return "out of memory parsing the URL";
  if (const CURLUcode rc = curl_url_set(url.get(), CURLUPART_URL, r.url.c_str(), 0);
      rc != CURLUE_OK) {
    return "invalid URL " + quoted(r.url) + ": " + curl_url_strerror(rc);
  }
  char* raw_scheme = nullptr;
  char* raw_host = nullptr;
  char* raw_port = nullptr;
  curl_url_get(url.get(), CURLUPART_SCHEME, &raw_scheme, 0);
  curl_url_get(url.get(), CURLUPART_HOST, &raw_host, 0);
  curl_url_get(url.get(), CURLUPART_PORT, &raw_port, CURLU_DEFAULT_PORT);
  const std::unique_ptr<char, curl_string_deleter> scheme(raw_scheme);
  const std::unique_ptr<char, curl_string_deleter> host(raw_host);
  const std::unique_ptr<char, curl_string_deleter> port(raw_port);
  const std::string_view scheme_text = scheme ? scheme.get() : "";
  if (!iequals(scheme_text, "http") && !iequals(scheme_text, "https")) {
    return "unsupported URL scheme " + quoted(scheme_text) + " (only http and https)";
  }
  is_https_ = iequals(scheme_text, "https");
  url_host_ = host ? host.get() : "";
  host_key_ = lowercase(url_host_) + ':' + (port ? port.get() : "");
  return {};
}

std::string transfer::check_tcp() {
  if (tcp_timeout_.count() <= 0) return "timeout must be positive";
  if (tcp_timeout_ > max_timeout) return "timeout must be at most 24 h";
  if (tcp_port_ < 1 || tcp_port_ > 65535) {
    return "port " + std::to_string(tcp_port_) + " is outside 1-65535";
  }
  if (!valid_tcp_host(tcp_host_)) return "invalid host " + quoted(tcp_host_);
  host_key_ = lowercase(tcp_host_) + ':' + std::to_string(tcp_port_);
  return {};
}

CURLcode transfer::configure_common() {
  CURLcode rc = CURLE_OK;
  const auto keep_first = [&rc](CURLcode code) {
    if (rc == CURLE_OK) rc = code;
  };
  keep_first(curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L));
  keep_first(curl_easy_setopt(easy_, CURLOPT_VERBOSE, 0L));
  keep_first(curl_easy_setopt(easy_, CURLOPT_NOPROGRESS, 1L));
  keep_first(curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_buffer_.data()));
  keep_first(curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, allowed_protocols));
  // Environment proxy variables are ignored: a check must measure the target, not whatever
  // proxy the daemon's environment happens to name.
  keep_first(curl_easy_setopt(easy_, CURLOPT_PROXY, ""));
  keep_first(curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(curl_timeout_.count())));
  keep_first(curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS,
                              static_cast<long>(curl_connect_timeout_.count())));
  return rc;
}

CURLcode transfer::configure_fetch() {
  const fetch_request& r = request_;
  CURLcode rc = configure_common();
  const auto keep_first = [&rc](CURLcode code) {
    if (rc == CURLE_OK) rc = code;
  };
  keep_first(curl_easy_setopt(easy_, CURLOPT_URL, r.url.c_str()));
  keep_first(curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &transfer::on_body));
  keep_first(curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this));
  keep_first(curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &transfer::on_header));
  keep_first(curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this));
  keep_first(curl_easy_setopt(easy_, CURLOPT_USERAGENT, user_agent_.c_str()));
  // "identity" still turns decoding on, so a target that compresses unasked is decoded too.
  keep_first(curl_easy_setopt(easy_, CURLOPT_ACCEPT_ENCODING,
                              r.accept_compressed ? "gzip, deflate" : "identity"));

  const bool has_body = !r.body.empty();
  if (r.method == "HEAD") {
    keep_first(curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L));
  } else if (r.method != "GET" || has_body) {
    if (r.method != "POST")
      keep_first(curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, r.method.c_str()));
    if (r.method == "POST" || has_body) {
      keep_first(curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE,
                                  static_cast<curl_off_t>(r.body.size())));
      keep_first(curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, r.body.data()));
    }
  }

  bool has_expect = false;
  for (const auto& [name, value] : r.headers) {
    has_expect = has_expect || iequals(name, "Expect");
    // "Name;" is curl's spelling of a header with an empty value ("Name:" would remove it).
    const std::string line = value.empty() ? name + ";" : name + ": " + value;
    curl_slist* extended = curl_slist_append(header_list_, line.c_str());
    if (extended == nullptr) return CURLE_OUT_OF_MEMORY;
    header_list_ = extended;
  }
  if (!has_expect) {
    // Without this curl waits up to a second for "100 Continue" before sending a large body.
    curl_slist* extended = curl_slist_append(header_list_, "Expect:");
    if (extended == nullptr) return CURLE_OUT_OF_MEMORY;
    header_list_ = extended;
  }
  keep_first(curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, header_list_));

  keep_first(curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, r.verify_tls ? 1L : 0L));
  keep_first(curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, r.verify_tls ? 2L : 0L));
  if (r.want_tls_info && is_https_) {
    // Certificates are only seen during a full handshake: a reused connection or a resumed
    // session would leave CURLINFO_CERTINFO empty.
    keep_first(curl_easy_setopt(easy_, CURLOPT_CERTINFO, 1L));
    keep_first(curl_easy_setopt(easy_, CURLOPT_FRESH_CONNECT, 1L));
    keep_first(curl_easy_setopt(easy_, CURLOPT_SSL_SESSIONID_CACHE, 0L));
  }
  if (r.follow_redirects) {
    keep_first(curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 1L));
    keep_first(curl_easy_setopt(easy_, CURLOPT_MAXREDIRS, max_redirects));
    keep_first(curl_easy_setopt(easy_, CURLOPT_REDIR_PROTOCOLS_STR, allowed_protocols));
  }
  return rc;
}

CURLcode transfer::configure_tcp() {
  CURLcode rc = configure_common();
  const auto keep_first = [&rc](CURLcode code) {
    if (rc == CURLE_OK) rc = code;
  };
  const std::string url = tcp_url(tcp_host_, tcp_port_);
  keep_first(curl_easy_setopt(easy_, CURLOPT_URL, url.c_str()));
  keep_first(curl_easy_setopt(easy_, CURLOPT_CONNECT_ONLY, 1L));
  // A pooled connection must not stand in for a real connect, and the checked one is closed
  // as soon as the transfer ends.
  keep_first(curl_easy_setopt(easy_, CURLOPT_FRESH_CONNECT, 1L));
  keep_first(curl_easy_setopt(easy_, CURLOPT_FORBID_REUSE, 1L));
  keep_first(curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &transfer::discard));
  keep_first(curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &transfer::discard));
  return rc;
}

std::size_t transfer::on_body(char* data, std::size_t size, std::size_t count, void* self) {
  auto* t = static_cast<transfer*>(self);
  const std::size_t n = size * count;
  try {
    return t->append_body(data, n) ? n : 0;
  } catch (...) {
    t->out_of_memory_ = true;
    return 0;
  }
}

std::size_t transfer::on_header(char* data, std::size_t size, std::size_t count, void* self) {
  auto* t = static_cast<transfer*>(self);
  const std::size_t n = size * count;
  try {
    return t->add_header_line(std::string_view(data, n)) ? n : 0;
  } catch (...) {
    t->out_of_memory_ = true;
    return 0;
  }
}

std::size_t transfer::discard(char*, std::size_t size, std::size_t count, void*) {
  return size * count;
}

bool transfer::append_body(const char* data, std::size_t n) {
  // The limit applies to what curl hands over: already decoded, so a compression bomb stops at
  // the same size as a plain body.
  if (n > request_.max_body_bytes - body_.size()) {
    body_too_large_ = true;
    return false;
  }
  if (n > body_.capacity() - body_.size()) reserve_body(body_.size() + n);
  body_.append(data, n);
  return true;
}

void transfer::reserve_body(std::size_t needed) {
  std::uint64_t target = std::max<std::uint64_t>(needed, std::uint64_t{body_.capacity()} * 2);
  if (!body_reserved_) {
    body_reserved_ = true;
    curl_off_t declared = -1;
    if (curl_easy_getinfo(easy_, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &declared) == CURLE_OK &&
        declared > 0) {
      target =
          std::max(target, std::min(static_cast<std::uint64_t>(declared), max_trusted_reserve));
    }
  }
  body_.reserve(static_cast<std::size_t>(std::min(target, request_.max_body_bytes)));
}

bool transfer::add_header_line(std::string_view line) {
  header_bytes_ += line.size();
  if (header_bytes_ > max_response_header_bytes) {
    headers_too_large_ = true;
    return false;
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty()) return true;
  if (line.substr(0, 5) == "HTTP/") {
    // A new status line (1xx, redirect hop): only the last response's headers are reported.
    response_headers_.clear();
    return true;
  }
  if (line.front() == ' ' || line.front() == '\t') {
    if (!response_headers_.empty()) {
      std::string& value = response_headers_.back().second;
      value += ' ';
      value += trim(line);
    }
    return true;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return true;
  response_headers_.emplace_back(std::string(trim(line.substr(0, colon))),
                                 std::string(trim(line.substr(colon + 1))));
  return true;
}

void transfer::finish(CURLcode code) {
  if (is_tcp_) {
    finish_tcp(code);
  } else {
    finish_fetch(code);
  }
}

void transfer::finish_fetch(CURLcode code) {
  fetch_result& out = fetch_outcome_;
  long status = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
  out.status = static_cast<int>(status);
  const char* content_type = nullptr;
  if (curl_easy_getinfo(easy_, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK &&
      content_type != nullptr) {
    out.content_type = content_type;
  }
  curl_off_t total = 0, connect = 0, first_byte = 0;
  curl_easy_getinfo(easy_, CURLINFO_TOTAL_TIME_T, &total);
  curl_easy_getinfo(easy_, CURLINFO_CONNECT_TIME_T, &connect);
  curl_easy_getinfo(easy_, CURLINFO_STARTTRANSFER_TIME_T, &first_byte);
  out.total_seconds = seconds_from_micros(total);
  out.connect_seconds = seconds_from_micros(connect);
  out.first_byte_seconds = seconds_from_micros(first_byte);
  out.headers = std::move(response_headers_);

  if (code == CURLE_OK) {
    out.transport_ok = true;
    out.body = std::move(body_);
  } else {
    auto [kind, error] = describe(code, url_host_);
    out.failure_kind = kind;
    out.error = std::move(error);
  }
  if (request_.want_tls_info && is_https_) read_tls_expiry();
}

void transfer::finish_tcp(CURLcode code) {
  curl_off_t connect = 0;
  curl_easy_getinfo(easy_, CURLINFO_CONNECT_TIME_T, &connect);
  tcp_outcome_.connect_seconds = seconds_from_micros(connect);
  if (code == CURLE_OK) {
    tcp_outcome_.ok = true;
    return;
  }
  auto [kind, error] = describe(code, tcp_host_);
  tcp_outcome_.failure_kind = kind;
  tcp_outcome_.error = std::move(error);
}

std::pair<fetch_result::failure, std::string> transfer::describe(CURLcode code,
                                                                 const std::string& host) const {
  if (body_too_large_) {
    return {failure::too_large,
            "body exceeds limit of " + std::to_string(request_.max_body_bytes) + " bytes"};
  }
  if (headers_too_large_) {
    return {failure::too_large, "response headers exceed limit of " +
                                    std::to_string(max_response_header_bytes) + " bytes"};
  }
  if (out_of_memory_) return {failure::other, "out of memory while receiving the response"};

  const std::string detail =
      error_buffer_[0] != '\0' ? std::string(error_buffer_.data()) : curl_easy_strerror(code);
  long os_errno = 0;
  curl_easy_getinfo(easy_, CURLINFO_OS_ERRNO, &os_errno);
  const auto os_error_text = [os_errno] {
    return lowercase_first(std::generic_category().message(static_cast<int>(os_errno)));
  };

  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t total = 0;
      curl_easy_getinfo(easy_, CURLINFO_TOTAL_TIME_T, &total);
      // curl never fires the overall timeout early, so stopping before it means the connect
      // timeout struck. The overall one is reported as the request's, counted from submission.
      if (curl_connect_timeout_ < curl_timeout_ &&
          total < static_cast<curl_off_t>(curl_timeout_.count()) * 1000) {
        return {failure::timeout, "connect timeout after " + ms_text(curl_connect_timeout_)};
      }
      return {failure::timeout, timeout_text()};
    }
    case CURLE_COULDNT_RESOLVE_HOST:
      return {failure::dns, "could not resolve host " + quoted(host)};
    case CURLE_COULDNT_CONNECT:
      return {failure::connect, os_errno != 0 ? os_error_text() : lowercase_first(detail)};
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      return {failure::other, os_errno != 0 ? os_error_text() : lowercase_first(detail)};
    case CURLE_GOT_NOTHING:
      return {failure::other, "empty reply from server"};
    default:
      break;
  }
  if (is_tls_error(code)) return {failure::tls, "TLS handshake failed: " + detail};
  return {failure::other, lowercase_first(detail)};
}

void transfer::read_tls_expiry() {
  curl_certinfo* certs = nullptr;
  if (curl_easy_getinfo(easy_, CURLINFO_CERTINFO, &certs) != CURLE_OK || certs == nullptr ||
      certs->num_of_certs < 1) {
    return;
  }
  constexpr std::string_view prefix = "Expire date:";
  for (const curl_slist* item = certs->certinfo[0]; item != nullptr; item = item->next) {
    const std::string_view line = item->data;
    if (line.substr(0, prefix.size()) == prefix) {
      fetch_outcome_.tls_not_after_unix = parse_cert_time(line.substr(prefix.size()));
      return;
    }
  }
}

void transfer::fail(fetch_result::failure kind, std::string error) {
  if (is_tcp_) {
    tcp_outcome_.ok = false;
    tcp_outcome_.failure_kind = kind;
    tcp_outcome_.error = std::move(error);
  } else {
    fetch_outcome_.transport_ok = false;
    fetch_outcome_.failure_kind = kind;
    fetch_outcome_.error = std::move(error);
    fetch_outcome_.body.clear();
  }
}

bool transfer::deliver() noexcept {
  try {
    if (is_tcp_) {
      if (tcp_done_) tcp_done_(std::move(tcp_outcome_));
    } else if (fetch_done_) {
      fetch_done_(std::move(fetch_outcome_));
    }
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace wk::net
