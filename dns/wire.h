// DNS wire constants and big-endian helpers shared by the parser, the answer
// compiler and the responder.
#pragma once

#include <cstddef>
#include <cstdint>

namespace switchyard::dns {

namespace rrtype {
constexpr uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, AAAA = 28, OPT = 41, IXFR = 251,
                   AXFR = 252, ANY = 255;
}
namespace rcode {
constexpr uint8_t NoError = 0, FormErr = 1, ServFail = 2, NxDomain = 3, NotImp = 4, Refused = 5;
constexpr uint16_t BadVers = 16;  // extended: high 8 bits go in the OPT TTL
}
constexpr uint16_t kClassIn = 1;
constexpr uint16_t kOptionEcs = 8;
constexpr uint16_t kOurUdpPayload = 1232;  // DNS flag day 2020: no fragmentation
constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxUdpResponse = 65535;

inline uint16_t readU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t readU32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline void writeU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void writeU32(uint8_t* p, uint32_t v) {
  writeU16(p, static_cast<uint16_t>(v >> 16));
  writeU16(p + 2, static_cast<uint16_t>(v));
}

// FNV-1a over a lowercase wire name; the parser computes it while lowercasing.
constexpr uint32_t kFnvOffset = 2166136261u;
constexpr uint32_t kFnvPrime = 16777619u;
inline uint32_t hashName(const uint8_t* wire, size_t len) {
  uint32_t h = kFnvOffset;
  for (size_t i = 0; i < len; ++i) h = (h ^ wire[i]) * kFnvPrime;
  return h;
}

}  // namespace switchyard::dns
