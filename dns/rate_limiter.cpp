#include "dns/rate_limiter.h"

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <new>

#include "dns/wire.h"
#include "policy/sticky.h"

namespace switchyard::dns {

namespace {

// splitmix64's finaliser (shared with the sticky pick): every input bit moves
// every output bit, so prefixes that differ in one byte land far apart.
uint64_t mix(uint64_t x) { return policy::mix64(x); }

uint64_t loadBytes(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// `v` with only its `bits` highest bits kept, for any bits in [0, 64]
// (a shift by 64 is undefined, and both ends are common prefixes).
uint64_t keepHighBits(uint64_t v, int bits) {
  if (bits <= 0) return 0;
  if (bits >= 64) return v;
  return v & ~((uint64_t{1} << (64 - bits)) - 1);
}

// The source cut to its prefix, as two 64-bit halves.
void prefixOf(const IpAddress& a, int v4_bits, int v6_bits, uint64_t& hi, uint64_t& lo) {
  IpAddress src = a.unmapped();
  if (src.isV4()) {
    hi = keepHighBits(loadBytes(src.bytes.data(), 4) << 32, v4_bits) >> 32;
    lo = 4;  // family, so 10.0.0.0/24 and ::a00:0/56 never share a key
    return;
  }
  hi = keepHighBits(loadBytes(src.bytes.data(), 8), v6_bits);
  lo = keepHighBits(loadBytes(src.bytes.data() + 8, 8), v6_bits - 64);
  lo ^= 6ULL << 56;
}

constexpr uint64_t pack(uint32_t tag, uint32_t second, uint32_t count) {
  return (uint64_t{tag} << 32) | (uint64_t{second & 0xffff} << 16) | (count & 0xffff);
}

}  // namespace

RateClass rateClassOf(uint16_t rcode, bool in_zone) {
  if (rcode == rcode::NoError && in_zone) return RateClass::Answer;  // data or NODATA
  return rcode == rcode::NxDomain ? RateClass::NxDomain : RateClass::Error;
}

RateLimiter::RateLimiter(uint32_t buckets) : mask_(buckets - 1) {
  table_ = static_cast<uint64_t*>(std::calloc(buckets, sizeof(uint64_t)));
  if (!table_) throw std::bad_alloc();
}

RateLimiter::~RateLimiter() { std::free(table_); }

uint32_t RateLimiter::nowSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint32_t>(ts.tv_sec);
}

bool RateLimiter::allow(const policy::RateLimit& s, const IpAddress& source, RateClass cls, uint32_t name_hash,
                        uint32_t now_s) {
  uint64_t hi = 0, lo = 0;
  prefixOf(source, s.ipv4_prefix, s.ipv6_prefix, hi, lo);
  uint64_t key = uint64_t{static_cast<uint8_t>(cls)} << 32 | (cls == RateClass::Answer ? name_hash : 0);
  uint64_t h = mix(mix(hi) ^ lo ^ mix(key + 0x9e3779b97f4a7c15ULL));
  uint32_t tag = static_cast<uint32_t>(h >> 32);
  uint32_t limit = cls == RateClass::Answer ? s.responses_per_second : s.errors_per_second;
  uint32_t second = now_s & 0xffff;

  std::atomic_ref<uint64_t> bucket(table_[h & mask_]);
  uint64_t old = bucket.load(std::memory_order_relaxed);
  // A lost race means another thread counted in this bucket at this moment:
  // try again a few times, then let the answer through (never spin).
  for (int attempt = 0; attempt < 4; ++attempt) {
    uint64_t next;
    if (static_cast<uint32_t>(old >> 32) != tag || ((old >> 16) & 0xffff) != second) {
      next = pack(tag, second, 1);  // a new key or a new second: a fresh budget
    } else {
      uint32_t count = old & 0xffff;
      if (count >= limit) {
        // Exemptions are looked up only here, past the budget, so a long
        // list costs nothing on the common path.
        IpAddress src = source.unmapped();
        for (const IpPrefix& p : s.exempt)
          if (p.contains(src)) return true;
        return false;
      }
      next = pack(tag, second, count + 1);
    }
    if (bucket.compare_exchange_weak(old, next, std::memory_order_relaxed)) return true;
  }
  return true;
}

}  // namespace switchyard::dns
