// Sticky sharing: which ONE replica of a share set answers a client subnet.
//
// When several replicas share a client region's traffic (failover-spread,
// fail-open), an answer holding all of them makes a push fail: Go clients
// (docker, containerd, skopeo) resolve the name again for every connection and
// resolvers rotate the RRset, so one push's blob upload starts on one replica
// and continues on another ("DNS bouncing"). So every client subnet gets one
// replica, chosen by rendezvous (highest random weight) hashing of
// (registry, subnet, replica):
//   - stable: the same inputs always pick the same replica;
//   - minimal movement: when a replica leaves the set only the subnets it had
//     move (every other replica's score for a subnet is unchanged), and when
//     it returns exactly those move back;
//   - even: scores are independent uniform 64-bit values, so each of n
//     replicas wins ~1/n of the subnets.
// A replica is named by a seed from its registry's and its region's NAMES, not
// their indices, so a reload that reorders the config moves no subnet.
// A subnet is the client address cut to the sticky prefix; the key ignores the
// query type, so A and AAAA for one subnet pick the same replica.
//
// Used on the DNS hot path (dns/responder.cpp) and by the control plane to
// explain a client's answer (the same functions, so the two cannot disagree).
// Thread safety: pure functions; no allocation, no locks.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/ip_address.h"

namespace switchyard::policy {

// routing.sticky_prefix: the prefix that keeps one replica.
struct StickyPrefix {
  uint8_t ipv4 = 24;
  uint8_t ipv6 = 56;
  uint8_t of(bool v4) const { return v4 ? ipv4 : ipv6; }
  friend bool operator==(const StickyPrefix&, const StickyPrefix&) = default;
};

// routing.spread: `sticky` answers one replica per client subnet; `all`
// answers every replica of the share set (several records).
enum class Spread : uint8_t { Sticky, All };

// SplitMix64's finalizer: a bijection on 64 bits with full avalanche.
inline uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// The seed of one (registry, replica region) pair.
uint64_t replicaSeed(std::string_view registry, std::string_view region);

// The key of the subnet holding `addr` (network order, 4 or 16 bytes), cut to
// `prefix` bits. Addresses under one /prefix share one key; the family is part
// of the key.
inline uint64_t subnetKey(bool v4, const uint8_t* addr, int prefix) {
  auto masked = [](uint64_t word, int bits) {  // keep the top `bits` of a 64-bit word
    return bits <= 0 ? 0 : bits >= 64 ? word : word & ~(~0ULL >> bits);
  };
  auto load = [](const uint8_t* p, int n) {
    uint64_t w = 0;
    for (int i = 0; i < n; ++i) w = (w << 8) | p[i];
    return w << (8 * (8 - n));
  };
  if (v4) return mix64(masked(load(addr, 4), prefix) ^ 0x4);
  uint64_t hi = masked(load(addr, 8), prefix);
  uint64_t lo = masked(load(addr + 8, 8), prefix - 64);
  return mix64(mix64(hi ^ 0x6) ^ lo);
}

inline uint64_t stickyScore(uint64_t seed, uint64_t subnet) { return mix64(seed ^ subnet); }

// The position in `seeds` of the replica that `subnet` gets: the highest
// score, ties (practically never) to the lower position. REQUIRES: non-empty.
inline size_t stickyPick(std::span<const uint64_t> seeds, uint64_t subnet) {
  size_t best = 0;
  uint64_t best_score = stickyScore(seeds[0], subnet);
  for (size_t i = 1; i < seeds.size(); ++i) {
    uint64_t s = stickyScore(seeds[i], subnet);
    if (s > best_score) best_score = s, best = i;
  }
  return best;
}

// The client subnet of `addr` as a prefix (for explanations and reports).
IpPrefix stickySubnet(const IpAddress& addr, const StickyPrefix& prefix);

}  // namespace switchyard::policy
