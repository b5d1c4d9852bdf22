// compileAll on several threads (the start-up's) gives the same answers as on one.
#include <catch2/catch.hpp>

#include <string>

#include "config/config_loader.h"
#include "dns/answer_compiler.h"
#include "policy/ranking.h"
#include "policy/routing_policy.h"
#include "tests/support/test_topology.h"

using namespace switchyard;

TEST_CASE("compileAll: thousands of registries on several threads compile to exactly the one-thread answers") {
  std::string text = test::testConfig();
  text.replace(text.find("@DNS@"), 5, "[\"127.0.0.1:53\"]");
  std::string more;
  for (int i = 0; i < 9000; ++i)  // above two threads' worth (4,096 each)
    more += "  - { name: bulk" + std::to_string(i) + ", home: eastus, regional_endpoints: enabled, replicas: [" +
            "{ region: eastus, addresses: [10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) +
            "] }, { region: westus, addresses: [10.2." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) +
            "] }] }\n";
  text.insert(text.find("registries:\n") + 12, more);
  auto topology = config::loadTopologyText(text, "t.yaml").value();
  std::vector<std::vector<policy::ReplicaState>> states;
  for (const auto& g : topology->registries)
    states.emplace_back(g.replicas.size(), policy::ReplicaState{policy::Health::Up, true});
  policy::Ranking ranking(*topology);
  auto table = policy::computeRoutingTable(*topology, ranking, states, 1);
  auto one = dns::compileAll(*topology, *table, 7, {}, 1);
  auto four = dns::compileAll(*topology, *table, 7, {}, 4);
  REQUIRE(one->registries.size() == topology->registries.size());
  REQUIRE(four->registries.size() == one->registries.size());
  size_t differ = 0;
  for (size_t g = 0; g < one->registries.size(); ++g) {
    const auto& a = *one->registries[g];
    const auto& b = *four->registries[g];
    bool same = a.answers.size() == b.answers.size() && a.views == b.views && a.client_view == b.client_view &&
                a.fixed.size() == b.fixed.size();
    for (size_t i = 0; same && i < a.answers.size(); ++i) same = a.answers[i].body == b.answers[i].body;
    if (!same) ++differ;
  }
  CHECK(differ == 0);
  // Each registry's own answers, not a neighbour's: the last one names its own address.
  const auto& last = *four->registries[topology->registries.size() - 3];  // bulk8999 (the file's two come last)
  bool has = false;
  for (const auto& a : last.answers)
    for (size_t i = 0; i + 4 <= a.body.size(); ++i)
      has = has || (a.body[i] == 10 && a.body[i + 1] == 1 && a.body[i + 2] == 35 && a.body[i + 3] == 250);
  CHECK(has);
}
