// The topology most tests use: the reference regions and networks, a registry
// with regional and data endpoints, and one with a CNAME replica. "@DNS@" is
// the listen list (DaemonProcess fills it in). Nothing is probed (scheme
// none): tests of health build their own topology with real servers.
#pragma once

#include <string>

#include "config/config_loader.h"

namespace switchyard::test {

inline std::string testConfig(const std::string& extra_routing = "") {
  return R"(zone: cr.example.test
nameservers:
  - name: ns1.cr.example.test
    addresses: [127.0.0.1, "::1"]
  - name: ns2.dns.example.net
ttl: { global: 30, regional: 300, data: 300, negative: 30, apex: 3600 }
listen:
  dns: @DNS@
regions:
  eastus:        { location: [37.37, -79.82] }
  westus:        { location: [37.78, -122.42] }
  westeurope:    { location: [52.37, 4.90] }
  southeastasia: { location: [1.35, 103.82] }
clients:
  trust_ecs: true
  default_region: eastus
  networks:
    - { cidr: 198.51.100.0/26,   region: eastus }
    - { cidr: 198.51.100.64/26,  region: westus }
    - { cidr: 198.51.100.128/26, region: westeurope }
    - { cidr: 2001:db8:4::/48,   region: southeastasia }
    - { cidr: 127.0.0.0/8,       region: westus }
    - { cidr: "::1/128",         region: westeurope }
routing:
  failover_spread: 2
)" + extra_routing + R"(
health:
  scheme: none   # tests about routing and DNS; health tests probe real servers
registries:
  - name: myregistry
    home: eastus
    regional_endpoints: enabled
    data_endpoints: enabled
    replicas:
      - region: eastus
        addresses: [127.0.0.11]
        data_addresses: [127.0.0.111]
      - region: westus
        addresses: [127.0.0.12]
        data_addresses: [127.0.0.112]
      - region: westeurope
        addresses: [127.0.0.13, "2001:db8::13"]
        data_addresses: [127.0.0.113]
  - name: teamb
    home: westeurope
    regional_endpoints: enabled
    replicas:
      - region: westeurope
        addresses: [127.0.0.21]
      - region: southeastasia
        target: teamb-sea.registry.example.net.
)";
}

// testConfig() plus the admin listener ("@ADMIN@": DaemonProcess picks the
// address and writes admin.token beside the config).
inline std::string adminConfig() {
  std::string text = testConfig();
  const std::string dns = "  dns: @DNS@";
  text.replace(text.find(dns), dns.size(), dns + "\n  admin: \"@ADMIN@\"");
  return text + "admin: { token_file: admin.token }\n";
}

// testConfig() loaded in-process (DNS on 127.0.0.1:53, never bound), with the
// first `from` replaced by `to`: the unit tests' topology.
inline config::TopologyPtr loadTestTopology(const std::string& from = "", const std::string& to = "") {
  std::string text = testConfig();
  text.replace(text.find("@DNS@"), 5, "[\"127.0.0.1:53\"]");
  if (!from.empty()) text.replace(text.find(from), from.size(), to);
  return config::loadTopologyText(text, "t.yaml").value();
}

}  // namespace switchyard::test
