#include "policy/topology.h"

namespace switchyard::policy {

namespace {

bool isRepository(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('/', start);
    if (end == std::string_view::npos) end = s.size();
    if (end == start) return false;
    for (size_t i = start; i < end; ++i) {
      char c = s[i];
      bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      bool sep = c == '.' || c == '_' || c == '-';
      if (!alnum && !sep) return false;
      if (sep && (i == start || i + 1 == end)) return false;
    }
    start = end + 1;
  }
  return true;
}

bool isTag(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!word && (i == 0 || (c != '.' && c != '-'))) return false;
  }
  return true;
}

}  // namespace

bool Canary::isRepository(std::string_view text) { return policy::isRepository(text); }

Result<Canary> Canary::parse(std::string_view text) {
  if (text.find('@') != std::string_view::npos)
    return makeError("'" + std::string(text) + "' is a digest reference; expected repository:tag");
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return makeError("expected repository:tag (e.g. canary/heartbeat:latest), got '" + std::string(text) + "'");
  Canary c{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
  if (!isRepository(c.repository))
    return makeError("'" + c.repository + "' is not a repository path (lowercase a-z 0-9 . _ - and '/')");
  if (!isTag(c.tag)) return makeError("'" + c.tag + "' is not a tag (A-Z a-z 0-9 _ . -, at most 128)");
  return c;
}

std::optional<uint32_t> Topology::regionIndex(std::string_view name) const {
  for (uint32_t i = 0; i < regions.size(); ++i)
    if (regions[i].name == name) return i;
  return std::nullopt;
}

std::optional<uint32_t> Topology::registryIndex(std::string_view name) const {
  if (registry_by_name.size() == registries.size()) {
    return registry_by_name.find(name);
  }
  for (uint32_t i = 0; i < registries.size(); ++i)
    if (registries[i].name == name) return i;
  return std::nullopt;
}

void Topology::addRegistry(Registry registry) {
  registry_by_name.set(registry.name, static_cast<uint32_t>(registries.size()));
  registries.push_back(std::move(registry));
}

void Topology::removeRegistry(uint32_t index, SlotEdit& edit) {
  const auto last = static_cast<uint32_t>(registries.size() - 1);
  registry_by_name.erase(registries[index].name);
  if (index != last) {
    registry_by_name.set(registries[last].name, index);
    registries.set(index, registries.pointer(last));
  }
  registries.pop_back();
  edit.removed.push_back(index);
  edit.kept = static_cast<uint32_t>(registries.size());
}

std::vector<uint32_t> previousIndices(const Topology& previous, const Topology& next) {
  std::vector<uint32_t> out(next.registries.size(), kNoIndex);
  size_t j = 0;  // where `previous` is expected to go on
  for (size_t g = 0; g < next.registries.size(); ++g) {
    const std::string& name = next.registries[g].name;
    if (j < previous.registries.size() && previous.registries[j].name == name) {
      out[g] = static_cast<uint32_t>(j++);
      continue;
    }
    if (auto found = previous.registryIndex(name)) {
      out[g] = *found;
      j = *found + 1;
    }
  }
  return out;
}

std::optional<std::unordered_set<std::string>> registriesChanged(const Topology& previous, const Topology& next) {
  if (static_cast<const TopologySettings&>(previous) != static_cast<const TopologySettings&>(next)) return std::nullopt;
  std::unordered_set<std::string> changed;
  const std::vector<uint32_t> was_at = previousIndices(previous, next);
  std::vector<bool> kept(previous.registries.size(), false);
  for (size_t g = 0; g < next.registries.size(); ++g) {
    if (was_at[g] != kNoIndex) kept[was_at[g]] = true;
    if (was_at[g] == kNoIndex || previous.registries[was_at[g]] != next.registries[g])
      changed.insert(next.registries[g].name);
  }
  for (size_t g = 0; g < previous.registries.size(); ++g)
    if (!kept[g]) changed.insert(previous.registries[g].name);
  return changed;
}

std::optional<uint32_t> Topology::replicaIndex(uint32_t registry, std::string_view region) const {
  const auto& replicas = registries.at(registry).replicas;
  for (uint32_t i = 0; i < replicas.size(); ++i)
    if (regions[replicas[i].region].name == region) return i;
  return std::nullopt;
}

const char* resolverTypeName(CachingResolver::Type type) {
  switch (type) {
    case CachingResolver::Type::PdnsRecursor: return "pdns-recursor";
    case CachingResolver::Type::Unbound: return "unbound";
    case CachingResolver::Type::KnotResolver: return "knot-resolver";
  }
  return "?";
}

}  // namespace switchyard::policy
