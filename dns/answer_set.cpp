#include "dns/answer_set.h"

#include <cstring>

#include "dns/wire.h"

namespace switchyard::dns {

Slot slotFor(uint16_t qtype) {
  switch (qtype) {
    case rrtype::A: return Slot::A;
    case rrtype::AAAA: return Slot::Aaaa;
    case rrtype::NS: return Slot::Ns;
    case rrtype::SOA: return Slot::Soa;
    case rrtype::ANY: return Slot::Any;
    default: return Slot::Other;
  }
}

const char* endpointName(NameKind kind) {
  switch (kind) {
    case NameKind::Apex: return "apex";
    case NameKind::Global: return "global";
    case NameKind::Regional: return "regional";
    case NameKind::Data: return "data";
    default: return "other";
  }
}

const NameEntry* ZoneAnswers::find(const uint8_t* wire, size_t len, uint32_t hash) const {
  size_t mask = table.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    int32_t idx = table[i];
    if (idx < 0) return nullptr;
    const NameEntry& e = names[static_cast<size_t>(idx)];
    if (e.hash == hash && e.wire.size() == len && std::memcmp(e.wire.data(), wire, len) == 0)
      return &e;
  }
}

bool ZoneAnswers::inZone(const uint8_t* wire, size_t len) const {
  const std::string& z = zone.wire();
  if (len < z.size()) return false;
  size_t offset = len - z.size();
  size_t i = 0;
  while (i < offset) i += 1u + wire[i];
  return i == offset && std::memcmp(wire + offset, z.data(), z.size()) == 0;
}

}  // namespace switchyard::dns
