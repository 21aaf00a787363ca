#include "tests/gateway/ws_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>

#include <rapidjson/document.h>

namespace wk::gateway::testing {

ws_client::ws_client(int port, const std::string& path, const std::vector<std::string>& headers,
                     std::chrono::milliseconds timeout) {
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
    return;
  }
  std::string request = "GET " + path +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\n";
  for (const auto& h : headers)
    request += h + "\r\n";
  request += "\r\n";
  if (!send_raw(request))
    return;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t end = std::string::npos;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(deadline))
      return;
  head_ = buffer_.substr(0, end + 4);
  buffer_.erase(0, end + 4);
  // lws answers a refused upgrade as HTTP/1.0.
  if (head_.size() > 12 && head_.compare(0, 7, "HTTP/1.") == 0 && head_[8] == ' ')
    status_ = std::stoi(head_.substr(9, 3));
}

ws_client::~ws_client() {
  if (fd_ >= 0)
    close(fd_);
}

bool ws_client::send_raw(std::string_view data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool ws_client::send_frame(int opcode, std::string_view payload, bool fin) {
  if (fd_ < 0)
    return false;
  std::string frame;
  frame += static_cast<char>((fin ? 0x80 : 0) | (opcode & 0x0F));
  const std::uint64_t n = payload.size();
  if (n < 126) {
    frame += static_cast<char>(0x80 | n);
  } else if (n <= 0xFFFF) {
    frame += static_cast<char>(0x80 | 126);
    frame += static_cast<char>(n >> 8);
    frame += static_cast<char>(n & 0xFF);
  } else {
    frame += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i)
      frame += static_cast<char>((n >> (8 * i)) & 0xFF);
  }
  static thread_local std::mt19937 rng{std::random_device{}()};
  char mask[4];
  for (char& m : mask)
    m = static_cast<char>(rng() & 0xFF);
  frame.append(mask, 4);
  const std::size_t start = frame.size();
  frame.append(payload);
  for (std::size_t i = 0; i < payload.size(); ++i)
    frame[start + i] = static_cast<char>(frame[start + i] ^ mask[i % 4]);
  return send_raw(frame);
}

bool ws_client::fill(std::chrono::steady_clock::time_point deadline) {
  if (fd_ < 0 || eof_)
    return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0)
    return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(left.count())) <= 0)
    return false;
  char chunk[65536];
  const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::optional<ws_frame> ws_client::next_frame(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (buffer_.size() >= 2) {
      const auto b0 = static_cast<unsigned char>(buffer_[0]);
      const auto b1 = static_cast<unsigned char>(buffer_[1]);
      std::size_t header = 2;
      std::uint64_t length = b1 & 0x7F;
      bool complete = true;
      if (length == 126) {
        header = 4;
        complete = buffer_.size() >= header;
        if (complete)
          length = (static_cast<unsigned char>(buffer_[2]) << 8) |
                   static_cast<unsigned char>(buffer_[3]);
      } else if (length == 127) {
        header = 10;
        complete = buffer_.size() >= header;
        if (complete) {
          length = 0;
          for (int i = 2; i < 10; ++i)
            length = (length << 8) | static_cast<unsigned char>(buffer_[i]);
        }
      }
      if (complete && buffer_.size() >= header + length) {
        ws_frame f;
        f.opcode = b0 & 0x0F;
        f.payload = buffer_.substr(header, static_cast<std::size_t>(length));
        buffer_.erase(0, header + static_cast<std::size_t>(length));
        if (f.opcode == 9) {
          ++pings_;
          send_frame(10, f.payload, true);
        } else if (f.opcode == 8) {
          close_code_ = f.payload.size() >= 2 ? (static_cast<unsigned char>(f.payload[0]) << 8) |
                                                  static_cast<unsigned char>(f.payload[1])
                                              : 1005;
        }
        return f;
      }
    }
    if (!fill(deadline))
      return std::nullopt;
  }
}

std::optional<std::string> ws_client::next_text(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    auto f = next_frame(std::max(left, std::chrono::milliseconds(0)));
    if (!f || f->opcode == 8)
      return std::nullopt;
    if (f->opcode == 1)
      return std::move(f->payload);
  }
}

std::optional<std::string> ws_client::next_of_type(std::string_view type,
                                                   std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    auto text = next_text(std::max(left, std::chrono::milliseconds(0)));
    if (!text)
      return std::nullopt;
    if (type_of(*text) == type)
      return text;
  }
}

int ws_client::wait_close(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    auto f = next_frame(std::max(left, std::chrono::milliseconds(0)));
    if (f && f->opcode == 8)
      return close_code_;
    if (!f)
      return eof_ ? 0 : -1;
  }
}

std::string type_of(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("type") || !d["type"].IsString())
    return {};
  return d["type"].GetString();
}

std::uint64_t seq_of(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("seq") || !d["seq"].IsUint64())
    return 0;
  return d["seq"].GetUint64();
}

}  // namespace wk::gateway::testing
