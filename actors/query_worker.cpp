#include "actors/query_worker.hpp"

#include <chrono>

#include <caf/all.hpp>

#include "promql/engine.hpp"
#include "protocol/rest/predictions.hpp"
#include "protocol/rest/prom_api.hpp"

namespace wk::actors {

namespace {

query_actor::behavior_type query_worker(query_actor::pointer, runtime_ptr rt) {
  auto engine = std::make_shared<promql::engine>(*rt->head);
  return {
    [rt, engine](query_atom, const std::string& endpoint, const http::http_request& req,
                 const http_reply& reply) {
      const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
      if (endpoint == "predictions")
        reply.respond(rest::answer_predictions(req, *engine, now));
      else
        reply.respond(rest::answer_prom_api(endpoint, req, *engine, *rt->head, now));
    },
  };
}

}  // namespace

query_pool::query_pool(caf::actor_system& sys, runtime_ptr rt, std::size_t workers) {
  for (std::size_t i = 0; i < std::max<std::size_t>(1, workers); ++i)
    workers_.push_back(sys.spawn<caf::detached>(query_worker, rt));
}

const query_actor& query_pool::next() {
  return workers_[next_.fetch_add(1, std::memory_order_relaxed) % workers_.size()];
}

void query_pool::stop() {
  for (const auto& w : workers_) caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

}  // namespace wk::actors
