// Ranking: for every (registry, client region), the registry's replicas from
// nearest to farthest by great-circle distance, ties broken by region name.
//
// Depends only on the topology, so it is computed once per config load and
// shared by every routing computation until the next reload; a catalog
// edit changes it in place (edit()), O(edited registries).
// Thread safety: one owner thread; const methods while nobody edits.
// Invariants:
//   1. order(g, c) is a permutation of 0..registries[g].replicas.size()-1.
//   2. Blocks of order_ that no registry points to (left by edits) are at
//      most as many elements as the live ones: edit() compacts past that.
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

  // `next` is this ranking's topology after `slots` (a catalog edit): the
  // moved registries keep their blocks, the appended ones are ranked.
  void edit(const Topology& next, const SlotEdit& slots);

 private:
  // Appends registry g's block of `topology`; `shape` is scratch.
  void rank(const Topology& topology, uint32_t g, std::vector<uint32_t>& shape);
  size_t regions_ = 0;
  std::vector<double> km_;                // between regions, [a * regions_ + b]
  size_t live_ = 0;                       // elements of order_ some registry points to
  std::vector<size_t> registry_offset_;   // into order_, per registry
  std::vector<uint32_t> replica_count_;   // per registry
  std::vector<uint32_t> order_;           // [registry][client region][rank]
};

}  // namespace switchyard::policy
