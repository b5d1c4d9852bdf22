// A small validating parser for DNS queries: header, one question, and the
// additional section's OPT record with EDNS Client Subnet.
//
// This is the hot path: it never allocates and never calls ldns. Everything it
// returns points into the packet or into the fixed-size Query.
// Thread safety: pure function; each worker owns its Query.
// Rules (anything else is FormErr, or Drop when no reply is possible):
//   1. Fewer than 12 bytes, or QR set (a response): Drop.
//   2. QDCOUNT != 1, or answer records, or authority records in anything but
//      an IXFR (which carries the client's SOA there, RFC 1995 §3): FormErr.
//   3. The question name: plain labels only (no compression pointers, no
//      extended label types), labels <= 63 bytes, name <= 255 bytes.
//   4. At most one OPT, owner must be root; option lengths must fit exactly;
//      ECS (RFC 7871 §6): family 1 or 2, source prefix <= 32/128, exactly
//      ceil(source/8) address bytes, no bits set past the source prefix, once.
//   5. No bytes after the last record.
//   6. Opcode other than QUERY: NotImp (whatever else is wrong).
//   7. EDNS version > 0 (after all of the above): BadVers.
// Whatever the status, Query keeps what could be read for the reply to echo:
// id and flags always, the question when it parsed (else question is null),
// edns when an OPT record was found, even a malformed one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace switchyard::dns {

enum class ParseStatus { Ok, Drop, FormErr, NotImp, BadVers };

struct EcsOption {
  bool present = false;
  uint8_t family = 0;  // 1 = IPv4, 2 = IPv6
  uint8_t source = 0;
  uint8_t scope = 0;
  uint8_t address_len = 0;  // bytes actually sent: ceil(source / 8)
  uint8_t address[16] = {};  // zero-padded to 4/16 bytes
};

struct Query {
  uint16_t id = 0;
  uint8_t flags_hi = 0;  // header byte 2: QR, opcode, AA, TC, RD
  uint8_t flags_lo = 0;  // header byte 3: RA, Z, AD, CD, RCODE
  // The question exactly as sent (name, type, class): echoed verbatim.
  const uint8_t* question = nullptr;
  uint16_t question_len = 0;
  uint16_t qname_len = 0;      // wire length including the root label
  uint8_t qname_lower[256] = {};
  uint32_t qname_hash = 0;     // hashName(qname_lower, qname_len)
  uint32_t qlabel_hash = 0;    // hashName over the first label (length byte included): the registry index's key
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  bool edns = false;
  uint8_t edns_version = 0;
  bool dnssec_ok = false;
  uint16_t udp_size = 512;  // what the client accepts; 512 without EDNS
  EcsOption ecs;
};

ParseStatus parseQuery(const uint8_t* packet, size_t length, Query& q);

}  // namespace switchyard::dns
