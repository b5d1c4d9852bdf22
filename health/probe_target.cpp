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
  std::vector<ProbeTarget> out;
  for (uint32_t g = 0; g < t.registries.size(); ++g)
    for (uint32_t r = 0; r < t.registries[g].replicas.size(); ++r) out.push_back(targetOf(t, g, r));
  return out;
}

}  // namespace switchyard::health
