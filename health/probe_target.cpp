#include "health/probe_target.h"

namespace switchyard::health {

namespace {

std::string expand(std::string tmpl, const std::string& registry, const std::string& region,
                   const std::string& zone) {
  for (auto [var, value] : {std::pair<std::string, std::string>{"{registry}", registry},
                            {"{region}", region}, {"{zone}", zone}})
    for (size_t i; (i = tmpl.find(var)) != std::string::npos;) tmpl.replace(i, var.size(), value);
  return tmpl;
}

}  // namespace

std::string ProbeTarget::url() const {
  const char* scheme = spec.scheme == policy::ProbeScheme::Https ? "https" : "http";
  return std::string(scheme) + "://" + host + ":" + std::to_string(spec.port) +
         (spec.scheme == policy::ProbeScheme::Tcp ? "/" : spec.path);
}

ProbeTarget targetOf(const policy::Topology& t, uint32_t registry, uint32_t replica) {
  const auto& g = t.registries[registry];
  const auto& r = g.replicas[replica];
  std::string zone = t.zone.toString();
  zone.pop_back();  // no trailing dot in a Host header
  ProbeTarget p;
  p.registry = g.name;
  p.region = t.regions[r.region].name;
  p.spec = g.health;
  if (r.probe_address) p.connect_host = r.probe_address->toString();
  else if (!r.addresses.empty()) p.connect_host = r.addresses[0].toString();
  else {
    p.connect_host = r.target->toString();
    p.connect_host.pop_back();
  }
  p.host = expand(g.health.host_header, g.name, p.region, zone);
  return p;
}

std::vector<ProbeTarget> buildTargets(const policy::Topology& t) {
  size_t pairs = 0;
  for (const auto& g : t.registries)
    if (g.health.scheme != policy::ProbeScheme::None) pairs += g.replicas.size();
  std::vector<ProbeTarget> out;
  out.reserve(pairs);
  for (uint32_t g = 0; g < t.registries.size(); ++g) {
    if (t.registries[g].health.scheme == policy::ProbeScheme::None) continue;
    for (uint32_t r = 0; r < t.registries[g].replicas.size(); ++r) out.push_back(targetOf(t, g, r));
  }
  return out;
}

}  // namespace switchyard::health

namespace switchyard::health {

bool sameEndpoint(const ProbeTarget& a, const ProbeTarget& b) {
  return a.spec.scheme == b.spec.scheme && a.connect_host == b.connect_host && a.spec.port == b.spec.port &&
         a.host == b.host;
}

bool sameProbeEndpoint(const policy::Registry& ga, const policy::Replica& ra, const policy::Registry& gb,
                       const policy::Replica& rb) {
  auto dialled = [](const policy::Replica& r) -> std::string {
    if (r.probe_address) return r.probe_address->toString();
    if (!r.addresses.empty()) return r.addresses[0].toString();
    return r.target ? r.target->toString() : "";
  };
  return ga.health.scheme == gb.health.scheme && ga.health.port == gb.health.port &&
         ga.health.host_header == gb.health.host_header && dialled(ra) == dialled(rb);
}

}  // namespace switchyard::health
