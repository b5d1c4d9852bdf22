// DNS NOTIFY (RFC 1996) messages: what the control thread sends to the
// configured targets after a routing change, and how their answers are
// recognised. Cold path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "policy/topology.h"

namespace switchyard::dns {

// opcode NOTIFY, AA, question ZONE SOA IN, and the new SOA in the answer
// section as a hint (RFC 1996 §3.7).
std::vector<uint8_t> buildNotify(const policy::Topology& topology, uint32_t serial, uint16_t id);

// Is this a NOTIFY response (QR, opcode NOTIFY) with this id?
bool isNotifyResponse(const uint8_t* packet, size_t length, uint16_t id);

}  // namespace switchyard::dns
