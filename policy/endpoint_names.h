// The names a registry is served under, built in one place for the answer
// compiler (dns/), the admin API and drills (control/):
//   global    REG.ZONE                  (routing decides the replica)
//   regional  REG.REGION.geo.ZONE       (regional_endpoints: enabled; never fails over)
//   data      REG.REGION.data.ZONE      (data_endpoints: enabled; never fails over)
// REQUIRES: the topology was validated by the loader (every label is a valid
// DNS label, so the names always build).
// Thread safety: pure functions.
#pragma once

#include <string>

#include "common/dns_name.h"
#include "policy/topology.h"

namespace switchyard::policy {

enum class EndpointKind { Global, Regional, Data };

inline DnsName endpointName(const Topology& t, const Registry& reg, EndpointKind kind, uint32_t region = 0) {
  if (kind == EndpointKind::Global) return t.zone.prepend(reg.name).value();
  const char* sub = kind == EndpointKind::Regional ? "geo" : "data";
  return t.zone.prepend(sub).value().prepend(t.regions[region].name).value().prepend(reg.name).value();
}

// The same, spelled without the trailing dot (the API's and the CLI's form).
inline std::string endpointText(const Topology& t, const Registry& reg, EndpointKind kind, uint32_t region = 0) {
  std::string s = endpointName(t, reg, kind, region).toString();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace switchyard::policy
