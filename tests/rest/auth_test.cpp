#include <doctest/doctest.h>

#include "config/sha256.hpp"
#include "protocol/rest/auth.hpp"

using namespace wk;

namespace {

config::token_spec token(std::string name, config::role r, std::string_view secret) {
  config::token_spec t;
  t.name = std::move(name);
  t.r = r;
  t.sha256 = config::sha256(secret);
  return t;
}

}  // namespace

TEST_CASE("a token maps to its role; unknown or missing tokens to none") {
  rest::token_authority auth({token("ops", config::role::admin, "s3cret-admin-token"),
                              token("bot", config::role::responder, "responder-token-123")});
  auto v = auth.check(std::string_view("s3cret-admin-token"));
  CHECK(v.role == rest::access::admin);
  CHECK(v.name == "ops");
  CHECK(auth.check(std::string_view("responder-token-123")).role == rest::access::responder);
  CHECK(auth.check(std::string_view("s3cret-admin-tokeN")).role == rest::access::none);
  CHECK(auth.check(std::nullopt).role == rest::access::none);
  CHECK(auth.check(std::string_view("")).role == rest::access::none);
}

TEST_CASE("roles are ordered") {
  CHECK(rest::allows(rest::access::admin, rest::access::responder));
  CHECK(rest::allows(rest::access::responder, rest::access::responder));
  CHECK_FALSE(rest::allows(rest::access::viewer, rest::access::responder));
  CHECK_FALSE(rest::allows(rest::access::none, rest::access::viewer));
}
