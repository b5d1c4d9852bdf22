#include "control/control_metrics.h"

#include <algorithm>
#include <unordered_set>

namespace switchyard::control {

namespace {

bool anyFailOpen(const Router& router, uint32_t g) {
  for (const auto& route : router.table()->registries[g]->clients)
    for (const auto& c : route.replicas)
      if (c.reason == policy::Reason::FailOpen) return true;
  return false;
}

template <typename Builder>
auto& build(Builder builder, const char* name, const char* help, prometheus::Registry& r) {
  return builder.Name(name).Help(help).Register(r);
}

const std::vector<double>& probeBounds() {
  static const auto b = metrics::exponentialBounds(0.001, 2.5, 10);
  return b;
}

const std::string& regionOf(const policy::Topology& t, const policy::Registry& reg, size_t r) {
  return t.regions[reg.replicas[r].region].name;
}

void copyPair(const PairCounters& from, PairCounters& to) {
  for (int i = 0; i < kProbeResults; ++i) to.probes[i].store(from.probes[i].load(std::memory_order_relaxed));
  for (int i = 0; i < kHealthStates; ++i) to.transitions[i].store(from.transitions[i].load(std::memory_order_relaxed));
  to.freshness.store(from.freshness.load(std::memory_order_relaxed));
  to.seconds_behind.store(from.seconds_behind.load(std::memory_order_relaxed));
}

uint32_t load(const std::atomic<uint32_t>& c) { return c.load(std::memory_order_relaxed); }

constexpr health::FreshnessState kFreshnessStates[] = {health::FreshnessState::Fresh, health::FreshnessState::Behind,
                                                       health::FreshnessState::Lagging,
                                                       health::FreshnessState::Unknown};

}  // namespace

int causeIndex(std::string_view cause) {
  for (int i = 0; i < kCauseCount; ++i)
    if (cause == kCauses[i]) return i;
  return -1;
}

ControlMetrics::ControlMetrics()
    : counters_(std::make_shared<CounterTable>()),
      registry_(std::make_shared<prometheus::Registry>()),
      probe_seconds_(build(prometheus::BuildHistogram(), "switchyard_probe_duration_seconds",
                           "How long health probes took.", *registry_)),
      purge_family_(build(prometheus::BuildHistogram(), "switchyard_purge_seconds",
                          "Time from a routing decision to every DNS worker answering with it.", *registry_)),
      fleet_connected_(build(prometheus::BuildGauge(), "switchyard_fleet_connected",
                             "1 while this node reaches etcd; 0: serving its last table.", *registry_)),
      stalled_(build(prometheus::BuildGauge(), "switchyard_probe_stalled",
                     "1 while the health watchdog sees no probe results.", *registry_)
                   .Add({})),
      generation_(build(prometheus::BuildGauge(), "switchyard_routing_generation",
                        "Generation of the routing table the DNS workers serve.", *registry_)
                      .Add({})),
      orphaned_(build(prometheus::BuildGauge(), "switchyard_overrides_orphaned",
                      "Operator decisions kept for pairs the config lacks (applied if the pair returns; GET "
                      "/v1/status lists them).",
                      *registry_)
                    .Add({})),
      purge_(purge_family_.Add({}, metrics::exponentialBounds(0.000005, 4, 10))),
      renders_(build(prometheus::BuildCounter(), "switchyard_metrics_renders_total",
                     "Renders of /metrics (scrapes within 1 s share one).", *registry_)
                   .Add({})),
      render_seconds_(build(prometheus::BuildGauge(), "switchyard_metrics_render_seconds",
                            "How long the previous /metrics render held the control loop.", *registry_)
                          .Add({})),
      fleet_live_(build(prometheus::BuildGauge(), "switchyard_fleet_live_nodes",
                        "Fleet nodes whose lease is alive, as last seen in etcd.", *registry_)),
      fleet_revision_(build(prometheus::BuildGauge(), "switchyard_fleet_revision",
                            "The etcd revision this node's routing reflects.", *registry_)),
      resolver_seconds_(build(prometheus::BuildHistogram(), "switchyard_resolver_purge_seconds",
                              "Time from a routing decision to a caching resolver's ok for its cache flush.",
                              *registry_)),
      resolver_errors_(build(prometheus::BuildCounter(), "switchyard_resolver_purge_errors_total",
                             "Failed cache flush attempts at a caching resolver, by reason.", *registry_)),
      resolver_up_(build(prometheus::BuildGauge(), "switchyard_resolver_up",
                         "1 when the last cache flush attempt at the resolver succeeded, else 0.", *registry_)) {}

PairCounters* ControlMetrics::pair(const std::string& registry, const std::string& replica) {
  if (!topology_) return nullptr;
  auto g = topology_->registryIndex(registry);
  if (!g) return nullptr;
  const auto& reg = topology_->registries[*g];
  for (size_t r = 0; r < reg.replicas.size(); ++r)
    if (regionOf(*topology_, reg, r) == replica) return &(*counters_)[*g]->pairs[r];
  return nullptr;
}

RegistryCounters* ControlMetrics::registryCounters(const std::string& registry) {
  auto g = topology_ ? topology_->registryIndex(registry) : std::nullopt;
  return g ? (*counters_)[*g].get() : nullptr;
}

void ControlMetrics::probe(const std::string& registry, const std::string& replica, const health::ProbeReport& r) {
  auto* p = pair(registry, replica);
  if (!p) return;  // a report from before a reload that removed the pair
  bump(p->probes[static_cast<int>(r.result)]);
  auto& h = probe_seconds_by_region_[replica];
  if (!h) h = &probe_seconds_.Add({{"replica", replica}}, probeBounds());
  h->Observe(r.seconds);
}

void ControlMetrics::change(const PairChange& c, const Router& router) {
  if (c.cause == "health")
    if (auto* p = pair(c.registry, c.replica)) bump(p->transitions[static_cast<int>(c.state.health)]);
  if (!c.routing_changed) return;
  if (c.purge_seconds >= 0) purge_.Observe(c.purge_seconds);
  auto* reg = registryCounters(c.registry);
  if (!reg) return;
  if (int cause = causeIndex(c.cause); cause >= 0) bump(reg->changes[cause]);
  auto g = router.topology().registryIndex(c.registry);
  if (!g) return;
  bool now = anyFailOpen(router, *g);
  if (now && !reg->in_fail_open) bump(reg->fail_open);
  reg->in_fail_open = now;
}

void ControlMetrics::freshness(const std::string& registry, const std::string& replica,
                               const health::FreshnessStatus& status) {
  auto* p = pair(registry, replica);
  if (!p) return;
  p->freshness.store(static_cast<uint8_t>(status.state), std::memory_order_relaxed);
  p->seconds_behind.store(status.seconds_behind, std::memory_order_relaxed);
}

void ControlMetrics::forgetFreshness(const std::string& registry) {
  if (auto* reg = registryCounters(registry))
    for (auto& p : reg->pairs) p.freshness.store(PairCounters::kNoFreshness, std::memory_order_relaxed);
}

void ControlMetrics::setStalled(bool stalled) { stalled_.Set(stalled ? 1 : 0); }

std::shared_ptr<RegistryCounters> ControlMetrics::carried(const policy::Registry& old_reg,
                                                          const std::shared_ptr<RegistryCounters>& old,
                                                          const policy::Topology& t, const policy::Registry& reg,
                                                          bool same_regions) const {
  bool same = old_reg.replicas.size() == reg.replicas.size();
  for (size_t r = 0; same && r < reg.replicas.size(); ++r)
    same = same_regions ? old_reg.replicas[r].region == reg.replicas[r].region
                        : regionOf(*topology_, old_reg, r) == regionOf(t, reg, r);
  if (same) return old;  // shared with scrapes of the old table: the same atomics
  auto fresh = std::make_shared<RegistryCounters>(reg.replicas.size());
  fresh->fail_open.store(load(old->fail_open));
  for (int i = 0; i < kCauseCount; ++i) fresh->changes[i].store(load(old->changes[i]));
  fresh->in_fail_open = old->in_fail_open;
  for (size_t r = 0; r < reg.replicas.size(); ++r)
    for (size_t o = 0; o < old_reg.replicas.size(); ++o)
      if (regionOf(*topology_, old_reg, o) == regionOf(t, reg, r)) copyPair(old->pairs[o], fresh->pairs[r]);
  return fresh;
}

void ControlMetrics::retainEdit(config::TopologyPtr t, const policy::SlotEdit& slots,
                                const std::unordered_set<std::string>& edited) {
  // The edited registries' counters as they were: a registry that stays
  // (a replica added or removed) keeps its counts.
  std::unordered_map<std::string, uint32_t> was;
  for (const auto& name : edited)
    if (auto g = topology_->registryIndex(name)) was.emplace(name, *g);
  auto next = std::make_shared<CounterTable>(*counters_);
  slots.applyShared(*next);
  for (uint32_t g = slots.kept; g < t->registries.size(); ++g) {
    const auto& reg = t->registries[g];
    auto it = was.find(reg.name);
    if (it == was.end()) next->push_back(std::make_shared<RegistryCounters>(reg.replicas.size()));
    else next->push_back(carried(topology_->registries[it->second], (*counters_)[it->second], *t, reg, true));
  }
  // A catalog edit keeps the region list: the replicas per region move by
  // what the edited registries took and brought, and a region left without
  // any loses its probe durations' series.
  bool emptied = false;
  for (const auto& name : edited) {
    if (auto g = topology_->registryIndex(name))
      for (const auto& rep : topology_->registries[*g].replicas) emptied |= --region_replicas_[rep.region] == 0;
    if (auto g = t->registryIndex(name))
      for (const auto& rep : t->registries[*g].replicas) ++region_replicas_[rep.region];
  }
  topology_ = std::move(t);
  counters_ = std::move(next);
  if (emptied) dropUnusedRegions();
}

void ControlMetrics::retain(config::TopologyPtr t) {
  auto next = std::make_shared<CounterTable>();
  next->reserve(t->registries.size());
  // By region index, not name: 500,000 pairs hashed as strings were most of
  // this at 100,000 registries.
  std::vector<size_t> used(t->regions.size());
  // The same region list (always so for a catalog edit): indices compare.
  const bool same_regions =
      topology_ && topology_->regions.size() == t->regions.size() &&
      std::equal(t->regions.begin(), t->regions.end(), topology_->regions.begin(),
                 [](const policy::Region& a, const policy::Region& b) { return a.name == b.name; });
  const std::vector<uint32_t> was_at =
      topology_ ? policy::previousIndices(*topology_, *t) : std::vector<uint32_t>(t->registries.size(), policy::kNoIndex);
  for (size_t g = 0; g < t->registries.size(); ++g) {
    const auto& reg = t->registries[g];
    for (const auto& rep : reg.replicas) ++used[rep.region];
    std::optional<uint32_t> og;
    if (was_at[g] != policy::kNoIndex) og = was_at[g];
    if (!og) {
      next->push_back(std::make_shared<RegistryCounters>(reg.replicas.size()));
      continue;
    }
    next->push_back(carried(topology_->registries[*og], (*counters_)[*og], *t, reg, same_regions));
  }
  topology_ = std::move(t);
  counters_ = std::move(next);
  region_replicas_ = std::move(used);
  dropUnusedRegions();
}

void ControlMetrics::dropUnusedRegions() {
  std::unordered_set<std::string> regions;
  for (size_t i = 0; i < region_replicas_.size(); ++i)
    if (region_replicas_[i]) regions.insert(topology_->regions[i].name);
  for (auto it = probe_seconds_by_region_.begin(); it != probe_seconds_by_region_.end();) {
    if (regions.count(it->first)) {
      ++it;
      continue;
    }
    probe_seconds_.Remove(it->second);  // a handful of regions: the linear Remove is nothing here
    it = probe_seconds_by_region_.erase(it);
  }
}

void ControlMetrics::scraped(const Router& router, double last_render_seconds) {
  generation_.Set(static_cast<double>(router.table()->generation));
  orphaned_.Set(static_cast<double>(router.orphanedOverrides().size()));
  renders_.Increment();
  render_seconds_.Set(last_render_seconds);
}

ControlMetrics::ResolverSeries& ControlMetrics::resolverSeries(const std::string& name) {
  static const auto bounds = metrics::exponentialBounds(0.0005, 2, 14);  // 0.5 ms .. 4 s
  auto& s = resolvers_[name];
  if (!s.seconds) s.seconds = &resolver_seconds_.Add({{"resolver", name}}, bounds);
  return s;
}

void ControlMetrics::resolverPurge(const PurgeReport& r) {
  auto& s = resolverSeries(r.resolver);
  if (!s.up) s.up = &resolver_up_.Add({{"resolver", r.resolver}});
  s.up->Set(r.ok ? 1 : 0);
  if (r.ok) {
    s.seconds->Observe(r.seconds);
    return;
  }
  auto& c = s.errors[r.reason];
  if (!c) c = &resolver_errors_.Add({{"resolver", r.resolver}, {"reason", r.reason}});
  c->Increment();
}

void ControlMetrics::retainResolvers(const std::vector<policy::CachingResolver>& resolvers) {
  for (auto it = resolvers_.begin(); it != resolvers_.end();) {
    bool keep = std::any_of(resolvers.begin(), resolvers.end(), [&](const auto& r) { return r.name == it->first; });
    if (keep) {
      ++it;
      continue;
    }
    resolver_seconds_.Remove(it->second.seconds);
    if (it->second.up) resolver_up_.Remove(it->second.up);
    for (auto& [reason, c] : it->second.errors) resolver_errors_.Remove(c);
    it = resolvers_.erase(it);
  }
  for (const auto& r : resolvers) resolverSeries(r.name);
}

void ControlMetrics::fleet(const std::string& node, bool connected, size_t live_nodes, int64_t revision) {
  if (!fleet_connected_gauge_ || node != fleet_node_) {
    if (fleet_connected_gauge_) fleet_connected_.Remove(fleet_connected_gauge_);
    fleet_connected_gauge_ = &fleet_connected_.Add({{"node", node}});
    fleet_node_ = node;
  }
  fleet_connected_gauge_->Set(connected ? 1 : 0);
  fleet_live_.Add({}).Set(static_cast<double>(live_nodes));
  fleet_revision_.Add({}).Set(static_cast<double>(revision));
}

void ControlMetrics::writeEvents(const EventSnapshot& s, metrics::Exposition& out) {
  using metrics::FamilyParts;
  using prometheus::MetricType;
  if (!s.topology) return;
  const auto& t = *s.topology;
  const auto& table = *s.counters;
  // One pass per family: a family's parts must not interleave with another's.
  auto eachPair = [&](auto f) {
    for (size_t g = 0; g < t.registries.size(); ++g)
      for (size_t r = 0; r < t.registries[g].replicas.size(); ++r)
        f(t.registries[g], regionOf(t, t.registries[g], r), table[g]->pairs[r]);
  };
  {
    FamilyParts f(out, "switchyard_probes_total", "Health probes by outcome.", MetricType::Counter);
    eachPair([&](const policy::Registry& reg, const std::string& replica, const PairCounters& p) {
      for (int i = 0; i < kProbeResults; ++i)
        if (uint32_t n = load(p.probes[i]))
          f.sample({{"registry", reg.name},
                    {"replica", replica},
                    {"result", health::resultName(static_cast<health::ProbeResult>(i))}},
                   n);
    });
    f.finish();
  }
  {
    FamilyParts f(out, "switchyard_health_transitions_total", "Health state changes of a pair, by new state.",
                  MetricType::Counter);
    eachPair([&](const policy::Registry& reg, const std::string& replica, const PairCounters& p) {
      for (int i = 0; i < kHealthStates; ++i)
        if (uint32_t n = load(p.transitions[i]))
          f.sample({{"registry", reg.name}, {"replica", replica}, {"to", policy::healthName(static_cast<policy::Health>(i))}},
                   n);
    });
    f.finish();
  }
  {
    FamilyParts f(out, "switchyard_routing_changes_total", "Changes of a registry's global routing, by cause.",
                  MetricType::Counter);
    for (size_t g = 0; g < t.registries.size(); ++g)
      for (int i = 0; i < kCauseCount; ++i)
        if (uint32_t n = load(table[g]->changes[i])) f.sample({{"registry", t.registries[g].name}, {"cause", kCauses[i]}}, n);
    f.finish();
  }
  {
    FamilyParts f(out, "switchyard_fail_open_total", "Times a registry entered fail-open (no eligible replica).",
                  MetricType::Counter);
    for (size_t g = 0; g < t.registries.size(); ++g)
      f.sample({{"registry", t.registries[g].name}}, load(table[g]->fail_open));
    f.finish();
  }
  bool any_freshness = false;
  eachPair([&](const policy::Registry&, const std::string&, const PairCounters& p) {
    any_freshness = any_freshness || p.freshness.load(std::memory_order_relaxed) != PairCounters::kNoFreshness;
  });
  if (!any_freshness) return;  // as before: the freshness families appear with freshness
  {
    FamilyParts f(out, "switchyard_replica_freshness",
                  "Replication freshness of a replica's canaries: 1 for its current state (fresh, behind, lagging, "
                  "unknown).",
                  MetricType::Gauge);
    eachPair([&](const policy::Registry& reg, const std::string& replica, const PairCounters& p) {
      uint8_t state = p.freshness.load(std::memory_order_relaxed);
      if (state == PairCounters::kNoFreshness) return;
      for (auto st : kFreshnessStates)
        f.sample({{"registry", reg.name}, {"replica", replica}, {"state", health::freshnessName(st)}},
                 state == static_cast<uint8_t>(st) ? 1 : 0);
    });
    f.finish();
  }
  FamilyParts f(out, "switchyard_replica_seconds_behind",
                "How long the replica has served a canary digest other than the reference (0 when fresh).",
                MetricType::Gauge);
  eachPair([&](const policy::Registry& reg, const std::string& replica, const PairCounters& p) {
    if (p.freshness.load(std::memory_order_relaxed) != PairCounters::kNoFreshness)
      f.sample({{"registry", reg.name}, {"replica", replica}}, p.seconds_behind.load(std::memory_order_relaxed));
  });
  f.finish();
}

}  // namespace switchyard::control
