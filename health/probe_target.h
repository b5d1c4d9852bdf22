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

std::vector<ProbeTarget> buildTargets(const policy::Topology& topology);
// The target of one pair (indices into the topology).
ProbeTarget targetOf(const policy::Topology& topology, uint32_t registry, uint32_t replica);

}  // namespace switchyard::health
