#pragma once

// Runs PromQL for the Prometheus HTTP API off the gateway thread. A query may take a while on
// a big head, so each worker is detached (its own thread) and the API spreads requests over a
// small pool of them.

#include <atomic>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/messages.hpp"
#include "actors/runtime.hpp"

namespace wk::actors {

// endpoint ("query", "query_range", "series", "labels", "label/<name>/values"), the request.
using query_actor =
  caf::typed_actor<caf::reacts_to<query_atom, std::string, http::http_request, http_reply>>;

class query_pool {
 public:
  query_pool(caf::actor_system& sys, runtime_ptr rt, std::size_t workers);
  const query_actor& next();
  void stop();  // the workers are detached: the actor system waits for them at exit

 private:
  std::vector<query_actor> workers_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace wk::actors
