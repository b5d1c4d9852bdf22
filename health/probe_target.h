// ProbeTarget: everything needed to probe one (registry, replica) pair,
// resolved from the topology (defaults applied, Host header expanded).
// Thread safety: plain value type.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "policy/pair_key.h"
#include "policy/topology.h"

namespace switchyard::health {

struct ProbeTarget {
  std::string registry;
  std::string region;
  policy::ProbeSpec spec;
  std::string connect_host;  // probe address (IPv6 bare), or the CNAME target
  std::string host;          // Host header and TLS SNI

  policy::PairKey key() const { return {registry, region}; }
  std::string url() const;  // scheme://host:port/path (connect_host is dialled)
};

// The probed pairs' targets (a registry with health.scheme none has none:
// the monitor would drop them, and at 100,000 registries building them took
// 0.5 s of the start-up).
std::vector<ProbeTarget> buildTargets(const policy::Topology& topology);
// Whether two targets of one pair probe a different place (scheme, address
// dialled, port, Host): the old verdict says nothing about the new one.
// Timing and thresholds are not the place.
bool sameEndpoint(const ProbeTarget& a, const ProbeTarget& b);
// The same from the model, without building targets: replica `r` of
// registry `g` as it was (a) and is (b).
bool sameProbeEndpoint(const policy::Registry& ga, const policy::Replica& ra, const policy::Registry& gb,
                       const policy::Replica& rb);
// The target of one pair (indices into the topology).
ProbeTarget targetOf(const policy::Topology& topology, uint32_t registry, uint32_t replica);

}  // namespace switchyard::health
