// ClientMap: which region a client address is in (longest prefix match over
// clients.networks, else the default region), and how far that answer reaches.
//
// The reach is the ECS scope prefix (RFC 7871 §7.2.1): the shortest prefix of
// the client's address such that EVERY address under it maps to the same
// region. A resolver may cache our answer for that whole prefix, so a scope
// any shorter would hand some clients another region's answer; we never do.
//
// Built once per topology as two binary tries (IPv4, IPv6) flattened into
// vectors; lookup walks at most 32/128 nodes, allocates nothing, locks nothing.
// Thread safety: immutable after construction; any thread may call lookup().
// Invariants:
//   1. nodes_[0] is the root of each trie; a node's `region` is the longest
//      matching network's region for every address reaching it (or the default).
//   2. `uniform` is true iff every address under the node maps to `region`.
#pragma once

#include <cstdint>
#include <vector>

#include "common/ip_address.h"
#include "policy/topology.h"

namespace switchyard::policy {

struct ClientRegion {
  uint32_t region = 0;
  uint8_t scope = 0;  // prefix length over which `region` holds
};

class ClientMap {
 public:
  ClientMap(const std::vector<ClientNetwork>& networks, uint32_t default_region);

  // `addr` holds the address in network order (4 or 16 bytes used).
  ClientRegion lookup(bool v4, const uint8_t* addr) const;
  ClientRegion lookup(const IpAddress& a) const { return lookup(a.isV4(), a.bytes.data()); }

 private:
  struct Node {
    int32_t child[2] = {-1, -1};
    uint32_t region = 0;
    bool has_network = false;
    bool uniform = false;
  };
  static void build(std::vector<Node>& trie, const std::vector<ClientNetwork>& networks, bool v4,
                    uint32_t default_region);
  static ClientRegion walk(const std::vector<Node>& trie, const uint8_t* addr);

  std::vector<Node> v4_;
  std::vector<Node> v6_;
};

}  // namespace switchyard::policy
