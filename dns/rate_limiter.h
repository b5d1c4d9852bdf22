// RateLimiter: Response Rate Limiting (RRL) for UDP answers, the scheme BIND
// and Knot use. An authoritative server answers whoever the source address
// says, and a UDP source can be forged; without a limit the server is a
// reflector that sends a victim as many answers as attackers send queries.
//
// A bucket counts the answers sent this second to one client prefix (the
// source address cut to ipv4_prefix / ipv6_prefix bits) for one key:
//   - an answer (NOERROR, with data or NODATA): the query name;
//   - NXDOMAIN, REFUSED, FORMERR, NOTIMP, BADVERS, SERVFAIL: one key per class
//     for the prefix, so random names or garbage share one budget.
// Past the budget an answer is "limited"; the caller sends every slip-th of
// those truncated (TC, no records: the real client retries over TCP, which
// cannot be spoofed) and drops the rest. Sources in `exempt` are never limited.
//
// Table: a fixed array of 64-bit words, one per bucket: key tag (32 bits),
// second (16 bits), count (16 bits), updated with one compare-and-swap; no
// lock and no allocation after construction. Two keys that land on one word
// evict each other (each restarts the other's count), which can only let
// answers through, never block a client wrongly; table_size keeps that rare.
// Thread safety: allow() from any number of threads at once; settings come
// from the caller (the published AnswerSet), so a reload changes them live.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/ip_address.h"
#include "policy/topology.h"

namespace switchyard::dns {

enum class RateClass : uint8_t { Answer, NxDomain, Error };
// Which budget a response (responder.h) draws on.
RateClass rateClassOf(uint16_t rcode, bool in_zone);

class RateLimiter {
 public:
  // REQUIRES: buckets is a power of two.
  explicit RateLimiter(uint32_t buckets);
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Counts one answer of class `cls` (for Answer: to the name with hash
  // `name_hash`) to `source` in second `now_s`, and says whether it is within
  // the budget. REQUIRES: settings.enabled().
  bool allow(const policy::RateLimit& settings, const IpAddress& source, RateClass cls, uint32_t name_hash,
             uint32_t now_s);
  uint32_t buckets() const { return mask_ + 1; }

  // Seconds of a coarse monotonic clock (a vDSO read, no system call).
  static uint32_t nowSeconds();

 private:
  uint64_t* table_;  // calloc'd: untouched pages cost no memory until used
  uint32_t mask_;
};

}  // namespace switchyard::dns
