#include "actors/mailer.hpp"

#include <caf/all.hpp>

namespace wk::actors {

mailer_actor::behavior_type mailer(mailer_actor::pointer) {
  return {
    [](deliver_atom, const net::smtp_message& m) { return net::send_mail(m); },
  };
}

}  // namespace wk::actors
