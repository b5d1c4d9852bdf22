#include "dns/responder.h"

#include <algorithm>
#include <cstring>

#include "dns/wire.h"

namespace switchyard::dns {

namespace {

struct Reply {
  uint8_t rcode = 0;    // low 4 bits
  uint8_t ext_rcode = 0;  // OPT TTL high byte
  bool aa = false;
  bool question = true;
  const Answer* answer = nullptr;
  bool ecs = false;
  uint8_t scope = 0;
  bool truncate = false;  // TC and no records whatever the size
};

// The source address's bytes, with an IPv4-mapped IPv6 source as its IPv4
// part (IpAddress::unmapped() without the copy).
const uint8_t* clientAddress(const IpAddress& a, bool& v4) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  v4 = a.isV4();
  if (v4 || std::memcmp(a.bytes.data(), kMapped, 12) != 0) return a.bytes.data();
  v4 = true;
  return a.bytes.data() + 12;
}

size_t optLength(const Query& q, const Reply& r) {
  if (!q.edns) return 0;
  return 11u + (r.ecs ? 4u + 4u + q.ecs.address_len : 0u);
}

uint8_t* writeOpt(uint8_t* p, const Query& q, const Reply& r) {
  *p++ = 0;  // root owner
  writeU16(p, rrtype::OPT);
  writeU16(p + 2, kOurUdpPayload);
  p[4] = r.ext_rcode;
  p[5] = 0;  // version
  p[6] = q.dnssec_ok ? 0x80 : 0;  // RFC 3225: DO is copied
  p[7] = 0;
  uint16_t rdlen = r.ecs ? static_cast<uint16_t>(4 + 4 + q.ecs.address_len) : 0;
  writeU16(p + 8, rdlen);
  p += 10;
  if (r.ecs) {
    writeU16(p, kOptionEcs);
    writeU16(p + 2, static_cast<uint16_t>(4 + q.ecs.address_len));
    writeU16(p + 4, q.ecs.family);
    p[6] = q.ecs.source;
    p[7] = r.scope;
    std::memcpy(p + 8, q.ecs.address, q.ecs.address_len);
    p += 8 + q.ecs.address_len;
  }
  return p;
}

size_t write(const Query& q, const Reply& r, Transport transport, uint8_t* out, size_t cap, uint32_t serial = 0) {
  size_t qlen = r.question ? q.question_len : 0;
  size_t opt = optLength(q, r);
  const Answer* a = r.answer;
  size_t body = a ? a->body.size() : 0;
  size_t limit = cap;
  if (transport == Transport::Udp)
    limit = std::min<size_t>(cap, q.edns ? std::min<uint16_t>(q.udp_size, kOurUdpPayload) : 512);
  bool tc = r.truncate || kHeaderSize + qlen + body + opt > limit;
  if (tc) body = 0;
  if (kHeaderSize + qlen + body + opt > cap) return 0;  // cannot happen with the documented cap

  writeU16(out, q.id);
  // QR, the query's opcode (RFC 1035 §4.1.1: copied, or a client such as dig
  // reports an opcode mismatch), AA, TC, and RD copied.
  out[2] = static_cast<uint8_t>(0x80 | (q.flags_hi & 0x78) | (r.aa ? 0x04 : 0) | (tc ? 0x02 : 0) |
                                (q.flags_hi & 0x01));
  out[3] = static_cast<uint8_t>((q.flags_lo & 0x10) | (r.rcode & 0x0F));  // CD is copied
  writeU16(out + 4, r.question ? 1 : 0);
  writeU16(out + 6, a && !tc ? a->ancount : 0);
  writeU16(out + 8, a && !tc ? a->nscount : 0);
  writeU16(out + 10, static_cast<uint16_t>((a && !tc ? a->arcount : 0) + (opt ? 1 : 0)));
  uint8_t* p = out + kHeaderSize;
  if (qlen) std::memcpy(p, q.question, qlen);  // no question (FORMERR): question is null, and memcpy(null) is UB
  p += qlen;
  if (body) {
    std::memcpy(p, a->body.data(), body);
    if (a->serial_at >= 0) writeU32(p + a->serial_at, serial);
    p += body;
  }
  if (opt) p = writeOpt(p, q, r);
  return static_cast<size_t>(p - out);
}

}  // namespace

