#include <catch2/catch.hpp>

#include "config/config_loader.h"
#include "policy/routing_policy.h"
#include "tests/support/test_topology.h"

using namespace switchyard;
using namespace switchyard::policy;

namespace {

// `from` -> `to` edits the test topology.
config::TopologyPtr load(const std::string& from = "", const std::string& to = "") {
  std::string text = test::testConfig();
  if (!from.empty()) text.replace(text.find(from), from.size(), to);
  text.replace(text.find("@DNS@"), 5, "[\"127.0.0.1:53\"]");
  auto t = config::loadTopologyText(text, "test.yaml");
  if (!t) FAIL(t.error());
  return *t;
}

std::vector<std::vector<ReplicaState>> healthy(const Topology& t) {
  std::vector<std::vector<ReplicaState>> s;
  for (const auto& g : t.registries) s.emplace_back(g.replicas.size(), ReplicaState{Health::Up, true});
  return s;
}

// "westus" for replica index r of registry g.
std::vector<std::string> names(const Topology& t, uint32_t g, const ClientRoute& route) {
  std::vector<std::string> out;
  for (const auto& c : route.replicas) out.push_back(t.regions[t.registries[g].replicas[c.replica].region].name);
  return out;
}

struct Fixture {
  config::TopologyPtr t;
  Ranking ranking;
  std::vector<std::vector<ReplicaState>> states;
  explicit Fixture(const std::string& from = "", const std::string& to = "")
      : t(load(from, to)), ranking(*t), states(healthy(*t)) {}
  ClientRoute route(const char* client, uint32_t g = 0) {
    auto part = computeRegistryRouting(*t, ranking, g, states[g]);
    return part->clients[*t->regionIndex(client)];
  }
  ReplicaState& at(const char* region, uint32_t g = 0) {
    return states[g][*t->replicaIndex(g, region)];
  }
};

}  // namespace

TEST_CASE("each client region is answered by its nearest replica when it is eligible") {
  Fixture f;
  CHECK(names(*f.t, 0, f.route("eastus")) == std::vector<std::string>{"eastus"});
  CHECK(names(*f.t, 0, f.route("westus")) == std::vector<std::string>{"westus"});
  CHECK(names(*f.t, 0, f.route("westeurope")) == std::vector<std::string>{"westeurope"});
  // Singapore is closer to Amsterdam than to either US region.
  CHECK(names(*f.t, 0, f.route("southeastasia")) == std::vector<std::string>{"westeurope"});
  auto r = f.route("eastus");
  CHECK(r.replicas[0].reason == Reason::Nearest);
  CHECK(r.replicas[0].weight == 1.0);
}

TEST_CASE("ranking is by great-circle distance with ties broken by region name") {
  std::string text = test::testConfig();
  // Two regions at the very same place: the name decides.
  text.replace(text.find("westus:        { location: [37.78, -122.42] }"),
               std::string("westus:        { location: [37.78, -122.42] }").size(),
               "westus:        { location: [37.37, -79.82] }");
  text.replace(text.find("@DNS@"), 5, "[\"127.0.0.1:53\"]");
  auto t = config::loadTopologyText(text, "tie.yaml");
  REQUIRE(t);
  Ranking ranking(**t);
  auto order = ranking.order(0, *(*t)->regionIndex("westus"));
  std::vector<std::string> got;
  for (uint32_t r : order) got.push_back((*t)->regions[(*t)->registries[0].replicas[r].region].name);
  CHECK(got == std::vector<std::string>{"eastus", "westus", "westeurope"});
}

TEST_CASE("a down nearest replica spreads the client over the next eligible replicas") {
  Fixture f;
  f.at("eastus").health = Health::Down;
  auto r = f.route("eastus");
  CHECK(names(*f.t, 0, r) == std::vector<std::string>{"westus", "westeurope"});
  for (const auto& c : r.replicas) {
    CHECK(c.reason == Reason::FailoverSpread);
    CHECK(c.weight == 0.5);
  }
  // Other client regions keep their own nearest replica.
  CHECK(names(*f.t, 0, f.route("westus")) == std::vector<std::string>{"westus"});
}

TEST_CASE("an operator exclusion takes the replica out of global routing like a failure") {
  Fixture f;
  f.at("westus").global_endpoint_routing = false;
  CHECK(names(*f.t, 0, f.route("westus")) == std::vector<std::string>{"eastus", "westeurope"});
}

