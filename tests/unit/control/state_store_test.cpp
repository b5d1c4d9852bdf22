#include <catch2/catch.hpp>

#include <fstream>

#include "control/state_store.h"
#include "tests/support/daemon_process.h"

using namespace switchyard;
using namespace switchyard::control;
using policy::Health;

TEST_CASE("health state round-trips through an atomically replaced file") {
  std::string dir = test::makeTempDir();
  StateStore store(dir);
  CHECK(store.loadHealth()->empty());  // nothing yet: empty, not an error
  HealthStates states{{{"myregistry", "eastus"}, Health::Down}, {{"myregistry", "westus"}, Health::Up},
                      {{"teamb", "westeurope"}, Health::Unknown}};
  REQUIRE(StateStore::writeAtomically(store.healthPath(), StateStore::encodeHealth(states)));
  auto back = store.loadHealth();
  REQUIRE(back);
  CHECK(back->size() == 2);  // unknown is not an observation: not saved
  CHECK(back->at({"myregistry", "eastus"}) == Health::Down);
  CHECK(back->at({"myregistry", "westus"}) == Health::Up);
  CHECK_FALSE(std::ifstream(store.healthPath() + ".tmp"));  // renamed away
  CHECK(store.loadLagging()->empty());

  // Lagging pairs ride along; a file written before they existed has none.
  REQUIRE(StateStore::writeAtomically(store.healthPath(),
                                      StateStore::encodeHealth(states, {{"myregistry", "westus"}, {"teamb", "westeurope"}})));
  CHECK(*store.loadLagging() == PairSet{{"myregistry", "westus"}, {"teamb", "westeurope"}});
  CHECK(store.loadHealth()->size() == 2);
  REQUIRE(StateStore::writeAtomically(store.healthPath(), R"({"version": 1, "pairs": {"myregistry/eastus": "up"}})"));
  CHECK(store.loadLagging()->empty());
  CHECK(store.loadHealth()->size() == 1);
  [[maybe_unused]] int rc = std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("a corrupt or foreign health file is an error that names the file") {
  std::string dir = test::makeTempDir();
  StateStore store(dir);
  test::writeFile(store.healthPath(), "{\"version\": 1, \"pairs\": {\"a/b\": \"sideways\"}}");
  auto bad = store.loadHealth();
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error(), Catch::Contains("health.json: pair 'a/b' has unknown state 'sideways'"));
  // A key that names no pair is skipped, not fatal: the rest still loads.
  test::writeFile(store.healthPath(), "{\"version\": 1, \"pairs\": {\"no-slash\": \"up\", \"a/b\": \"down\"}}");
  REQUIRE(store.loadHealth());
  CHECK(store.loadHealth()->size() == 1);
  test::writeFile(store.healthPath(), "{ truncated");
  CHECK_THAT(store.loadHealth().error(), Catch::Contains("health.json"));
  test::writeFile(store.healthPath(), "{\"version\": 7, \"pairs\": {}}");
  CHECK_THAT(store.loadHealth().error(), Catch::Contains("unknown version"));
  CHECK(StateStore("").loadHealth()->empty());  // no state dir: nothing persisted
  [[maybe_unused]] int rc = std::system(("rm -rf " + dir).c_str());
}
