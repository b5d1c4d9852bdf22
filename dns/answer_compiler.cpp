#include "dns/answer_compiler.h"

#include "policy/endpoint_names.h"

#include <algorithm>
#include <map>
#include <thread>
#include <string_view>
#include <unordered_set>

#include "dns/body_writer.h"
#include "dns/wire.h"
#include "policy/routing_policy.h"

namespace switchyard::dns {

namespace {

using policy::Topology;

}  // namespace

SoaFields soaFields(const Topology& t, uint32_t serial) {
  SoaFields soa;
  soa.mname = t.nameservers.at(0).name;
  soa.rname = t.zone.prepend("hostmaster").value();
  soa.serial = serial;
  soa.minimum = t.ttl.negative;
  return soa;
}

namespace {

// Appends answers and views for one owner name into `answers`/`views`.
class ViewBuilder {
 public:
  ViewBuilder(const Topology& t, std::vector<Answer>& answers, std::vector<View>& views,
              uint32_t serial)
      : t_(t), answers_(answers), views_(views), soa_(soaFields(t, serial)) {}

  uint32_t nodata(const std::string& owner) {
    // Asked again only for the owner just built (apex(), addresses()): one
    // remembered owner, not a map of every name of the zone (10,000
    // registries: 60,000 string keys allocated and compared per compile).
    if (nodata_answer_ != kNone && owner == nodata_owner_) return nodata_answer_;
    BodyWriter w(owner, true);
    auto serial_at = static_cast<int32_t>(w.soa(t_.zone.wire(), t_.ttl.negative, soa_));
    nodata_owner_ = owner;
    return nodata_answer_ = add(Answer{rcode::NoError, true, 0, 1, 0, w.take(), serial_at});
  }

  uint32_t allSlots(uint32_t answer) {
    View v;
    v.fill(answer);
    return addView(v);
  }

  // A/AAAA (or a CNAME) at `owner`; other types get NODATA.
  uint32_t addresses(const std::string& owner, uint32_t ttl, const std::vector<IpAddress>& ips,
                     const DnsName* cname) {
    if (cname) {
      BodyWriter w(owner, true);
      w.cname(owner, ttl, *cname);
      return allSlots(add(Answer{rcode::NoError, true, 1, 0, 0, w.take()}));
    }
    uint32_t none = nodata(owner);
    uint32_t a = family(owner, ttl, ips, true, none);
    uint32_t aaaa = family(owner, ttl, ips, false, none);
    View v;
    v.fill(none);
    v[idx(Slot::A)] = a;
    v[idx(Slot::Aaaa)] = aaaa;
    v[idx(Slot::Any)] = a != none ? a : aaaa;
    return addView(v);
  }

  uint32_t apex() {
    const std::string& owner = t_.zone.wire();
    View v;
    v.fill(nodata(owner));
    BodyWriter soa(owner, true);
    auto serial_at = static_cast<int32_t>(soa.soa(owner, t_.ttl.apex, soa_));
    v[idx(Slot::Soa)] = v[idx(Slot::Any)] = add(Answer{rcode::NoError, true, 1, 0, 0, soa.take(), serial_at});
    BodyWriter ns(owner, true);
    for (const auto& n : t_.nameservers) ns.ns(owner, t_.ttl.apex, n.name);
    uint16_t glue = 0;
    for (const auto& n : t_.nameservers)
      if (n.name.isSubdomainOf(t_.zone))
        for (const auto& ip : n.addresses) {
          ns.address(n.name.wire(), t_.ttl.apex, ip);
          ++glue;
        }
    v[idx(Slot::Ns)] = add(Answer{rcode::NoError, true,
                                  static_cast<uint16_t>(t_.nameservers.size()), 0, glue, ns.take()});
    return addView(v);
  }

  uint32_t servfail() { return allSlots(add(Answer{rcode::ServFail, false, 0, 0, 0, {}})); }

  Answer nxdomain() {
    BodyWriter w("", false);
    auto serial_at = static_cast<int32_t>(w.soa(t_.zone.wire(), t_.ttl.negative, soa_));
    return Answer{rcode::NxDomain, true, 0, 1, 0, w.take(), serial_at};
  }

 private:
  static size_t idx(Slot s) { return static_cast<size_t>(s); }

  uint32_t family(const std::string& owner, uint32_t ttl, const std::vector<IpAddress>& ips,
                  bool v4, uint32_t none) {
    BodyWriter w(owner, true);
    uint16_t n = 0;
    for (const auto& ip : ips)
      if (ip.isV4() == v4) {
        w.address(owner, ttl, ip);
        ++n;
      }
    return n == 0 ? none : add(Answer{rcode::NoError, true, n, 0, 0, w.take()});
  }

