// What a drill's report says of each resolver's cache flushes, from the
// events the purger left: one flush per change, or one for both when the
// revert came before the apply's flush began (which failed a CI run when
// the report insisted on two).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "control/drill.h"

using switchyard::control::resolverFlushes;
using nlohmann::json;

namespace {

json purge(const std::string& resolver, const std::string& name, double ms, int decisions = 1) {
  return {{"type", "resolver_purge"}, {"resolver", resolver}, {"name", name}, {"result", "ok"},
          {"ms", ms},                 {"attempt", 1},         {"decisions", decisions}};
}

}  // namespace

TEST_CASE("a drill's report: a flush per change, one flush for two changes, a failure given up, none") {
  const std::string name = "myregistry.example.net";
  json events = json::array();
  events.push_back(purge("a", name, 1.25));
  events.push_back(purge("b", name, 3.0, 2));  // apply and revert coalesced
  events.push_back(purge("a", "other.example.net", 9.0));  // another name: not this drill's
  events.push_back({{"type", "resolver_purge"}, {"resolver", "c"}, {"name", name}, {"result", "error"},
                    {"reason", "timeout"}, {"final", false}});  // retried: says nothing yet
  events.push_back({{"type", "replica_excluded"}, {"name", name}});
  auto r = resolverFlushes(events, name, {"a", "b", "c"});
  CHECK(r.summary["a"] == "resolver caches flushed in 1.2 ms");
  CHECK(r.summary["b"] == "resolver caches flushed in 3.0 ms (2 changes in one flush)");
  CHECK(r.summary["c"] == "no flush seen");
  CHECK_FALSE(r.complete);  // a has one of two changes, c none

  events.push_back(purge("a", name, 0.5));
  events.push_back({{"type", "resolver_purge"}, {"resolver", "c"}, {"name", name}, {"result", "error"},
                    {"reason", "timeout"}, {"final", true}, {"decisions", 2}});
  r = resolverFlushes(events, name, {"a", "b", "c"});
  CHECK(r.summary["a"] == "resolver caches flushed in 1.2 ms, 0.5 ms");
  CHECK(r.summary["c"] == "resolver caches flushed in failed (timeout)");
  CHECK(r.complete);
  // Events from before "decisions" existed count one change each.
  json old = json::array({purge("a", name, 1.0), purge("a", name, 2.0)});
  old[0].erase("decisions");
  old[1].erase("decisions");
  CHECK(resolverFlushes(old, name, {"a"}).complete);
  CHECK(resolverFlushes(json::array(), name, {}).complete);
}
