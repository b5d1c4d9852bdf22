#include "policy/client_map.h"

namespace switchyard::policy {

ClientMap::ClientMap(const std::vector<ClientNetwork>& networks, uint32_t default_region) {
  build(v4_, networks, true, default_region);
  build(v6_, networks, false, default_region);
}

void ClientMap::build(std::vector<Node>& trie, const std::vector<ClientNetwork>& networks, bool v4,
                      uint32_t default_region) {
  trie.assign(1, Node{});
  for (const auto& net : networks) {
    if (net.prefix.address.isV4() != v4) continue;
    int32_t n = 0;
    for (int i = 0; i < net.prefix.length; ++i) {
      int b = net.prefix.address.bit(i);
      if (trie[n].child[b] < 0) {
        trie[n].child[b] = static_cast<int32_t>(trie.size());
        trie.emplace_back();
      }
      n = trie[n].child[b];
    }
    trie[n].has_network = true;
    trie[n].region = net.region;
  }
  // Children are always appended after their parent, so one forward pass
  // pushes inherited regions down and one backward pass pulls uniformity up.
  if (!trie[0].has_network) trie[0].region = default_region;
  for (auto& node : trie)
    for (int32_t c : node.child)
      if (c >= 0 && !trie[c].has_network) trie[c].region = node.region;
  for (size_t i = trie.size(); i-- > 0;) {
    Node& node = trie[i];
    int32_t c0 = node.child[0], c1 = node.child[1];
    if (c0 >= 0 && c1 >= 0 && trie[c0].uniform && trie[c1].uniform &&
        trie[c0].region == trie[c1].region) {
      // Both halves are one region, so the whole prefix is (whatever this
      // node would inherit never shows: no address reaches it uncovered).
      node.uniform = true;
      node.region = trie[c0].region;
      continue;
    }
    node.uniform = true;
    for (int32_t c : node.child)
      if (c >= 0 && (!trie[c].uniform || trie[c].region != node.region)) node.uniform = false;
  }
}

ClientRegion ClientMap::walk(const std::vector<Node>& trie, const uint8_t* addr) {
  int32_t n = 0;
  for (int depth = 0;; ++depth) {
    const Node& node = trie[n];
    if (node.uniform) return {node.region, static_cast<uint8_t>(depth)};
    int b = (addr[depth / 8] >> (7 - depth % 8)) & 1;
    // A missing child means no network lies below: the whole half-prefix
    // inherits this node's region.
    if (node.child[b] < 0) return {node.region, static_cast<uint8_t>(depth + 1)};
    n = node.child[b];
  }
}

ClientRegion ClientMap::lookup(bool v4, const uint8_t* addr) const {
  return walk(v4 ? v4_ : v6_, addr);
}

}  // namespace switchyard::policy
