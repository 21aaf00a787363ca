#pragma once

// Incremental decoder for "Transfer-Encoding: chunked" request bodies (RFC 9112 section 7.1).
// Bytes arrive in arbitrary pieces; payload is appended to the caller's string. Line lengths,
// digit counts and trailers are bounded so hostile framing cannot grow memory or overflow.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wk::http {

class chunked_decoder {
 public:
  enum class status {
    need_more,  // everything consumed, the body continues
    done,       // last chunk and trailers read; `consumed` may stop short of the input
    too_large,  // the payload would exceed max_body
    malformed,  // framing error; see error()
  };

  explicit chunked_decoder(std::size_t max_body) : max_body_(max_body) {}

  // Decodes input, appending payload to body. consumed receives how many input bytes belong to
  // the chunked message. After done, too_large or malformed every call returns the same status.
  status feed(std::string_view input, std::string& body, std::size_t& consumed);

  std::string_view error() const { return error_; }
  std::uint64_t decoded_bytes() const { return decoded_; }

 private:
  enum class state {
    size,           // hex digits of the chunk size
    extension,      // ";name=value" after the size, skipped
    size_lf,        // LF closing the size line
    data,           // chunk payload
    data_cr,        // CR after the payload
    data_lf,        // LF after the payload
    trailer_start,  // start of a trailer line, or the CR of the final empty line
    trailer_line,   // inside a trailer field, skipped
    trailer_lf,     // LF closing a trailer field
    final_lf,       // LF of the final empty line
    finished,
    failed,
  };

  status fail(status s, const char* why);

  static constexpr std::size_t max_size_line = 4096;
  static constexpr std::size_t max_trailer_bytes = 16384;
  static constexpr int max_size_digits = 15;  // 2^60: beyond any max_body, no overflow

  std::size_t max_body_;
  state state_ = state::size;
  status final_status_ = status::need_more;
  std::uint64_t chunk_size_ = 0;
  std::uint64_t remaining_ = 0;
  std::uint64_t decoded_ = 0;
  int digits_ = 0;
  std::size_t line_bytes_ = 0;
  std::size_t trailer_bytes_ = 0;
  const char* error_ = "";
};

}  // namespace wk::http
