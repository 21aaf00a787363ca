#include "protocol/rest/auth.hpp"

#include "config/sha256.hpp"

namespace wk::rest {

const char* to_string(access a) {
  switch (a) {
    case access::none:
      return "none";
    case access::viewer:
      return "viewer";
    case access::responder:
      return "responder";
    case access::admin:
      return "admin";
  }
  return "none";
}

namespace {

access access_of(config::role r) {
  switch (r) {
    case config::role::viewer:
      return access::viewer;
    case config::role::responder:
      return access::responder;
    case config::role::admin:
      return access::admin;
  }
  return access::none;
}

}  // namespace

token_authority::token_authority(const std::vector<config::token_spec>& tokens)
  : tokens_(tokens) {
}

token_authority::verdict token_authority::check(std::optional<std::string_view> bearer) const {
  verdict v;
  if (!bearer || bearer->empty())
    return v;
  auto digest = config::sha256(*bearer);
  // Every digest is compared in full, whatever matched, so timing tells nothing.
  for (const auto& t : tokens_) {
    unsigned char diff = 0;
    for (std::size_t i = 0; i < digest.size(); ++i)
      diff |= static_cast<unsigned char>(digest[i] ^ t.sha256[i]);
    if (diff == 0 && access_of(t.r) > v.role) {
      v.role = access_of(t.r);
      v.name = t.name;
    }
  }
  return v;
}

bool allows(access have, access need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

}  // namespace wk::rest
