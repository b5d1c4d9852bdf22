#include "policy/sticky.h"

namespace switchyard::policy {

uint64_t replicaSeed(std::string_view registry, std::string_view region) {
  // FNV-1a over "registry\0region", then mixed: FNV alone is weak in its low bits.
  uint64_t h = 0xcbf29ce484222325ULL;
  auto add = [&h](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  };
  add(registry);
  h = (h ^ 0) * 0x100000001b3ULL;
  add(region);
  return mix64(h);
}

IpPrefix stickySubnet(const IpAddress& addr, const StickyPrefix& prefix) {
  IpPrefix p{addr.unmapped(), prefix.of(addr.unmapped().isV4())};
  for (int i = p.length; i < p.address.bitLength(); ++i)
    p.address.bytes[i / 8] &= static_cast<uint8_t>(~(0x80u >> (i % 8)));
  return p;
}

}  // namespace switchyard::policy
