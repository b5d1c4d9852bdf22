#include "dns/notify_message.h"

#include "dns/answer_compiler.h"
#include "dns/body_writer.h"
#include "dns/wire.h"

namespace switchyard::dns {

std::vector<uint8_t> buildNotify(const policy::Topology& t, uint32_t serial, uint16_t id) {
  const std::string& zone = t.zone.wire();
  uint8_t header[kHeaderSize] = {};
  writeU16(header, id);
  header[2] = 0x20 | 0x04;  // opcode 4 (NOTIFY), AA
  writeU16(header + 4, 1);  // QDCOUNT
  writeU16(header + 6, 1);  // ANCOUNT: the new SOA as a hint
  uint8_t qtail[4];
  writeU16(qtail, rrtype::SOA);
  writeU16(qtail + 2, kClassIn);
  BodyWriter w(zone, true);
  w.soa(zone, t.ttl.apex, soaFields(t, serial));
  std::vector<uint8_t> body = w.take();

  std::vector<uint8_t> out;
  out.reserve(sizeof header + zone.size() + sizeof qtail + body.size());
  for (uint8_t b : header) out.push_back(b);
  for (char c : zone) out.push_back(static_cast<uint8_t>(c));
  for (uint8_t b : qtail) out.push_back(b);
  for (uint8_t b : body) out.push_back(b);
  return out;
}

bool isNotifyResponse(const uint8_t* p, size_t len, uint16_t id) {
  return len >= kHeaderSize && readU16(p) == id && (p[2] & 0x80) && ((p[2] >> 3) & 0x0F) == 4;
}

}  // namespace switchyard::dns
