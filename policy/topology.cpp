#include "policy/topology.h"

namespace switchyard::policy {

std::optional<uint32_t> Topology::regionIndex(std::string_view name) const {
  for (uint32_t i = 0; i < regions.size(); ++i)
    if (regions[i].name == name) return i;
  return std::nullopt;
}

std::optional<uint32_t> Topology::registryIndex(std::string_view name) const {
  if (registry_by_name.size() == registries.size()) {
    auto it = registry_by_name.find(std::string(name));
    if (it == registry_by_name.end()) return std::nullopt;
    return it->second;
  }
  for (uint32_t i = 0; i < registries.size(); ++i)
    if (registries[i].name == name) return i;
  return std::nullopt;
}

void Topology::addRegistry(Registry registry) {
  registry_by_name.emplace(registry.name, static_cast<uint32_t>(registries.size()));
  registries.push_back(std::move(registry));
}

std::optional<uint32_t> Topology::replicaIndex(uint32_t registry, std::string_view region) const {
  const auto& replicas = registries.at(registry).replicas;
  for (uint32_t i = 0; i < replicas.size(); ++i)
    if (regions[replicas[i].region].name == region) return i;
  return std::nullopt;
}

}  // namespace switchyard::policy
