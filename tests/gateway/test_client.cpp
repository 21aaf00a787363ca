#include "tests/gateway/test_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

namespace wk::gateway::testing {

namespace {

// libcurl needs one global init per process before any handle exists.
struct curl_global {
  curl_global() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~curl_global() { curl_global_cleanup(); }
};
const curl_global curl_global_instance;

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* out) {
  std::string line(data, size * n);
  const std::size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

struct generator {
  std::size_t remaining;
  std::size_t produced = 0;
};

std::size_t on_read(char* buffer, std::size_t size, std::size_t n, void* state) {
  auto* g = static_cast<generator*>(state);
  const std::size_t chunk = std::min(size * n, g->remaining);
  std::memset(buffer, 'u', chunk);
  g->remaining -= chunk;
  g->produced += chunk;
  return chunk;
}

curl_slist* to_list(const std::vector<std::string>& headers) {
  curl_slist* list = nullptr;
  for (const auto& h : headers)
    list = curl_slist_append(list, h.c_str());
  return list;
}

void collect(CURL* easy, curl_result& r) {
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &r.connects);
  curl_easy_getinfo(easy, CURLINFO_SIZE_UPLOAD_T, &r.uploaded);
  curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &r.http_version);
}

void prepare(CURL* easy, curl_result& r) {
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
}

}  // namespace

curl_client::curl_client() : easy_(curl_easy_init()) {}

curl_client::~curl_client() {
  curl_easy_cleanup(easy_);
}

curl_result curl_client::perform(const std::string& method, const std::string& url,
                                 const std::string& body, const std::vector<std::string>& headers) {
  curl_result r;
  prepare(easy_, r);
  curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy_, CURLOPT_UPLOAD, 0L);
  curl_easy_setopt(easy_, CURLOPT_NOBODY, method == "HEAD" ? 1L : 0L);
  if (method == "GET" || method == "HEAD") {
    curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(easy_, CURLOPT_NOBODY, method == "HEAD" ? 1L : 0L);
    curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, nullptr);
  } else {
    curl_easy_setopt(easy_, CURLOPT_POST, 1L);
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  curl_slist* list = to_list(headers);
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, list);
  const auto start = std::chrono::steady_clock::now();
  r.code = curl_easy_perform(easy_);
  r.elapsed =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  collect(easy_, r);
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(list);
  return r;
}

curl_result curl_client::upload(const std::string& url, curl_off_t total, std::size_t produce,
                                const std::vector<std::string>& headers) {
  curl_result r;
  generator g{produce};
  prepare(easy_, r);
  curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, nullptr);
  curl_easy_setopt(easy_, CURLOPT_NOBODY, 0L);
  curl_easy_setopt(easy_, CURLOPT_POST, 1L);
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, nullptr);
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, total);
  curl_easy_setopt(easy_, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(easy_, CURLOPT_READDATA, &g);
  std::vector<std::string> all = headers;
  if (total < 0)
    all.push_back("Transfer-Encoding: chunked");
  curl_slist* list = to_list(all);
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, list);
  const auto start = std::chrono::steady_clock::now();
  r.code = curl_easy_perform(easy_);
  r.elapsed =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  collect(easy_, r);
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(easy_, CURLOPT_READFUNCTION, nullptr);
  curl_slist_free_all(list);
  return r;
}

curl_transfer::curl_transfer(const std::string& url) : easy(curl_easy_init()) {
  prepare(easy, result);
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, this);
}

curl_transfer::~curl_transfer() {
  curl_easy_cleanup(easy);
}

curl_result curl_transfer::finish(CURLcode code) {
  result.code = code;
  collect(easy, result);
  return result;
}

raw_socket::raw_socket(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0)
    return;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd_);
    fd_ = -1;
  }
}

raw_socket::~raw_socket() {
  if (fd_ >= 0)
    close(fd_);
}

bool raw_socket::send_all(const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::string raw_socket::read_until(const std::function<bool(const std::string&)>& predicate,
                                   std::chrono::milliseconds timeout) {
  std::string received;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate(received)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0)
      break;
    char buffer[65536];
    const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) {
      peer_closed_ = true;
      break;
    }
    received.append(buffer, static_cast<std::size_t>(n));
  }
  return received;
}

raw_exchange raw_request(int port, const std::string& request, std::chrono::milliseconds timeout) {
  raw_exchange out;
  raw_socket s(port);
  out.connected = s.connected();
  if (!out.connected)
    return out;
  s.send_all(request);
  out.received = s.read_until([](const std::string&) { return false; }, timeout);
  out.closed_by_server = s.peer_closed();
  return out;
}

}  // namespace wk::gateway::testing
