#include "protocol/http/chunked_decoder.hpp"

#include <algorithm>

#include "protocol/http/uri.hpp"

namespace wk::http {

chunked_decoder::status chunked_decoder::fail(status s, const char* why) {
  state_ = state::failed;
  final_status_ = s;
  error_ = why;
  return s;
}

chunked_decoder::status chunked_decoder::feed(std::string_view input, std::string& body,
                                              std::size_t& consumed) {
  std::size_t i = 0;
  consumed = 0;
  if (state_ == state::finished || state_ == state::failed)
    return final_status_;
  while (i < input.size()) {
    const char c = input[i];
    switch (state_) {
      case state::size: {
        const int v = hex_value(c);
        if (v >= 0) {
          if (++digits_ > max_size_digits)
            return fail(status::malformed, "chunk size has too many digits");
          chunk_size_ = chunk_size_ * 16 + static_cast<std::uint64_t>(v);
          ++i;
        } else if (digits_ == 0) {
          return fail(status::malformed, "chunk size is not hexadecimal");
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = state::extension;
          line_bytes_ = static_cast<std::size_t>(digits_);
          ++i;
        } else if (c == '\r') {
          state_ = state::size_lf;
          ++i;
        } else {
          return fail(status::malformed, "unexpected character after the chunk size");
        }
        break;
      }
      case state::extension:
        if (c == '\r') {
          state_ = state::size_lf;
        } else if (c == '\n') {
          return fail(status::malformed, "chunk size line ends with a bare LF");
        } else if (++line_bytes_ > max_size_line) {
          return fail(status::malformed, "chunk extension is too long");
        }
        ++i;
        break;
      case state::size_lf:
        if (c != '\n')
          return fail(status::malformed, "chunk size line is not ended by CRLF");
        ++i;
        if (chunk_size_ == 0) {
          state_ = state::trailer_start;
        } else if (chunk_size_ > max_body_ - decoded_) {
          return fail(status::too_large, "chunked body exceeds the size limit");
        } else {
          remaining_ = chunk_size_;
          state_ = state::data;
        }
        break;
      case state::data: {
        const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size() - i));
        body.append(input.data() + i, n);
        i += n;
        remaining_ -= n;
        decoded_ += n;
        if (remaining_ == 0)
          state_ = state::data_cr;
        break;
      }
      case state::data_cr:
        if (c != '\r')
          return fail(status::malformed, "chunk data is not followed by CRLF");
        state_ = state::data_lf;
        ++i;
        break;
      case state::data_lf:
        if (c != '\n')
          return fail(status::malformed, "chunk data is not followed by CRLF");
        chunk_size_ = 0;
        digits_ = 0;
        state_ = state::size;
        ++i;
        break;
      case state::trailer_start:
        if (c == '\r') {
          state_ = state::final_lf;
          ++i;
        } else {
          state_ = state::trailer_line;
        }
        break;
      case state::trailer_line:
        if (c == '\r') {
          state_ = state::trailer_lf;
        } else if (c == '\n') {
          return fail(status::malformed, "trailer line ends with a bare LF");
        } else if (++trailer_bytes_ > max_trailer_bytes) {
          return fail(status::malformed, "chunked trailers are too long");
        }
        ++i;
        break;
      case state::trailer_lf:
        if (c != '\n')
          return fail(status::malformed, "trailer line is not ended by CRLF");
        state_ = state::trailer_start;
        ++i;
        break;
      case state::final_lf:
        if (c != '\n')
          return fail(status::malformed, "chunked body is not ended by CRLF");
        state_ = state::finished;
        final_status_ = status::done;
        consumed = i + 1;
        return status::done;
      case state::finished:
      case state::failed:
        return final_status_;
    }
  }
  consumed = input.size();
  return status::need_more;
}

}  // namespace wk::http
