// Compiling a Topology and a RoutingTable into the wire answers of an
// AnswerSet. Cold path: runs on the control thread after every routing change.
//
// Answers per name (CONTRACTS.md §1):
//   - ZONE: SOA; NS with A/AAAA glue for nameservers inside the zone.
//   - REG.ZONE: the replicas the routing table chose for each client region
//     (A/AAAA, TTL ttl.global). A region several replicas share is compiled,
//     under routing.spread sticky, as a share set of one-replica answers (the
//     responder picks one by client subnet; answer_set.h ShareSet); under
//     `all` as one answer with every replica. A route whose replicas are all
//     `target`s is answered with a CNAME to the first; in a mixed route the
//     address replicas answer (a CNAME cannot share its owner with A records).
//     An empty route (when_none_eligible: servfail) is SERVFAIL.
//   - REG.REGION.geo.ZONE / REG.REGION.data.ZONE: that region's replica /
//     data addresses, whatever health or flags say.
//   - In-zone nameserver hosts: their glue addresses.
//   - Empty non-terminals (geo.ZONE, REGION.geo.ZONE, ...): NODATA.
//   - Any other type at an existing name: NODATA (SOA in authority, TTL
//     ttl.negative); ANY gets one RRset (RFC 8482).
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "dns/answer_set.h"
#include "dns/body_writer.h"
#include "policy/routing_table.h"
#include "policy/topology.h"

namespace switchyard::dns {

// The zone's SOA: MNAME the first nameserver, RNAME hostmaster.ZONE, MINIMUM
// ttl.negative.
SoaFields soaFields(const policy::Topology& topology, uint32_t serial);

// Per region, the registries with regional and data names there.
RegionUse regionUse(const policy::Topology& topology);
std::shared_ptr<const ZoneAnswers> compileZone(const policy::Topology& topology, uint32_t serial,
                                               const RegionUse& use);

std::shared_ptr<const RegistryAnswers> compileRegistry(const policy::Topology& topology,
                                                       const ZoneAnswers& zone, uint32_t registry,
                                                       const policy::RegistryRouting& routing);

// `reuse` (optional): registry g's answers from an earlier set, or nullptr to
// compile them. REQUIRES: what it returns was compiled from the same registry,
// routing part, zone name and TTLs (a catalog edit carries every other
// registry this way, router.h).
// `threads` > 1: thousands of new registries compile on that many threads
// (the start-up, before any DNS thread serves; later rebuilds stay on one
// so they do not take cores from DNS threads under load).
using ReuseAnswers = std::function<std::shared_ptr<const RegistryAnswers>(uint32_t registry)>;
std::shared_ptr<const AnswerSet> compileAll(const policy::Topology& topology,
                                            const policy::RoutingTable& table, uint32_t serial,
                                            const ReuseAnswers& reuse = {}, size_t threads = 1);

// A catalog edit (policy::SlotEdit from `before` to `topology`) in
// O(edited): `previous` (compiled for `before`) with its slots moved as
// the edit moved them, the appended registries compiled from `table`, the
// index changed shard by shard, and the zone's own names rebuilt only when
// the edit changed which exist (a region's first or last regional name, a
// registry named like a zone label). `edited`: every name the edit removed
// or added.
std::shared_ptr<const AnswerSet> compileEdit(const policy::Topology& before, const policy::Topology& topology,
                                             const AnswerSet& previous, const policy::RoutingTable& table,
                                             uint32_t serial, const policy::SlotEdit& slots,
                                             const std::vector<std::string>& edited);

}  // namespace switchyard::dns
