#include "dns/query_parser.h"

#include <cstring>

#include "dns/wire.h"

namespace switchyard::dns {

namespace {

// Skips a possibly compressed owner name of an additional record.
bool skipName(const uint8_t* p, size_t len, size_t& pos) {
  size_t total = 0;
  while (pos < len) {
    uint8_t l = p[pos];
    if (l == 0) { ++pos; return true; }
    if ((l & 0xC0) == 0xC0) { pos += 2; return pos <= len; }
    if (l & 0xC0) return false;
    total += l + 1;
    if (total > 255) return false;
    pos += 1 + l;
  }
  return false;
}

ParseStatus parseEcs(const uint8_t* d, uint16_t len, EcsOption& ecs) {
  if (ecs.present || len < 4) return ParseStatus::FormErr;
  uint16_t family = readU16(d);
  uint8_t source = d[2];
  uint8_t max_bits = family == 1 ? 32 : family == 2 ? 128 : 0;
  if (max_bits == 0 || source > max_bits) return ParseStatus::FormErr;
  size_t want = (source + 7u) / 8u;
  if (len - 4u != want) return ParseStatus::FormErr;
  const uint8_t* addr = d + 4;
  if (source % 8 != 0 && want > 0 && (addr[want - 1] & (0xFFu >> (source % 8))) != 0)
    return ParseStatus::FormErr;
  ecs.present = true;
  ecs.family = static_cast<uint8_t>(family);
  ecs.source = source;
  ecs.scope = d[3];
  ecs.address_len = static_cast<uint8_t>(want);
  // The Query is reused for every packet: bytes past the source prefix must be
  // zero, not the previous query's (the region walk and the sticky subnet key
  // read the full address). A fixed-size memset is two stores.
  std::memset(ecs.address, 0, sizeof ecs.address);
  for (size_t i = 0; i < want; ++i) ecs.address[i] = addr[i];
  return ParseStatus::Ok;
}

ParseStatus parseOpt(const uint8_t* p, size_t pos, size_t rdlen, Query& q) {
  size_t end = pos + rdlen;
  while (pos < end) {
    if (end - pos < 4) return ParseStatus::FormErr;
    uint16_t code = readU16(p + pos);
    uint16_t olen = readU16(p + pos + 2);
    pos += 4;
    if (olen > end - pos) return ParseStatus::FormErr;
    if (code == kOptionEcs) {
      ParseStatus s = parseEcs(p + pos, olen, q.ecs);
      if (s != ParseStatus::Ok) return s;
    }
    pos += olen;
  }
  return ParseStatus::Ok;
}

}  // namespace

namespace {

// One label at `pos` into q.qname_lower at `n`, lower-cased and hashed on;
// its length in `l`. false: malformed.
inline bool lowerLabel(const uint8_t* p, size_t len, size_t& pos, size_t& n, uint32_t& h, uint8_t& l, Query& q) {
  if (pos >= len) return false;
  l = p[pos];
  if (l > 63) return false;  // pointers and extended label types
  if (n + 1 + l > 255 || pos + 1 + l > len) return false;
  q.qname_lower[n++] = l;
  h = (h ^ l) * kFnvPrime;
  ++pos;
  for (uint8_t i = 0; i < l; ++i) {
    uint8_t c = p[pos++];
    if (c >= 'A' && c <= 'Z') c = static_cast<uint8_t>(c | 0x20);
    q.qname_lower[n++] = c;
    h = (h ^ c) * kFnvPrime;
  }
  return true;
}

// The question at `pos` into q (lower-cased name, hash, type, class).
bool parseQuestion(const uint8_t* p, size_t len, size_t& pos, Query& q) {
  size_t n = 0;
  uint32_t h = kFnvOffset;
  uint8_t l = 0;
  // The first label apart: FNV-1a runs left to right, so the hash so far is
  // the first label's, the registry index's key, for free.
  if (!lowerLabel(p, len, pos, n, h, l, q)) return false;
  q.qlabel_hash = h;
  while (l != 0)
    if (!lowerLabel(p, len, pos, n, h, l, q)) return false;
  if (len - pos < 4) return false;
  q.qname_len = static_cast<uint16_t>(n);
  q.qname_hash = h;
  q.qtype = readU16(p + pos);
  q.qclass = readU16(p + pos + 2);
  pos += 4;
  q.question = p + kHeaderSize;
  q.question_len = static_cast<uint16_t>(pos - kHeaderSize);
  return true;
}

// One resource record at `pos`, skipped; its type in `type`, its RDATA at
// `rdata`. False when it does not fit the packet.
bool skipRecord(const uint8_t* p, size_t len, size_t& pos, uint16_t& type, size_t& rdata) {
  if (!skipName(p, len, pos) || len - pos < 10) return false;
  type = readU16(p + pos);
  rdata = pos + 10;
  uint16_t rdlen = readU16(p + pos + 8);
  if (len - rdata < rdlen) return false;
  pos = rdata + rdlen;
  return true;
}

// The additional section: at most one OPT (owner root), read into q. q.edns
// is set as soon as an OPT is seen, even a bad one, so the FORMERR about it
// still carries an OPT (RFC 6891 §7).
ParseStatus parseAdditional(const uint8_t* p, size_t len, size_t& pos, uint16_t count, Query& q) {
  for (uint16_t i = 0; i < count; ++i) {
    size_t owner = pos;
    if (!skipName(p, len, pos) || len - pos < 10) return ParseStatus::FormErr;
    if (readU16(p + pos) != rrtype::OPT) {
      uint16_t type;
      size_t rdata;
      pos = owner;
      if (!skipRecord(p, len, pos, type, rdata)) return ParseStatus::FormErr;
      continue;
    }
    bool second = q.edns;
    q.edns = true;
    uint16_t size = readU16(p + pos + 2);
    q.udp_size = size < 512 ? 512 : size;
    q.edns_version = p[pos + 5];
    q.dnssec_ok = (p[pos + 6] & 0x80) != 0;
    uint16_t rdlen = readU16(p + pos + 8);
    if (second || p[owner] != 0 || len - pos - 10 < rdlen) return ParseStatus::FormErr;
    ParseStatus s = parseOpt(p, pos + 10, rdlen, q);
    if (s != ParseStatus::Ok) return s;
    pos += 10u + rdlen;
  }
  return ParseStatus::Ok;
}

}  // namespace

ParseStatus parseQuery(const uint8_t* p, size_t len, Query& q) {
  if (len < kHeaderSize) return ParseStatus::Drop;
  q.id = readU16(p);
  q.flags_hi = p[2];
  q.flags_lo = p[3];
  q.question = nullptr;
  q.question_len = 0;
  q.edns = false;
  q.edns_version = 0;
  q.dnssec_ok = false;
  q.udp_size = 512;
  q.ecs.present = false;
  if (q.flags_hi & 0x80) return ParseStatus::Drop;
  // Another opcode is NOTIMP, but its reply still echoes what parses (the
  // question or zone section, an OPT), so the rest is read the same way.
  const ParseStatus malformed = ((q.flags_hi >> 3) & 0x0F) != 0 ? ParseStatus::NotImp : ParseStatus::FormErr;
  uint16_t ancount = readU16(p + 6);
  uint16_t nscount = readU16(p + 8);
  uint16_t arcount = readU16(p + 10);
  uint16_t qdcount = readU16(p + 4);
  size_t pos = kHeaderSize;
  if (qdcount == 1) {
    if (!parseQuestion(p, len, pos, q)) return malformed;
  } else {
    // Not one question: malformed whatever follows, but the OPT is still
    // looked for (a cookie probe, RFC 7873 §5.4, has none and an OPT), so
    // the reply can say we speak EDNS. Questions are skipped, not kept.
    for (uint16_t i = 0; i < qdcount; ++i) {
      if (!skipName(p, len, pos) || len - pos < 4) return malformed;
      pos += 4;
    }
  }
  // A query has no answer or authority records, except the client's SOA an
  // IXFR carries in authority (RFC 1995 §3), refused later like AXFR. NOTIFY
  // and UPDATE put records there too; they are skipped to reach the OPT.
  for (uint32_t i = 0; i < uint32_t{ancount} + nscount; ++i) {
    uint16_t type;
    size_t rdata;
    if (!skipRecord(p, len, pos, type, rdata)) return malformed;
  }
  ParseStatus s = parseAdditional(p, len, pos, arcount, q);
  if (s != ParseStatus::Ok) return malformed == ParseStatus::NotImp ? malformed : s;
  if (pos != len || qdcount != 1) return malformed;
  if (malformed == ParseStatus::NotImp) return ParseStatus::NotImp;
  if (ancount != 0 || (nscount != 0 && q.qtype != rrtype::IXFR)) return ParseStatus::FormErr;
  if (q.edns && q.edns_version > 0) return ParseStatus::BadVers;
  return ParseStatus::Ok;
}

}  // namespace switchyard::dns
