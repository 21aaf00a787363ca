#pragma once

// Bearer-token authorisation: tokens live in the configuration only as SHA-256 digests; a
// presented token is hashed and compared in constant time against every configured digest.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.hpp"

namespace wk::rest {

enum class access { none, viewer, responder, admin };

const char* to_string(access a);

class token_authority {
 public:
  explicit token_authority(const std::vector<config::token_spec>& tokens);

  // The role of the presented token (none when absent or unknown), plus the token's name for
  // audit logs.
  struct verdict {
    access role = access::none;
    std::string name;
  };
  verdict check(std::optional<std::string_view> bearer) const;

  bool empty() const { return tokens_.empty(); }

 private:
  std::vector<config::token_spec> tokens_;
};

// true when `have` is at least `need` (admin > responder > viewer > none).
bool allows(access have, access need);

}  // namespace wk::rest
