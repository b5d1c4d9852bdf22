// Zone: testConfig() compiled into an AnswerSet in memory (every replica up),
// and a way to ask it a question through respond() without sockets. Used by
// the unit tests and the hot-path benchmarks.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "dns/answer_compiler.h"
#include "dns/responder.h"
#include "policy/routing_policy.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_topology.h"

namespace switchyard::test {

using dns::Transport;
using dns::Query;
using dns::AnswerSet;

struct Zone {
  config::TopologyPtr topology;
  std::shared_ptr<const AnswerSet> set;
  std::vector<std::vector<policy::ReplicaState>> states;

  explicit Zone(const std::string& extra = "", const std::string& replace_from = "",
                const std::string& replace_to = "") {
    std::string text = testConfig(extra);
    text.replace(text.find("@DNS@"), 5, "[\"127.0.0.1:53\"]");
    if (!replace_from.empty()) text.replace(text.find(replace_from), replace_from.size(), replace_to);
    topology = config::loadTopologyText(text, "t.yaml").value();  // throws (and names the error) if invalid
    for (const auto& g : topology->registries)
      states.emplace_back(g.replicas.size(), policy::ReplicaState{policy::Health::Up, true});
    rebuild();
  }
  void rebuild() {
    policy::Ranking ranking(*topology);
    auto table = policy::computeRoutingTable(*topology, ranking, states, 1);
    set = dns::compileAll(*topology, *table, 2026112801);
  }
  std::vector<uint8_t> raw(const std::vector<uint8_t>& query, const char* source = "192.0.2.1",
                           Transport transport = Transport::Udp) const {
    std::vector<uint8_t> out(65535);
    Query scratch;
    size_t n = dns::respond(*set, query.data(), query.size(), IpAddress::parse(source).value(), transport,
                       scratch, out.data(), out.size());
    out.resize(n);
    return out;
  }
  Pkt ask(const std::string& name, uint16_t type, QueryOptions o = {},
          const char* source = "192.0.2.1") const {
    return parse(raw(buildQuery(name, type, o), source, o.tcp ? Transport::Tcp : Transport::Udp));
  }
};

}  // namespace switchyard::test