size_t respond(const AnswerSet& set, const uint8_t* packet, size_t length, const IpAddress& source,
               Transport transport, Query& q, uint8_t* out, size_t cap, ResponseInfo* info) {
  ResponseInfo local;
  ResponseInfo& inf = info ? *info : local;
  inf = ResponseInfo{};
  Reply r;
  ParseStatus parsed = parseQuery(packet, length, q);
  switch (parsed) {
    case ParseStatus::Drop:
      return 0;
    case ParseStatus::FormErr:
    case ParseStatus::NotImp:
      // The reply keeps what parsed: the question (null when it did not) and
      // a plain OPT when the query had one, even the OPT that is malformed
      // (RFC 6891 §6.1.1 and §7), so a resolver does not conclude we lack EDNS.
      r.rcode = parsed == ParseStatus::FormErr ? rcode::FormErr : rcode::NotImp;
      r.question = q.question != nullptr;
      inf.rcode = r.rcode;
      return write(q, r, transport, out, cap);
    case ParseStatus::BadVers:
      r.ext_rcode = static_cast<uint8_t>(rcode::BadVers >> 4);
      inf.rcode = rcode::BadVers;
      return write(q, r, transport, out, cap);
    case ParseStatus::Ok:
      break;
  }
  const ZoneAnswers& zone = *set.zone;
  bool use_ecs = q.ecs.present && zone.trust_ecs;
  r.ecs = use_ecs;  // scope 0 unless the answer depends on the client
  if (q.qclass != kClassIn || q.qtype == rrtype::AXFR || q.qtype == rrtype::IXFR ||
      !zone.inZone(q.qname_lower, q.qname_len)) {
    r.rcode = rcode::Refused;
    inf.rcode = rcode::Refused;
    return write(q, r, transport, out, cap);
  }
  inf.in_zone = true;
  r.aa = true;
  NameMatch m;
  if (!set.find(q.qname_lower, q.qname_len, q.qname_hash, q.qlabel_hash, m)) {
    r.answer = &zone.nxdomain;
  } else {
    inf.kind = m.kind;
    const View* view = m.view;
    const std::vector<Answer>* answers = m.answers;
    if (m.kind == NameKind::Global) {
      const RegistryAnswers& ra = *m.answers_of;
      // The client: the trusted ECS address, else the query's source.
      bool v4;
      const uint8_t* addr;
      bool ecs_scoped = use_ecs && q.ecs.source > 0;
      if (ecs_scoped) {
        v4 = q.ecs.family == 1;
        addr = q.ecs.address;
      } else {
        addr = clientAddress(source, v4);
      }
      policy::ClientRegion client = zone.clients.lookup(v4, addr);
      uint32_t v = ra.client_view[client.region];
      uint8_t scope = client.scope;
      if (v & RegistryAnswers::kShared) {
        // Shared region: the client subnet's one replica (policy/sticky.h).
        // Every address under the sticky prefix gets it, so the scope covers
        // no more than that prefix (nor more than the region does).
        const ShareSet& share = ra.share_sets[v & ~RegistryAnswers::kShared];
        uint8_t prefix = zone.sticky_prefix.of(v4);
        uint32_t first = share.first[v4 ? 0 : 1];
        size_t pick = policy::stickyPick({&ra.share_seeds[first], share.count[v4 ? 0 : 1]},
                                         policy::subnetKey(v4, addr, prefix));
        v = ra.share_views[first + pick];
        scope = std::max(scope, prefix);
      }
      if (ecs_scoped) r.scope = scope;
      view = &ra.views[v];
      answers = &ra.answers;
    }
    r.answer = &(*answers)[(*view)[static_cast<size_t>(slotFor(q.qtype))]];
  }
  r.rcode = r.answer->rcode;
  r.aa = r.answer->authoritative;
  inf.rcode = r.rcode;
  size_t n = write(q, r, transport, out, cap, set.serial);
  inf.truncated = n >= 3 && (out[2] & 0x02);
  return n;
}

size_t truncateResponse(const Query& q, const ResponseInfo& info, uint8_t* out, size_t cap) {
  Reply r;
  r.rcode = static_cast<uint8_t>(info.rcode & 0x0F);
  r.ext_rcode = static_cast<uint8_t>(info.rcode >> 4);
  r.aa = info.in_zone;
  r.question = q.question != nullptr;  // FORMERR and NOTIMP may have none
  r.truncate = true;
  return write(q, r, Transport::Udp, out, cap);
}

}  // namespace switchyard::dns
