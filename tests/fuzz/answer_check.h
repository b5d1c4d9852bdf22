// What every answer the responder writes must satisfy, whatever the query:
// within the buffer and the transport's size limit, the query's ID and
// opcode echoed, QR set, and a packet an independent parser (ldns) accepts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dns/responder.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/support/dns_client.h"

namespace switchyard::fuzz {

inline void checkAnswer(const uint8_t* query, size_t query_len, const uint8_t* out, size_t n, size_t cap,
                        dns::Transport transport) {
  FUZZ_EXPECT(n <= cap);
  if (n == 0) return;  // dropped: allowed for anything that cannot be answered
  FUZZ_EXPECT(n >= 12);
  if (transport == dns::Transport::Udp) FUZZ_EXPECT(n <= 1232);
  FUZZ_EXPECT(query_len >= 2 && out[0] == query[0] && out[1] == query[1]);
  FUZZ_EXPECT(out[2] & 0x80);  // QR
  FUZZ_EXPECT((out[2] & 0x78) == (query[2] & 0x78));  // the query's opcode (RFC 1035 §4.1.1)
  ldns_pkt* p = nullptr;
  FUZZ_EXPECT(ldns_wire2pkt(&p, out, n) == LDNS_STATUS_OK);
  ldns_pkt_free(p);
}

}  // namespace switchyard::fuzz