  uint32_t add(Answer a) {
    answers_.push_back(std::move(a));
    return static_cast<uint32_t>(answers_.size() - 1);
  }
  uint32_t addView(const View& v) {
    views_.push_back(v);
    return static_cast<uint32_t>(views_.size() - 1);
  }

  const Topology& t_;
  std::vector<Answer>& answers_;
  std::vector<View>& views_;
  static constexpr uint32_t kNone = UINT32_MAX;
  SoaFields soa_;
  std::string nodata_owner_;
  uint32_t nodata_answer_ = kNone;
};

// Names seen so far, looked up by view (no string made to ask).
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
using KnownNames = std::unordered_set<std::string, NameHash, std::equal_to<>>;

NameEntry nameEntry(const std::string& wire, NameKind kind, uint32_t view) {
  return {wire, hashName(reinterpret_cast<const uint8_t*>(wire.data()), wire.size()), kind, view};
}

// Adds a zone name unless it is already there: the first definition wins
// (validated topologies never define one name twice).
bool addName(ZoneAnswers& z, KnownNames& known, const std::string& wire, NameKind kind, uint32_t view) {
  if (!known.insert(wire).second) return false;
  z.names.push_back(nameEntry(wire, kind, view));
  return true;
}

size_t capacityFor(size_t n) {
  size_t cap = 8;
  while (cap < n * 2) cap *= 2;
  return cap;
}

void buildTable(ZoneAnswers& z) {
  size_t cap = capacityFor(z.names.size());
  z.table.assign(cap, -1);
  for (size_t i = 0; i < z.names.size(); ++i) {
    size_t slot = z.names[i].hash & (cap - 1);
    while (z.table[slot] >= 0) slot = (slot + 1) & (cap - 1);
    z.table[slot] = static_cast<int32_t>(i);
  }
}

// Every registry by its label: one pass, no string per registry (the labels
// go into one buffer), so 100,000 registries cost milliseconds, not the
// name table's seconds.
// What registry g adds to RegionUse (`sign` +1) or takes away (-1).
void countUse(RegionUse& use, const policy::Registry& reg, int sign) {
  if (!reg.regional_endpoints && !reg.data_endpoints) return;
  for (const auto& r : reg.replicas) {
    if (reg.regional_endpoints) use.geo[r.region] += static_cast<uint32_t>(sign);
    if (reg.data_endpoints) use.data[r.region] += static_cast<uint32_t>(sign);
  }
}

}  // namespace

RegionUse regionUse(const Topology& t) {
  RegionUse use{std::vector<uint32_t>(t.regions.size()), std::vector<uint32_t>(t.regions.size())};
  for (const auto& reg : t.registries) countUse(use, reg, +1);
  return use;
}

std::shared_ptr<const ZoneAnswers> compileZone(const Topology& t, uint32_t serial, const RegionUse& use) {
  auto z = std::make_shared<ZoneAnswers>(policy::ClientMap(t.networks, t.default_region));
  z->zone = t.zone;
  z->trust_ecs = t.trust_ecs;
  z->sticky_prefix = t.sticky_prefix;
  z->serial = serial;
  z->rate_limit = t.rate_limit;
  ViewBuilder b(t, z->answers, z->views, serial);
  KnownNames known;
  addName(*z, known, t.zone.wire(), NameKind::Apex, b.apex());
  z->nxdomain = b.nxdomain();
  for (const auto& ns : t.nameservers)
    if (ns.name.isSubdomainOf(t.zone))
      addName(*z, known, ns.name.wire(), NameKind::Host, b.addresses(ns.name.wire(), t.ttl.apex, ns.addresses, nullptr));
  size_t hosts = z->names.size();
  // Every ancestor of a name, up to the apex, exists: empty non-terminals
  // answer NODATA, never NXDOMAIN (RFC 8020). The registries' regional and
  // data names live in their RegistryAnswers, but their ancestors
  // (REGION.geo.ZONE, geo.ZONE, ...) are the zone's: one per region used.
  std::vector<std::string> below;  // names whose ancestors must exist
  for (uint32_t i = 0; i < t.regions.size(); ++i) {
    if (use.geo[i]) below.push_back(t.zone.prepend("geo").value().prepend(t.regions[i].name).value().wire());
    if (use.data[i]) below.push_back(t.zone.prepend("data").value().prepend(t.regions[i].name).value().wire());
  }
  for (size_t i = 0; i < hosts; ++i) {
    std::string_view wire = z->names[i].wire;
    if (wire.size() > t.zone.wire().size()) below.emplace_back(wire.substr(1u + static_cast<uint8_t>(wire[0])));
  }
  const size_t zone_len = t.zone.wire().size();
  for (const std::string& name : below) {
    std::string_view wire = name;
    while (wire.size() > zone_len && known.find(wire) == known.end()) {  // its ancestors are known once it is
      // Directly under the apex, a registry's name is its global name, not
      // an empty non-terminal.
      auto label = static_cast<uint8_t>(wire[0]);
      bool registry = wire.size() == 1u + label + zone_len &&
                      t.registryIndex(std::string_view(wire.data() + 1, label)).has_value();
      if (!registry) {
        std::string owner(wire);
        addName(*z, known, owner, NameKind::Empty, b.allSlots(b.nodata(owner)));
      }
      wire.remove_prefix(1u + label);
    }
  }
  buildTable(*z);
  return z;
}

std::shared_ptr<const RegistryAnswers> compileRegistry(const Topology& t, const ZoneAnswers& zone,
                                                       uint32_t g,
                                                       const policy::RegistryRouting& routing) {
  auto ra = std::make_shared<RegistryAnswers>();
  ViewBuilder b(t, ra->answers, ra->views, zone.serial);
  const auto& reg = t.registries[g];
  std::string owner = policy::endpointName(t, reg, policy::EndpointKind::Global).wire();
  // Views by replica set (servfail = the empty set), so client regions with
  // the same choice share one answer.
  std::map<std::vector<uint32_t>, uint32_t> views;
  auto viewOf = [&](const std::vector<uint32_t>& key) {
    auto it = views.find(key);
    if (it != views.end()) return it->second;
    uint32_t view = 0;
    if (key.empty()) {
      view = b.servfail();
    } else {
      std::vector<IpAddress> ips;
      const DnsName* cname = nullptr;
      for (uint32_t r : key) {
        const auto& rep = reg.replicas[r];
        ips.insert(ips.end(), rep.addresses.begin(), rep.addresses.end());
        if (rep.target && !cname) cname = &*rep.target;
      }
      view = b.addresses(owner, t.ttl.global, ips, ips.empty() ? cname : nullptr);
    }
    return views.emplace(key, view).first->second;
  };
  std::map<std::vector<uint32_t>, uint32_t> shares;  // share set -> kShared | its index
  for (const auto& route : routing.clients) {
    std::vector<uint32_t> key;
    if (!route.servfail)
      for (const auto& c : route.replicas) key.push_back(c.replica);
    if (key.size() < 2 || t.spread == policy::Spread::All) {
      ra->client_view.push_back(viewOf(key));
      continue;
    }
    auto it = shares.find(key);
    if (it == shares.end()) {
      ShareSet set;
      for (int family = 0; family < 2; ++family) {
        set.first[family] = static_cast<uint32_t>(ra->share_seeds.size());
        for (uint32_t r : policy::reachableFrom(reg, key, family == 0)) {
          ra->share_seeds.push_back(policy::replicaSeed(reg.name, t.regions[reg.replicas[r].region].name));
          ra->share_views.push_back(viewOf({r}));
          ra->share_replicas.push_back(r);
        }
        set.count[family] = static_cast<uint32_t>(ra->share_seeds.size()) - set.first[family];
      }
      ra->share_sets.push_back(set);
      it = shares.emplace(key, RegistryAnswers::kShared | static_cast<uint32_t>(ra->share_sets.size() - 1)).first;
    }
    ra->client_view.push_back(it->second);
  }
  // Regional and data names: that region's replica, whatever routing says.
  for (const auto& r : reg.replicas) {
    if (reg.regional_endpoints) {
      std::string n = policy::endpointName(t, reg, policy::EndpointKind::Regional, r.region).wire();
      uint32_t view = b.addresses(n, t.ttl.regional, r.addresses, r.target ? &*r.target : nullptr);
      ra->fixed.push_back(nameEntry(n, NameKind::Regional, view));
    }
    if (reg.data_endpoints) {
      std::string n = policy::endpointName(t, reg, policy::EndpointKind::Data, r.region).wire();
      ra->fixed.push_back(nameEntry(n, NameKind::Data, b.addresses(n, t.ttl.data, r.data_addresses, nullptr)));
    }
  }
  // Kept for as long as the registry's routing does not move: at exact size
  // (vectors grown by doubling hold up to twice their items).
  ra->answers.shrink_to_fit();
  ra->views.shrink_to_fit();
  ra->client_view.shrink_to_fit();
  ra->fixed.shrink_to_fit();
  return ra;
}

std::shared_ptr<const AnswerSet> compileAll(const Topology& t, const policy::RoutingTable& table,
                                            uint32_t serial, const ReuseAnswers& reuse, size_t threads) {
  auto set = std::make_shared<AnswerSet>();
  set->generation = table.generation;
  set->serial = serial;
  set->region_use = regionUse(t);
  set->zone = compileZone(t, serial, set->region_use);
  RegistryIndex::Batch names;
  for (uint32_t g = 0; g < t.registries.size(); ++g) names.set(t.registries[g].name, g);
  set->index = std::make_shared<const RegistryIndex>(RegistryIndex::build(names));
  const auto n = static_cast<uint32_t>(t.registries.size());
  std::vector<std::shared_ptr<const RegistryAnswers>> out(n);
  std::vector<uint32_t> todo;
  for (uint32_t g = 0; g < n; ++g)
    if (!(out[g] = reuse ? reuse(g) : nullptr)) todo.push_back(g);
  // Registries compile independently from immutable inputs: a start-up of
  // 100,000 spreads over the cores (0.74 s on one, bench/RESULTS.md
  // "Scale"); a few stay on this thread.
  auto compile = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) out[todo[i]] = compileRegistry(t, *set->zone, todo[i], *table.registries[todo[i]]);
  };
  constexpr size_t kPerThread = 4096;
  threads = std::min<size_t>({threads, 8, todo.size() / kPerThread});
  if (threads <= 1) {
    compile(0, todo.size());
  } else {
    std::vector<std::thread> helpers;
    size_t step = (todo.size() + threads - 1) / threads;
    for (size_t k = 1; k < threads; ++k)
      helpers.emplace_back(compile, k * step, std::min(todo.size(), (k + 1) * step));
    compile(0, step);
    for (auto& h : helpers) h.join();
  }
  for (auto& a : out) set->registries.push_back(std::move(a));
  return set;
}