TEST_CASE("a lagging replica leaves global routing, and fail-open ignores lag like exclusions") {
  Fixture f;
  f.at("westus").lagging = true;
  CHECK(names(*f.t, 0, f.route("westus")) == std::vector<std::string>{"eastus", "westeurope"});
  CHECK(names(*f.t, 0, f.route("eastus")) == std::vector<std::string>{"eastus"});
  // Every replica lagging (a majority reference can do that): better a stale
  // image than no answer.
  for (auto& s : f.states[0]) s.lagging = true;
  auto r = f.route("westus");
  CHECK(names(*f.t, 0, r) == std::vector<std::string>{"westus", "eastus", "westeurope"});
  CHECK(r.replicas[0].reason == Reason::FailOpen);
}

TEST_CASE("failover_spread bounds how many replicas share the answer") {
  Fixture f("failover_spread: 2", "failover_spread: 1");
  f.at("eastus").health = Health::Down;
  CHECK(names(*f.t, 0, f.route("eastus")) == std::vector<std::string>{"westus"});
}

TEST_CASE("with one eligible replica left it takes the whole answer") {
  Fixture f;
  f.at("eastus").health = Health::Down;
  f.at("westus").global_endpoint_routing = false;
  auto r = f.route("eastus");
  CHECK(names(*f.t, 0, r) == std::vector<std::string>{"westeurope"});
  CHECK(r.replicas[0].weight == 1.0);
  CHECK(r.replicas[0].reason == Reason::FailoverSpread);
}

TEST_CASE("unknown health counts as healthy") {
  Fixture f;
  f.at("eastus").health = Health::Unknown;
  CHECK(names(*f.t, 0, f.route("eastus")) == std::vector<std::string>{"eastus"});
}

TEST_CASE("none eligible, fail-open: healthy replicas ignoring exclusions") {
  Fixture f;
  f.at("eastus").health = Health::Down;
  f.at("westus").global_endpoint_routing = false;
  f.at("westeurope").global_endpoint_routing = false;
  auto r = f.route("eastus");
  CHECK(names(*f.t, 0, r) == std::vector<std::string>{"westus", "westeurope"});
  CHECK(r.replicas[0].reason == Reason::FailOpen);
  CHECK_FALSE(r.servfail);
}

TEST_CASE("none eligible and none healthy, fail-open: every replica") {
  Fixture f;
  for (auto& s : f.states[0]) s.health = Health::Down;
  auto r = f.route("westus");
  CHECK(names(*f.t, 0, r) == std::vector<std::string>{"westus", "eastus", "westeurope"});
  CHECK(r.replicas[0].weight == Approx(1.0 / 3));
}

TEST_CASE("none eligible with when_none_eligible servfail: an empty SERVFAIL route") {
  Fixture f("failover_spread: 2", "failover_spread: 2\n  when_none_eligible: servfail");
  for (auto& s : f.states[0]) s.global_endpoint_routing = false;
  auto r = f.route("eastus");
  CHECK(r.servfail);
  CHECK(r.replicas.empty());
}

TEST_CASE("health is per registry: one registry's failure does not move another") {
  Fixture f;
  auto before = computeRoutingTable(*f.t, f.ranking, f.states, 1);
  f.states[1][*f.t->replicaIndex(1, "westeurope")].health = Health::Down;
  auto part = computeRegistryRouting(*f.t, f.ranking, 1, f.states[1]);
  auto after = before->withRegistry(1, part);
  CHECK(after->generation == 2);
  CHECK(after->registries[0] == before->registries[0]);  // shared, not copied
  CHECK(*after->registries[0] == *computeRegistryRouting(*f.t, f.ranking, 0, f.states[0]));
  CHECK(names(*f.t, 1, after->registries[1]->clients[0]) == std::vector<std::string>{"southeastasia"});
}

TEST_CASE("the same inputs always give the same table") {
  Fixture f;
  f.at("westus").health = Health::Down;
  auto a = computeRoutingTable(*f.t, f.ranking, f.states, 5);
  auto b = computeRoutingTable(*f.t, f.ranking, f.states, 5);
  for (size_t g = 0; g < a->registries.size(); ++g) CHECK(*a->registries[g] == *b->registries[g]);
}
