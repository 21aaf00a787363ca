// The supervisor's restart logic under CAF's deterministic scheduler: timers advance by hand, so
// backoff and the restart budget are checked without sleeping.

#include <doctest/doctest.h>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/service_supervisor.hpp"

using namespace wk;
using namespace std::chrono_literals;

namespace {

struct fixture {
  fixture() : sys(init(cfg)), sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())) {
    sched.clock().current_time += std::chrono::hours(1);
    rt = std::make_shared<actors::runtime>();
    rt->registry = std::make_shared<telemetry::metrics_registry>();
    rt->metrics = std::make_shared<telemetry::watchkeeper_metrics>(*rt->registry);
  }
  ~fixture() { sched.run(); }

  static caf::actor_system_config& init(caf::actor_system_config& c) {
    c.set("scheduler.policy", caf::atom("testing"));
    c.set("logger.file-verbosity", caf::atom("quiet"));
    return c;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  actors::runtime_ptr rt;
};

// A child that fails right after it starts, counting how often it was spawned.
actors::child_spec crasher(std::shared_ptr<int> spawns) {
  return {"crasher", [spawns](actors::supervisor_actor parent) {
            ++*spawns;
            return parent->home_system().spawn([](caf::event_based_actor* self) -> caf::behavior {
              self->send(self, actors::tick_atom_v);
              return {[self](actors::tick_atom) { self->quit(caf::sec::runtime_error); }};
            });
          }};
}

// A child that runs until told otherwise, remembering whether it is alive.
actors::child_spec steady(std::shared_ptr<int> spawns, std::shared_ptr<bool> alive) {
  return {"steady", [spawns, alive](actors::supervisor_actor parent) {
            ++*spawns;
            return parent->home_system().spawn([alive](caf::event_based_actor* self) -> caf::behavior {
              *alive = true;
              self->attach_functor([alive](const caf::error&) { *alive = false; });
              return {[](actors::tick_atom) {}};
            });
          }};
}

actors::supervisor_settings settings(std::vector<actors::child_spec> children) {
  actors::supervisor_settings s;
  s.service = "svc";
  s.source = "config";
  s.restart.budget = 3;
  s.restart.window = 60s;
  s.restart.backoff_initial = 1000ms;
  s.restart.backoff_max = 8000ms;
  s.children = std::move(children);
  return s;
}

}  // namespace

TEST_CASE_FIXTURE(fixture, "a failing child is restarted after a growing backoff, within budget") {
  auto crashes = std::make_shared<int>(0);
  auto steady_spawns = std::make_shared<int>(0);
  auto alive = std::make_shared<bool>(false);
  auto sink = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](actors::status_atom, const watch::service_status&) {}};
  });
  auto sup = sys.spawn(actors::service_supervisor, rt,
                       settings({crasher(crashes), steady(steady_spawns, alive)}), sink);
  sched.run();
  CHECK(*crashes == 1);
  CHECK(*alive);
  // First backoff is in [500, 1000] ms: nothing before 500 ms, a restart by 1000 ms.
  sched.advance_time(499ms);
  sched.run();
  CHECK(*crashes == 1);
  sched.advance_time(501ms);
  sched.run();
  CHECK(*crashes == 2);
  // Second backoff is in [1000, 2000] ms.
  sched.advance_time(999ms);
  sched.run();
  CHECK(*crashes == 2);
  sched.advance_time(1001ms);
  sched.run();
  CHECK(*crashes == 3);
  sched.advance_time(4000ms);
  sched.run();
  CHECK(*crashes == 4);
  // Three restarts within the window spent the budget: no fifth start, however long we wait.
  sched.advance_time(30s);
  sched.run();
  CHECK(*crashes == 4);
  // The healthy sibling was never touched.
  CHECK(*steady_spawns == 1);
  CHECK(*alive);
  CHECK(rt->registry->render().find(
          "watchkeeper_child_restarts_total{service=\"svc\",child=\"crasher\"} 3") !=
        std::string::npos);
  // Stopping the supervisor takes its children with it.
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  sched.run();
  CHECK_FALSE(*alive);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(fixture, "children's status reports are coalesced and forwarded") {
  auto received = std::make_shared<std::vector<watch::service_status>>();
  auto sink = sys.spawn([received](caf::event_based_actor*) -> caf::behavior {
    return {[received](actors::status_atom, const watch::service_status& s) { received->push_back(s); }};
  });
  auto sup = sys.spawn(actors::service_supervisor, rt, settings({}), sink);
  sched.run();
  sched.advance_time(100ms);
  sched.run();
  REQUIRE(received->size() == 1);  // the initial report
  CHECK(received->back().state == "unknown");
  watch::check_status c;
  c.name = "http";
  c.state = watch::health_state::down;
  watch::scrape_status s;
  s.configured = true;
  s.up = true;
  s.last_scrape_ms = 1;
  caf::anon_send(sup, actors::status_atom_v, c);
  caf::anon_send(sup, actors::status_atom_v, s);
  c.state = watch::health_state::up;
  caf::anon_send(sup, actors::status_atom_v, c);
  sched.run();
  CHECK(received->size() == 1);  // nothing before the coalescing delay
  sched.advance_time(100ms);
  sched.run();
  REQUIRE(received->size() == 2);
  REQUIRE(received->back().checks.size() == 1);
  CHECK(received->back().checks[0].state == watch::health_state::up);
  CHECK(received->back().state == "up");
  caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
}
