// Hand-built DNS wire pieces for tests that need packets no real client
// sends (malformed queries, odd EDNS): an OPT record, an ECS option, and
// splitting a DNS-over-TCP byte stream into messages.
#pragma once

#include <cstdint>
#include <vector>

namespace switchyard::test {

using Bytes = std::vector<uint8_t>;

// An OPT record (owner `owner`, UDP size 1232) with the given RDATA.
inline Bytes opt(const Bytes& rdata, uint8_t version = 0, uint8_t owner = 0) {
  Bytes b{owner, 0, 41, 0x04, 0xd0, 0, version, 0, 0, static_cast<uint8_t>(rdata.size() >> 8),
          static_cast<uint8_t>(rdata.size())};
  b.insert(b.end(), rdata.begin(), rdata.end());
  return b;
}

// An EDNS Client Subnet option (code 8) carrying exactly `addr`.
inline Bytes ecs(uint16_t family, uint8_t source, const Bytes& addr, uint8_t scope = 0) {
  Bytes d{static_cast<uint8_t>(family >> 8), static_cast<uint8_t>(family), source, scope};
  d.insert(d.end(), addr.begin(), addr.end());
  Bytes o{0, 8, static_cast<uint8_t>(d.size() >> 8), static_cast<uint8_t>(d.size())};
  o.insert(o.end(), d.begin(), d.end());
  return o;
}

// Moves every complete length-prefixed message at the front of `stream`
// into `out`; a partial one stays for the next read.
inline void takeTcpMessages(Bytes& stream, std::vector<Bytes>& out) {
  while (stream.size() >= 2 && stream.size() >= 2u + (stream[0] << 8 | stream[1])) {
    size_t len = stream[0] << 8 | stream[1];
    out.emplace_back(stream.begin() + 2, stream.begin() + 2 + static_cast<long>(len));
    stream.erase(stream.begin(), stream.begin() + 2 + static_cast<long>(len));
  }
}

}  // namespace switchyard::test
