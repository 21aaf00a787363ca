#pragma once

// A small RFC 6455 client over a raw socket for the gateway tests: it can also send what a
// browser never would (binary frames, huge or fragmented messages, invalid UTF-8).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wk::gateway::testing {

struct ws_frame {
  int opcode = 0;  // 1 text, 2 binary, 8 close, 9 ping, 10 pong
  std::string payload;
};

class ws_client {
 public:
  // Connects to 127.0.0.1:port and sends the upgrade for `path`; extra header lines come
  // without CRLF ("Origin: http://x").
  ws_client(int port, const std::string& path = "/", const std::vector<std::string>& headers = {},
            std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  bool upgraded() const { return status_ == 101; }
  int status() const { return status_; }  // of the upgrade answer; 0 without one
  const std::string& response_head() const { return head_; }

  bool send_text(std::string_view text) { return send_frame(1, text, true); }
  bool send_binary(std::string_view data) { return send_frame(2, data, true); }
  bool send_frame(int opcode, std::string_view payload, bool fin);

  // The next frame (pings are answered and also returned), or nullopt on timeout or EOF.
  std::optional<ws_frame> next_frame(std::chrono::milliseconds timeout);
  // The next text message, skipping pings; nullopt on timeout, EOF or a close frame.
  std::optional<std::string> next_text(std::chrono::milliseconds timeout =
                                         std::chrono::milliseconds(5000));
  // Reads until a text message with "type":"<type>" arrives; nullopt otherwise.
  std::optional<std::string> next_of_type(std::string_view type,
                                          std::chrono::milliseconds timeout =
                                            std::chrono::milliseconds(5000));
  // Reads until the server closes; returns the close code (1005 for a close frame without one,
  // 0 for EOF without a close frame, -1 on timeout).
  int wait_close(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  bool closed() const { return eof_; }
  int close_code() const { return close_code_; }
  std::size_t pings_seen() const { return pings_; }
  int fd() const { return fd_; }

 private:
  bool send_raw(std::string_view data);
  bool fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  int status_ = 0;
  std::string head_;
  std::string buffer_;
  bool eof_ = false;
  int close_code_ = 0;
  std::size_t pings_ = 0;
};

// The "type" and "seq" of a server message, for assertions; empty / 0 when absent.
std::string type_of(const std::string& json);
std::uint64_t seq_of(const std::string& json);

}  // namespace wk::gateway::testing
