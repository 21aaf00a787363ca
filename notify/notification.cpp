#include "notify/notification.hpp"

#include <cctype>

namespace wk::notify {

std::string incident_url(const notification& n) {
  std::string_view base = n.external_url;
  if (base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0)
    return {};
  while (!base.empty() && base.back() == '/')
    base.remove_suffix(1);
  std::string out(base);
  out += "/incidents/";
  static constexpr char hex[] = "0123456789ABCDEF";
  for (unsigned char c : n.incident_id) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string transition_tag(const notification& n) {
  const std::string& word = n.transition.empty() ? n.status : n.transition;
  std::string out;
  for (unsigned char c : word)
    out += static_cast<char>(std::toupper(c));
  return out.empty() ? "NOTIFICATION" : out;
}

}  // namespace wk::notify
