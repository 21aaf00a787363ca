#include "tests/net/target_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace wk::net::test {
namespace {

constexpr std::chrono::seconds server_start_limit{20};

template <typename Result, typename Submit>
Result wait_for_callback(Submit submit, std::chrono::seconds limit) {
  auto promise = std::make_shared<std::promise<Result>>();
  std::future<Result> future = promise->get_future();
  submit([promise](Result result) { promise->set_value(std::move(result)); });
  if (future.wait_for(limit) != std::future_status::ready) {
    throw std::runtime_error("callback not called within the test limit");
  }
  return future.get();
}

}  // namespace

temp_dir::temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "wk-net-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

target_process::target_process(const std::string& tls_cert, const std::string& tls_key)
    : tls_(!tls_cert.empty()) {
  const std::string script = std::string(WK_SOURCE_DIR) + "/tests/tools/target_server.py";
  const std::string port_file = dir_.path() + "/port";
  std::vector<std::string> args = {"python3", script, "--port", "0", "--port-file", port_file};
  if (tls_) {
    args.insert(args.end(), {"--tls-cert", tls_cert, "--tls-key", tls_key});
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  if (posix_spawnp(&pid_, "python3", nullptr, nullptr, argv.data(), environ) != 0) {
    throw std::runtime_error("cannot start python3 " + script);
  }
  const auto deadline = std::chrono::steady_clock::now() + server_start_limit;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(port_file);
    if (in >> port_ && port_ > 0) return;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("target_server.py exited during start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  throw std::runtime_error("target_server.py did not write its port in time");
}

target_process::~target_process() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

std::string target_process::url(std::string_view path) const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) +
         std::string(path);
}

blackhole_listener::blackhole_listener() {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) throw std::runtime_error("socket failed");
  fds_.push_back(listener);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  // Backlog 0 leaves room for one connection, which the first filler takes.
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(listener, 0) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("cannot set up the black hole listener");
  }
  port_ = ntohs(address.sin_port);
  for (int i = 0; i < 2; ++i) {
    const int filler = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (filler < 0) throw std::runtime_error("socket failed");
    fds_.push_back(filler);
    connect(filler, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

blackhole_listener::~blackhole_listener() {
  for (const int fd : fds_) close(fd);
}

int unused_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                     getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  close(fd);
  if (!bound) throw std::runtime_error("cannot bind a probe socket");
  return ntohs(address.sin_port);
}

fetch_result fetch_sync(http_fetcher& fetcher, fetch_request request, std::chrono::seconds limit) {
  return wait_for_callback<fetch_result>(
      [&](auto done) { fetcher.fetch(std::move(request), std::move(done)); }, limit);
}

fetch_result fetch_sync(http_fetcher& fetcher, const std::string& url) {
  fetch_request request;
  request.url = url;
  return fetch_sync(fetcher, std::move(request));
}

tcp_result connect_sync(http_fetcher& fetcher, const std::string& host, int port,
                        std::chrono::milliseconds timeout) {
  return wait_for_callback<tcp_result>(
      [&](auto done) { fetcher.connect_tcp(host, port, timeout, std::move(done)); },
      std::chrono::seconds(60));
}

}  // namespace wk::net::test
