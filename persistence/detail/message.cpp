#include "persistence/detail/message.hpp"

namespace wk::persistence::detail {

std::string one_line(std::string_view message) {
  constexpr std::size_t max_length = 2000;
  for (std::string_view prefix : {"ERROR:  ", "FATAL:  "}) {
    if (message.substr(0, prefix.size()) == prefix) message.remove_prefix(prefix.size());
  }
  std::string out;
  out.reserve(message.size() < max_length ? message.size() : max_length);
  for (char c : message) {
    const bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (space) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
    if (out.size() >= max_length) {
      out += "...";
      break;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.empty() ? "unknown error" : out;
}

}  // namespace wk::persistence::detail
