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
  km_.resize(regions_ * regions_);
  for (uint32_t a = 0; a < regions_; ++a)
    for (uint32_t b = 0; b < regions_; ++b)
      km_[a * regions_ + b] = greatCircleKm(topology.regions[a], topology.regions[b]);
  size_t total = 0;
  for (const auto& registry : topology.registries) total += registry.replicas.size() * regions_;
  // Room for edits: the first registry added at 100,000 must not copy 10 MB.
  order_.reserve(total + total / 4 + 1024);
  registry_offset_.reserve(topology.registries.size());
  replica_count_.reserve(topology.registries.size());
  // Registries whose replicas are in the same regions, in the same order,
  // rank alike (most do: a few region sets serve everybody): sorted once,
  // copied after that.
  std::unordered_map<std::vector<uint32_t>, size_t, ShapeHash> shapes;  // -> offset of its first block
  std::vector<uint32_t> shape;
  for (uint32_t g = 0; g < topology.registries.size(); ++g) {
    const auto& registry = topology.registries[g];
    const size_t n = registry.replicas.size();
    shape.clear();
    for (const auto& replica : registry.replicas) shape.push_back(replica.region);
    if (auto seen = shapes.find(shape); seen != shapes.end()) {
      registry_offset_.push_back(order_.size());
      replica_count_.push_back(static_cast<uint32_t>(n));
      size_t from = seen->second;
      for (size_t i = 0; i < n * regions_; ++i) order_.push_back(order_[from + i]);
      continue;
    }
    shapes.emplace(shape, order_.size());
    rank(topology, g, shape);
  }
  live_ = order_.size();
}

void Ranking::rank(const Topology& topology, uint32_t g, std::vector<uint32_t>& shape) {
  const auto& registry = topology.registries[g];
  const size_t n = registry.replicas.size();
  shape.clear();
  for (const auto& replica : registry.replicas) shape.push_back(replica.region);
  registry_offset_.push_back(order_.size());
  replica_count_.push_back(static_cast<uint32_t>(n));
  for (uint32_t c = 0; c < regions_; ++c) {
    size_t begin = order_.size();
    for (uint32_t r = 0; r < n; ++r) order_.push_back(r);
    const double* from_client = &km_[c * regions_];
    std::sort(order_.begin() + static_cast<std::ptrdiff_t>(begin), order_.end(), [&](uint32_t x, uint32_t y) {
      double kx = from_client[shape[x]], ky = from_client[shape[y]];
      if (kx != ky) return kx < ky;
      return topology.regions[shape[x]].name < topology.regions[shape[y]].name;
    });
  }
}

void Ranking::edit(const Topology& next, const SlotEdit& slots) {
  // The slot moves of SlotEdit, the removed block's elements uncounted.
  for (uint32_t slot : slots.removed) {
    live_ -= replica_count_[slot] * regions_;
    registry_offset_[slot] = registry_offset_.back();
    replica_count_[slot] = replica_count_.back();
    registry_offset_.pop_back();
    replica_count_.pop_back();
  }
  std::vector<uint32_t> shape;
  for (uint32_t g = slots.kept; g < next.registries.size(); ++g) {
    rank(next, g, shape);
    live_ += replica_count_[g] * regions_;
  }
  if (order_.size() <= 2 * live_ + 4096) return;
  // Compact: copy the live blocks into a new array, in slot order.
  std::vector<uint32_t> compact;
  compact.reserve(live_);
  for (size_t g = 0; g < registry_offset_.size(); ++g) {
    size_t n = replica_count_[g] * regions_;
    size_t at = compact.size();
    compact.insert(compact.end(), order_.begin() + static_cast<std::ptrdiff_t>(registry_offset_[g]),
                   order_.begin() + static_cast<std::ptrdiff_t>(registry_offset_[g] + n));
    registry_offset_[g] = at;
  }
  order_ = std::move(compact);
}

std::span<const uint32_t> Ranking::order(uint32_t registry, uint32_t client_region) const {
  size_t n = replica_count_[registry];
  return {order_.data() + registry_offset_[registry] + client_region * n, n};
}

}  // namespace switchyard::policy
