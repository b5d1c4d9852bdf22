#include "policy/ranking.h"

#include <algorithm>

#include "policy/geo.h"

namespace switchyard::policy {

Ranking::Ranking(const Topology& topology) : regions_(topology.regions.size()) {
  for (const auto& registry : topology.registries) {
    registry_offset_.push_back(order_.size());
    replica_count_.push_back(static_cast<uint32_t>(registry.replicas.size()));
    for (uint32_t c = 0; c < regions_; ++c) {
      const Region& client = topology.regions[c];
      size_t begin = order_.size();
      for (uint32_t r = 0; r < registry.replicas.size(); ++r) order_.push_back(r);
      std::vector<double> km;
      for (const auto& replica : registry.replicas)
        km.push_back(greatCircleKm(client, topology.regions[replica.region]));
      std::sort(order_.begin() + static_cast<std::ptrdiff_t>(begin), order_.end(),
                [&](uint32_t x, uint32_t y) {
                  if (km[x] != km[y]) return km[x] < km[y];
                  return topology.regions[registry.replicas[x].region].name <
                         topology.regions[registry.replicas[y].region].name;
                });
    }
  }
}

std::span<const uint32_t> Ranking::order(uint32_t registry, uint32_t client_region) const {
  size_t n = replica_count_[registry];
  return {order_.data() + registry_offset_[registry] + client_region * n, n};
}

}  // namespace switchyard::policy
