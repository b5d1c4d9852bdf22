// AnswerSet: every response the server can give, precompiled to wire format.
//
// Built on the control thread whenever the routing table changes (see
// answer_compiler.h) and read by DNS workers without locks or allocation.
// An answer's body is the part of a response after the question; names in it
// are compressed against the question name at offset 12, which is why a body
// is only valid for the owner name it was compiled for (same label lengths;
// letter case may differ: the client's question is echoed verbatim).
//
// Layout: what belongs to the zone (apex, in-zone nameserver hosts, empty
// non-terminals, the client map) lives in one shared ZoneAnswers; the index
// of every registry by its label is a sharded RegistryIndex
// (registry_index.h); everything of one registry (its global answers and its
// regional and data names) lives in its own RegistryAnswers. So a change to
// one registry (a health flip, or a catalog edit) compiles that registry
// alone and rebuilds only the index shards it touches, never every
// registry's names (at 10,000 registries the old single name table cost
// 200 ms per catalog change).
// Thread safety: immutable once published.
// Invariants:
//   1. Every View holds valid indices into the answers of the same object.
//   2. RegistryAnswers::client_view has one entry per topology region; a
//      shared entry's ShareSet ranges [first[f], first[f] + count[f]) lie inside share_seeds,
//      share_views and share_replicas (parallel vectors); views < kShared.
//   3. ZoneAnswers::table has a power-of-two capacity at least twice its
//      entries, so probing always ends at an empty slot.
//   4. `index` names each registry of `registries` once, by index;
//      zone-level names never shadow a registry's global name.
//   5. region_use counts, per region, the registries with regional (geo)
//      or data names there: the zone's empty non-terminals follow it.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/dns_name.h"
#include "common/shared_chunks.h"
#include "dns/registry_index.h"
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

// A name with a fixed view: the zone's (apex, hosts, empty non-terminals) in
// ZoneAnswers, a registry's regional and data names in its RegistryAnswers.
struct NameEntry {
  std::string wire;  // lowercase wire name
  uint32_t hash = 0;
  NameKind kind = NameKind::Empty;
  uint32_t view = 0;  // into the views of the object holding the entry
};

struct ZoneAnswers {
  explicit ZoneAnswers(policy::ClientMap map) : clients(std::move(map)) {}
  DnsName zone;
  bool trust_ecs = true;
  policy::StickyPrefix sticky_prefix;  // the client subnet of a shared answer
  uint32_t serial = 0;
  policy::ClientMap clients;
  std::vector<NameEntry> names;  // the zone's own names only
  std::vector<int32_t> table;    // open addressing: index into names, -1 = empty
  std::vector<Answer> answers;
  std::vector<View> views;
  Answer nxdomain;  // body uncompressed: valid after any question
  policy::RateLimit rate_limit;  // for UDP answers (rate_limiter.h); travels with the set so a reload applies it

  // The zone's own names. REQUIRES: wire is lowercase. nullptr when absent.
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
  // Regional and data names, whatever routing says; a handful per registry,
  // searched linearly.
  std::vector<NameEntry> fixed;
};

// What a name in the zone resolves to.
struct NameMatch {
  NameKind kind = NameKind::Empty;
  uint32_t registry = 0;                        // Global, Regional, Data: its index
  const RegistryAnswers* answers_of = nullptr;  // Global, Regional, Data: its answers
  // Every kind but Global: the name's view and the answers it indexes.
  const View* view = nullptr;
  const std::vector<Answer>* answers = nullptr;
};

// Per region: how many registries have regional (geo) and data names there
// (the zone's empty non-terminals REGION.geo.ZONE, ... exist while one does).
struct RegionUse {
  std::vector<uint32_t> geo;
  std::vector<uint32_t> data;
  friend bool operator==(const RegionUse&, const RegionUse&) = default;
};

struct AnswerSet {
  uint64_t generation = 0;  // the routing table generation compiled
  uint32_t serial = 0;      // the zone's SOA serial: bumped on every routing change
  std::shared_ptr<const ZoneAnswers> zone;
  std::shared_ptr<const RegistryIndex> index;  // registry label -> index into registries
  SharedChunks<RegistryAnswers> registries;    // by registry index
  RegionUse region_use;

  // REQUIRES: wire is lowercase and inside the zone (ZoneAnswers::inZone);
  // label_hash is hashName over its first label. false: no such name.
  bool find(const uint8_t* wire, size_t len, uint32_t hash, uint32_t label_hash, NameMatch& out) const;
};

[[gnu::always_inline]] inline bool AnswerSet::find(const uint8_t* wire, size_t len, uint32_t hash, uint32_t label_hash, NameMatch& out) const {
  const size_t zone_len = zone->zone.wire().size();
  // The registries first: a global name (most queries) costs one probe. No
  // zone name can be a registry's global name (the loader refuses a registry
  // named like a host; compileZone adds no empty non-terminal there).
  if (len > zone_len) {
    uint32_t g = index->find(wire, label_hash);
    if (g != RegistryIndex::kNone) {
      const RegistryAnswers& ra = *registries[g];
      out.registry = g;
      out.answers_of = &ra;
      if (len == 1u + wire[0] + zone_len) {  // REG.ZONE
        out.kind = NameKind::Global;
        return true;
      }
      for (const NameEntry& e : ra.fixed)
        if (e.hash == hash && e.wire.size() == len && std::memcmp(e.wire.data(), wire, len) == 0) {
          out.kind = e.kind;
          out.view = &ra.views[e.view];
          out.answers = &ra.answers;
          return true;
        }
      out.answers_of = nullptr;  // below a registry's label, yet maybe a zone name (a host)
    }
  }
  if (const NameEntry* e = zone->find(wire, len, hash)) {
    out.kind = e->kind;
    out.view = &zone->views[e->view];
    out.answers = &zone->answers;
    return true;
  }
  return false;
}

}  // namespace switchyard::dns
