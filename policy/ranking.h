// Ranking: for every (registry, client region), the registry's replicas from
// nearest to farthest by great-circle distance, ties broken by region name.
//
// Depends only on the topology, so it is computed once per config load and
// shared by every routing computation until the next reload.
// Thread safety: immutable after construction.
// Invariants:
//   1. order(g, c) is a permutation of 0..registries[g].replicas.size()-1.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "policy/topology.h"

namespace switchyard::policy {

class Ranking {
 public:
  explicit Ranking(const Topology& topology);

  std::span<const uint32_t> order(uint32_t registry, uint32_t client_region) const;

 private:
  size_t regions_ = 0;
  std::vector<size_t> registry_offset_;   // into order_, per registry
  std::vector<uint32_t> replica_count_;   // per registry
  std::vector<uint32_t> order_;           // [registry][client region][rank]
};

}  // namespace switchyard::policy
