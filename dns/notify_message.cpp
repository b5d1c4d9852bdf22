#include "dns/notify_message.h"

#include "dns/answer_compiler.h"
#include "dns/body_writer.h"
#include "dns/wire.h"

namespace switchyard::dns {

std::vector<uint8_t> buildNotify(const policy::Topology& t, uint32_t serial, uint16_t id) {
  std::vector<uint8_t> out(kHeaderSize);
  writeU16(out.data(), id);
  out[2] = 0x20 | 0x04;  // opcode 4 (NOTIFY), AA
  writeU16(out.data() + 4, 1);
  writeU16(out.data() + 6, 1);
  const std::string& zone = t.zone.wire();
  out.insert(out.end(), zone.begin(), zone.end());
  uint8_t qtail[4];
  writeU16(qtail, rrtype::SOA);
  writeU16(qtail + 2, kClassIn);
  out.insert(out.end(), qtail, qtail + 4);
  BodyWriter w(zone, true);
  w.soa(zone, t.ttl.apex, soaFields(t, serial));
  auto body = w.take();
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

bool isNotifyResponse(const uint8_t* p, size_t len, uint16_t id) {
  return len >= kHeaderSize && readU16(p) == id && (p[2] & 0x80) && ((p[2] >> 3) & 0x0F) == 4;
}

}  // namespace switchyard::dns