namespace {

// The names directly under the apex that are the zone's own (geo, data,
// the first label of an in-zone nameserver host): a registry by such a name
// shadows or uncovers one of the zone's names.
bool namesZoneLabel(const Topology& t, const std::string& registry) {
  if (registry == "geo" || registry == "data") return true;
  const size_t zone_len = t.zone.wire().size();
  for (const auto& ns : t.nameservers) {
    const std::string& wire = ns.name.wire();
    if (!ns.name.isSubdomainOf(t.zone) || wire.size() <= zone_len) continue;
    // The label just above the apex: the last one before the zone's.
    size_t at = 0;
    while (at + 1u + static_cast<uint8_t>(wire[at]) + zone_len < wire.size()) at += 1u + static_cast<uint8_t>(wire[at]);
    if (std::string_view(wire).substr(at + 1, static_cast<uint8_t>(wire[at])) == registry) return true;
  }
  return false;
}

}  // namespace

std::shared_ptr<const AnswerSet> compileEdit(const Topology& before, const Topology& t, const AnswerSet& previous,
                                             const policy::RoutingTable& table, uint32_t serial,
                                             const policy::SlotEdit& slots,
                                             const std::vector<std::string>& edited) {
  auto set = std::make_shared<AnswerSet>(previous);
  set->generation = table.generation;
  set->serial = serial;
  // The regions' use moves by what the edited registries took and brought.
  bool rezone = false;
  for (const auto& name : edited) {
    if (auto g = before.registryIndex(name)) countUse(set->region_use, before.registries[*g], -1);
    if (auto g = t.registryIndex(name)) countUse(set->region_use, t.registries[*g], +1);
    rezone = rezone || namesZoneLabel(t, name);
  }
  for (size_t i = 0; i < t.regions.size(); ++i)
    rezone = rezone || (set->region_use.geo[i] == 0) != (previous.region_use.geo[i] == 0) ||
             (set->region_use.data[i] == 0) != (previous.region_use.data[i] == 0);
  // The zone's own names are a few dozen, but they hold the client map:
  // kept unless the edit changed which of them exist.
  if (rezone) set->zone = compileZone(t, serial, set->region_use);
  slots.applyShared(set->registries);
  RegistryIndex::Batch names;
  for (const auto& name : edited)
    if (!t.registryIndex(name)) names.erase(name);
  // Each removed slot took the last registry: whatever now stands there is
  // indexed anew (a moved registry keeps its answers).
  for (uint32_t slot : slots.removed)
    if (slot < slots.kept) names.set(t.registries[slot].name, slot);
  for (uint32_t g = slots.kept; g < t.registries.size(); ++g) {
    names.set(t.registries[g].name, g);
    set->registries.push_back(compileRegistry(t, *set->zone, g, *table.registries[g]));
  }
  auto index = std::make_shared<RegistryIndex>(*previous.index);
  index->apply(names);
  set->index = std::move(index);
  return set;
}

}  // namespace switchyard::dns
