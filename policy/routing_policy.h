// The routing rules, as pure functions of (Topology, Ranking, health, flags).
//
// For each client region of a registry:
//   1. The nearest replica (Ranking order) answers alone when it is eligible:
//      its operator flag is on AND it is healthy for this registry AND it is
//      not lagging behind its registry's canary (replication freshness).
//   2. Otherwise the next `failover_spread` nearest eligible replicas share the
//      answer with equal weights ("failover-spread").
//   3. Otherwise (none eligible): `fail-open` answers with every healthy replica
//      ignoring operator flags and lag, and when none is healthy with every replica;
//      `servfail` answers SERVFAIL.
// Health::Unknown counts as healthy: with no evidence against a replica we keep
// it. (The prober decides when "unknown" may be served at all.) A replica
// added at run time (a reload, the API) is not: it waits for its first probe
// (ReplicaState::awaiting_probe), so no answer comes from a guess.
// Thread safety: pure functions; no state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "policy/ranking.h"
#include "policy/routing_table.h"
#include "policy/topology.h"

namespace switchyard::policy {

enum class Health : uint8_t { Unknown, Up, Down };
const char* healthName(Health health);

// Everything that can change at run time about one replica of one registry.
struct ReplicaState {
  Health health = Health::Unknown;
  bool global_endpoint_routing = true;
  bool lagging = false;  // serves an older canary than the reference for too long
  // Added while running and not probed yet: neither eligible nor healthy
  // until its first probe decides (cleared by any health decision).
  bool awaiting_probe = false;
  friend bool operator==(const ReplicaState&, const ReplicaState&) = default;
};

// REQUIRES: states.size() == topology.registries[registry].replicas.size()
std::shared_ptr<const RegistryRouting> computeRegistryRouting(
    const Topology& topology, const Ranking& ranking, uint32_t registry,
    const std::vector<ReplicaState>& states);

// The replicas that the global name's answer holds for one client address
// whose client region got `route`: every replica of the route, except that a
// shared route under routing.spread sticky holds the one replica of the
// client's subnet among those reachable from its family (policy/sticky.h;
// the DNS path picks with the same functions). Empty for a servfail route.
// The replicas of `share` a client of one family can reach: those with
// addresses of that family, or a target (a CNAME resolves either way); all of
// `share` when none can. Sticky sharing picks among these, for A and AAAA alike.
std::vector<uint32_t> reachableFrom(const Registry& registry, const std::vector<uint32_t>& share, bool v4);

struct ClientPick {
  std::vector<uint32_t> replicas;  // replica indices of the registry
  IpPrefix subnet;                 // the client's sticky subnet
  bool sticky = false;             // chosen by subnet from a share set
};
ClientPick pickForClient(const Topology& topology, uint32_t registry, const ClientRoute& route,
                         const IpAddress& client);

// REQUIRES: states[g] as above for every registry g.
// `reuse` (optional): registry g's part from an earlier table, or nullptr to
// compute it. REQUIRES: what it returns was computed from the same registry,
// regions and states.
using ReuseRouting = std::function<std::shared_ptr<const RegistryRouting>(uint32_t registry)>;
std::shared_ptr<const RoutingTable> computeRoutingTable(
    const Topology& topology, const Ranking& ranking,
    const std::vector<std::vector<ReplicaState>>& states, uint64_t generation, const ReuseRouting& reuse = {});

}  // namespace switchyard::policy
