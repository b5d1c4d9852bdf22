#include "policy/routing_policy.h"

namespace switchyard::policy {

const char* healthName(Health health) {
  switch (health) {
    case Health::Unknown: return "unknown";
    case Health::Up: return "up";
    case Health::Down: return "down";
  }
  return "?";
}

namespace {

bool healthy(const ReplicaState& s) { return s.health != Health::Down && !s.awaiting_probe; }
bool eligible(const ReplicaState& s) { return healthy(s) && s.global_endpoint_routing && !s.lagging; }

ClientRoute share(const std::vector<uint32_t>& replicas, Reason reason) {
  ClientRoute route;
  for (uint32_t r : replicas)
    route.replicas.push_back({r, 1.0 / static_cast<double>(replicas.size()), reason});
  return route;
}

ClientRoute routeClient(std::span<const uint32_t> order, const std::vector<ReplicaState>& states,
                        int spread, WhenNoneEligible when_none) {
  if (eligible(states[order[0]])) return share({order[0]}, Reason::Nearest);

  std::vector<uint32_t> picked;
  for (uint32_t r : order)
    if (eligible(states[r]) && static_cast<int>(picked.size()) < spread) picked.push_back(r);
  if (!picked.empty()) return share(picked, Reason::FailoverSpread);

  if (when_none == WhenNoneEligible::Servfail) return ClientRoute{{}, true};
  for (uint32_t r : order)
    if (healthy(states[r])) picked.push_back(r);
  if (picked.empty()) picked.assign(order.begin(), order.end());
  return share(picked, Reason::FailOpen);
}

}  // namespace

std::shared_ptr<const RegistryRouting> computeRegistryRouting(
    const Topology& topology, const Ranking& ranking, uint32_t registry,
    const std::vector<ReplicaState>& states) {
  auto part = std::make_shared<RegistryRouting>();
  part->clients.reserve(topology.regions.size());
  for (uint32_t c = 0; c < topology.regions.size(); ++c)
    part->clients.push_back(routeClient(ranking.order(registry, c), states,
                                        topology.failover_spread, topology.when_none_eligible));
  return part;
}

std::vector<uint32_t> reachableFrom(const Registry& registry, const std::vector<uint32_t>& share, bool v4) {
  std::vector<uint32_t> out;
  for (uint32_t r : share) {
    const Replica& rep = registry.replicas[r];
    bool reachable = rep.target.has_value();
    for (const auto& a : rep.addresses) reachable = reachable || a.isV4() == v4;
    if (reachable) out.push_back(r);
  }
  return out.empty() ? share : out;
}

ClientPick pickForClient(const Topology& topology, uint32_t registry, const ClientRoute& route,
                         const IpAddress& client) {
  ClientPick pick;
  IpAddress addr = client.unmapped();
  pick.subnet = stickySubnet(addr, topology.sticky_prefix);
  for (const auto& c : route.replicas) pick.replicas.push_back(c.replica);
  if (pick.replicas.size() < 2 || topology.spread != Spread::Sticky) return pick;
  const Registry& reg = topology.registries[registry];
  auto candidates = reachableFrom(reg, pick.replicas, addr.isV4());
  std::vector<uint64_t> seeds;
  for (uint32_t r : candidates) seeds.push_back(replicaSeed(reg.name, topology.regions[reg.replicas[r].region].name));
  size_t i = stickyPick(seeds, subnetKey(addr.isV4(), addr.bytes.data(), topology.sticky_prefix.of(addr.isV4())));
  pick.replicas = {candidates[i]};
  pick.sticky = true;
  return pick;
}

std::shared_ptr<const RoutingTable> computeRoutingTable(
    const Topology& topology, const Ranking& ranking,
    const std::vector<std::vector<ReplicaState>>& states, uint64_t generation, const ReuseRouting& reuse) {
  auto table = std::make_shared<RoutingTable>();
  table->generation = generation;
  for (uint32_t g = 0; g < topology.registries.size(); ++g) {
    auto carried = reuse ? reuse(g) : nullptr;
    table->registries.push_back(carried ? std::move(carried) : computeRegistryRouting(topology, ranking, g, states[g]));
  }
  return table;
}

}  // namespace switchyard::policy
