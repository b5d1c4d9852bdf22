#include "control/control_metrics.h"

#include <unordered_set>

#include "metrics/exposition.h"

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

}  // namespace

ControlMetrics::ControlMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      probes_(build(prometheus::BuildCounter(), "switchyard_probes_total", "Health probes by outcome.", *registry_)),
      probe_seconds_(build(prometheus::BuildHistogram(), "switchyard_probe_duration_seconds",
                           "How long health probes took.", *registry_)),
      transitions_(build(prometheus::BuildCounter(), "switchyard_health_transitions_total",
                         "Health state changes of a pair, by new state.", *registry_)),
      routing_changes_(build(prometheus::BuildCounter(), "switchyard_routing_changes_total",
                             "Changes of a registry's global routing, by cause.", *registry_)),
      purge_family_(build(prometheus::BuildHistogram(), "switchyard_purge_seconds",
                          "Time from a routing decision to every DNS worker answering with it.", *registry_)),
      fail_open_(build(prometheus::BuildCounter(), "switchyard_fail_open_total",
                       "Times a registry entered fail-open (no eligible replica).", *registry_)),
      freshness_(build(prometheus::BuildGauge(), "switchyard_replica_freshness",
                       "Replication freshness of a replica's canaries: 1 for its current state (fresh, behind, "
                       "lagging, unknown).",
                       *registry_)),
      seconds_behind_(build(prometheus::BuildGauge(), "switchyard_replica_seconds_behind",
                            "How long the replica has served a canary digest other than the reference (0 when fresh).",
                            *registry_)),
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
                            "The etcd revision this node's routing reflects.", *registry_)) {}

void ControlMetrics::probe(const std::string& registry, const std::string& replica, const health::ProbeReport& r) {
  auto& s = pairs_[{registry, replica}];
  const char* result = health::resultName(r.result);
  auto& c = s.probes[result];
  if (!c) c = &probes_.Add({{"registry", registry}, {"replica", replica}, {"result", result}});
  c->Increment();
  auto& h = probe_seconds_by_region_[replica];
  if (!h) h = &probe_seconds_.Add({{"replica", replica}}, probeBounds());
  h->Observe(r.seconds);
}

ControlMetrics::RegistrySeries& ControlMetrics::registrySeries(const std::string& registry) {
  auto& s = registries_[registry];
  if (!s.fail_open) s.fail_open = &fail_open_.Add({{"registry", registry}});
  return s;
}

void ControlMetrics::change(const PairChange& c, const Router& router) {
  if (c.cause == "health") {
    const char* to = policy::healthName(c.state.health);
    auto& t = pairs_[{c.registry, c.replica}].transitions[to];
    if (!t) t = &transitions_.Add({{"registry", c.registry}, {"replica", c.replica}, {"to", to}});
    t->Increment();
  }
  if (!c.routing_changed) return;
  auto& reg = registrySeries(c.registry);
  auto& changes = reg.changes[c.cause];
  if (!changes) changes = &routing_changes_.Add({{"registry", c.registry}, {"cause", c.cause}});
  changes->Increment();
  if (c.purge_seconds >= 0) purge_.Observe(c.purge_seconds);
  auto g = router.topology().registryIndex(c.registry);
  if (!g) return;
  bool now = anyFailOpen(router, *g);
  if (now && !reg.in_fail_open) reg.fail_open->Increment();
  reg.in_fail_open = now;
}

void ControlMetrics::freshness(const std::string& registry, const std::string& replica,
                               const health::FreshnessStatus& status) {
  auto& s = pairs_[{registry, replica}];
  for (auto state : {health::FreshnessState::Fresh, health::FreshnessState::Behind, health::FreshnessState::Lagging,
                     health::FreshnessState::Unknown}) {
    const char* name = health::freshnessName(state);
    auto& g = s.freshness[name];
    if (!g) g = &freshness_.Add({{"registry", registry}, {"replica", replica}, {"state", name}});
    g->Set(status.state == state ? 1 : 0);
  }
  if (!s.seconds_behind) s.seconds_behind = &seconds_behind_.Add({{"registry", registry}, {"replica", replica}});
  s.seconds_behind->Set(status.seconds_behind);
}

void ControlMetrics::removeFreshness(PairSeries& s) {
  for (auto& [state, g] : s.freshness) freshness_.Remove(g);
  s.freshness.clear();
  if (s.seconds_behind) seconds_behind_.Remove(s.seconds_behind);
  s.seconds_behind = nullptr;
}

void ControlMetrics::forgetFreshness(const std::string& registry) {
  for (auto it = pairs_.lower_bound({registry, ""}); it != pairs_.end() && it->first.first == registry; ++it)
    removeFreshness(it->second);
}

void ControlMetrics::removePair(PairSeries& s) {
  for (auto& [result, c] : s.probes) probes_.Remove(c);
  for (auto& [to, c] : s.transitions) transitions_.Remove(c);
  removeFreshness(s);
}

void ControlMetrics::setStalled(bool stalled) { stalled_.Set(stalled ? 1 : 0); }

void ControlMetrics::retain(const policy::Topology& t) {
  std::unordered_set<std::string> regions;
  for (const auto& reg : t.registries)
    for (const auto& r : reg.replicas) regions.insert(t.regions[r.region].name);
  for (auto it = pairs_.begin(); it != pairs_.end();) {
    auto g = t.registryIndex(it->first.first);
    bool keep = false;
    if (g)
      for (const auto& r : t.registries[*g].replicas) keep = keep || t.regions[r.region].name == it->first.second;
    if (keep) {
      ++it;
      continue;
    }
    removePair(it->second);
    it = pairs_.erase(it);
  }
  for (auto it = registries_.begin(); it != registries_.end();) {
    if (t.registryIndex(it->first)) {
      ++it;
      continue;
    }
    fail_open_.Remove(it->second.fail_open);
    for (auto& [cause, c] : it->second.changes) routing_changes_.Remove(c);
    it = registries_.erase(it);
  }
  for (const auto& reg : t.registries) registrySeries(reg.name);
  for (auto it = probe_seconds_by_region_.begin(); it != probe_seconds_by_region_.end();) {
    if (regions.count(it->first)) {
      ++it;
      continue;
    }
    probe_seconds_.Remove(it->second);
    it = probe_seconds_by_region_.erase(it);
  }
}

void ControlMetrics::scraped(const Router& router, double last_render_seconds) {
  generation_.Set(static_cast<double>(router.table()->generation));
  orphaned_.Set(static_cast<double>(router.orphanedOverrides().size()));
  renders_.Increment();
  render_seconds_.Set(last_render_seconds);
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

}  // namespace switchyard::control
