#pragma once

// Sends mail over SMTP. Detached: libcurl's SMTP client blocks for the whole session.

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "net/smtp_client.hpp"

namespace wk::actors {

using mailer_actor =
  caf::typed_actor<caf::replies_to<deliver_atom, net::smtp_message>::with<net::smtp_result>>;

mailer_actor::behavior_type mailer(mailer_actor::pointer self);

}  // namespace wk::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::net::smtp_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wk::net::smtp_result)
