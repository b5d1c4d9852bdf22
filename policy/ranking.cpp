#include "policy/ranking.h"

#include <algorithm>
#include <unordered_map>

#include "policy/geo.h"

namespace switchyard::policy {

namespace {

struct ShapeHash {
  size_t operator()(const std::vector<uint32_t>& v) const {
    size_t h = 1469598103934665603ull;
    for (uint32_t x : v) h = (h ^ x) * 1099511628211ull;
    return h;
  }
};

}  // namespace

Ranking::Ranking(const Topology& topology) : regions_(topology.regions.size()) {
  // Distances between regions, once: the trigonometry per (registry, client
  // region, replica) was most of a catalog change's cost at 10,000 registries.
  std::vector<double> km(regions_ * regions_);
  for (uint32_t a = 0; a < regions_; ++a)
    for (uint32_t b = 0; b < regions_; ++b)
      km[a * regions_ + b] = greatCircleKm(topology.regions[a], topology.regions[b]);
  size_t total = 0;
  for (const auto& registry : topology.registries) total += registry.replicas.size() * regions_;
  order_.reserve(total);
  registry_offset_.reserve(topology.registries.size());
  replica_count_.reserve(topology.registries.size());
  // Registries whose replicas are in the same regions, in the same order,
  // rank alike (most do: a few region sets serve everybody): sorted once,
  // copied after that.
  std::unordered_map<std::vector<uint32_t>, size_t, ShapeHash> shapes;  // -> offset of its first block
  std::vector<uint32_t> shape;
  for (const auto& registry : topology.registries) {
    const size_t n = registry.replicas.size();
    registry_offset_.push_back(order_.size());
    replica_count_.push_back(static_cast<uint32_t>(n));
    shape.clear();
    for (const auto& replica : registry.replicas) shape.push_back(replica.region);
    if (auto seen = shapes.find(shape); seen != shapes.end()) {
      size_t from = seen->second;
      for (size_t i = 0; i < n * regions_; ++i) order_.push_back(order_[from + i]);
      continue;
    }
    shapes.emplace(shape, order_.size());
    for (uint32_t c = 0; c < regions_; ++c) {
      size_t begin = order_.size();
      for (uint32_t r = 0; r < n; ++r) order_.push_back(r);
      const double* from_client = &km[c * regions_];
      std::sort(order_.begin() + static_cast<std::ptrdiff_t>(begin), order_.end(), [&](uint32_t x, uint32_t y) {
        double kx = from_client[shape[x]], ky = from_client[shape[y]];
        if (kx != ky) return kx < ky;
        return topology.regions[shape[x]].name < topology.regions[shape[y]].name;
      });
    }
  }
}

std::span<const uint32_t> Ranking::order(uint32_t registry, uint32_t client_region) const {
  size_t n = replica_count_[registry];
  return {order_.data() + registry_offset_[registry] + client_region * n, n};
}

}  // namespace switchyard::policy
