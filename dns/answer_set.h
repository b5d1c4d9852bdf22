// AnswerSet: every response the server can give, precompiled to wire format.
//
// Built on the control thread whenever the routing table changes (see
// answer_compiler.h) and read by DNS workers without locks or allocation.
// An answer's body is the part of a response after the question; names in it
// are compressed against the question name at offset 12, which is why a body
// is only valid for the owner name it was compiled for (same label lengths;
// letter case may differ: the client's question is echoed verbatim).
//
// Layout: the parts that depend only on the topology (names, regional, data,
// apex and glue answers, the client map) live in one shared ZoneAnswers; each
// registry's global answers live in their own RegistryAnswers, so a change to
// one registry recompiles and republishes just that part.
// Thread safety: immutable once published.
// Invariants:
//   1. Every View holds valid indices into the answers of the same object.
//   2. RegistryAnswers::client_view has one entry per topology region; a
//      shared entry's ShareSet ranges [first[f], first[f] + count[f]) lie inside share_seeds,
//      share_views and share_replicas (parallel vectors); views < kShared.
//   3. The name table's capacity is a power of two and at least twice the
//      number of names, so probing always ends at an empty slot.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/shared_chunks.h"
#include "policy/client_map.h"
#include "policy/sticky.h"
#include "policy/topology.h"

namespace switchyard::dns {

struct Answer {
  uint8_t rcode = 0;
  bool authoritative = true;
  uint16_t ancount = 0, nscount = 0, arcount = 0;
  std::vector<uint8_t> body;
  // Offset of an SOA SERIAL in `body`, or -1. The responder writes
  // AnswerSet::serial there, so a routing change bumps the serial without
  // recompiling every name's answers.
  int32_t serial_at = -1;
};

// Which answer a query type gets at one owner name.
enum class Slot : uint8_t { A, Aaaa, Ns, Soa, Any, Other, kCount };
Slot slotFor(uint16_t qtype);
using View = std::array<uint32_t, static_cast<size_t>(Slot::kCount)>;

enum class NameKind : uint8_t { Apex, Global, Regional, Data, Host, Empty };
// Used for metrics labels: `endpoint` (global, regional, data, apex, other).
const char* endpointName(NameKind kind);

struct NameEntry {
  std::string wire;  // lowercase wire name
  uint32_t hash = 0;
  NameKind kind = NameKind::Empty;
  uint32_t registry = 0;  // Global: which RegistryAnswers
  uint32_t view = 0;      // other kinds: index into ZoneAnswers::views
};

struct ZoneAnswers {
  DnsName zone;
  bool trust_ecs = true;
  policy::StickyPrefix sticky_prefix;  // the client subnet of a shared answer
  uint32_t serial = 0;
  policy::ClientMap clients;
  std::vector<NameEntry> names;
  std::vector<int32_t> table;  // open addressing: index into names, -1 = empty
  std::vector<Answer> answers;
  std::vector<View> views;
  Answer nxdomain;  // body uncompressed: valid after any question
  policy::RateLimit rate_limit;  // for UDP answers (rate_limiter.h); travels with the set so a reload applies it

  // REQUIRES: wire is lowercase. Returns nullptr when absent.
  const NameEntry* find(const uint8_t* wire, size_t len, uint32_t hash) const;
  // Is the lowercase wire name at or below the zone apex?
  bool inZone(const uint8_t* wire, size_t len) const;
};

// Several replicas sharing a client region (routing.spread sticky): each
// member has a one-replica view, and the responder picks a member by the
// client subnet (policy/sticky.h). There is one member list per family of the
// client subnet ([0] IPv4, [1] IPv6): the members with addresses of that
// family (or a target), so a single-stack client never gets a replica it
// cannot reach; all members when none has. A and AAAA for one subnet use the
// same list, so a dual-stack client is never split.
struct ShareSet {
  uint32_t first[2] = {0, 0};  // into RegistryAnswers::share_seeds / share_views / share_replicas
  uint32_t count[2] = {0, 0};  // at least 1 each
};

struct RegistryAnswers {
  // Per client region: a view index, or kShared | an index into share_sets.
  // One word, so the unshared (nearest) path costs what it did before sharing.
  static constexpr uint32_t kShared = 0x80000000u;
  std::vector<Answer> answers;
  std::vector<View> views;
  std::vector<uint32_t> client_view;
  std::vector<ShareSet> share_sets;
  std::vector<uint64_t> share_seeds;     // policy::replicaSeed of each member
  std::vector<uint32_t> share_views;     // each member's view
  std::vector<uint32_t> share_replicas;  // each member's replica index (explanations, tests)
};

struct AnswerSet {
  uint64_t generation = 0;  // the routing table generation compiled
  uint32_t serial = 0;      // the zone's SOA serial: bumped on every routing change
  std::shared_ptr<const ZoneAnswers> zone;
  SharedChunks<RegistryAnswers> registries;  // by registry index
};

}  // namespace switchyard::dns
