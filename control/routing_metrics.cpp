#include "control/routing_metrics.h"

namespace switchyard::control {

RoutingMetrics RoutingMetrics::take(const Router& router) {
  RoutingMetrics m;
  m.topology_ = router.topologyPtr();
  m.table_ = router.table();
  const auto& states = router.states();
  const auto& faults = router.faults();
  size_t pairs = 0;
  for (const auto& reg : states) pairs += reg.size();
  m.pairs_.reserve(pairs);
  for (size_t g = 0; g < states.size(); ++g)
    for (size_t r = 0; r < states[g].size(); ++r) {
      const auto& s = states[g][r];
      Fault f = faults[g][r];
      bool up = failsHealth(f) ? false : f == Fault::Throttled ? true : s.health != policy::Health::Down;
      m.pairs_.push_back(static_cast<uint8_t>((up ? kUp : 0) | (s.global_endpoint_routing ? kRouting : 0)));
    }
  return m;
}

void RoutingMetrics::write(metrics::Exposition& out) const {
  using metrics::FamilyParts;
  using prometheus::MetricType;
  const auto& t = *topology_;
  const auto& table = *table_;
  {
    FamilyParts up(out, "switchyard_replica_up",
                   "1 when the replica is healthy for the registry (faults included), else 0.", MetricType::Gauge);
    size_t p = 0;
    for (const auto& reg : t.registries)
      for (const auto& rep : reg.replicas)
        up.sample({{"registry", reg.name}, {"replica", t.regions[rep.region].name}}, (pairs_[p++] & kUp) ? 1 : 0);
    up.finish();
  }
  {
    FamilyParts routing(out, "switchyard_replica_global_routing",
                        "The operator flag globalEndpointRouting (1 on, 0 off).", MetricType::Gauge);
    size_t p = 0;
    for (const auto& reg : t.registries)
      for (const auto& rep : reg.replicas)
        routing.sample({{"registry", reg.name}, {"replica", t.regions[rep.region].name}},
                       (pairs_[p++] & kRouting) ? 1 : 0);
    routing.finish();
  }
  {
    FamilyParts serving(out, "switchyard_replica_serving_clients",
                        "Client regions whose global answer includes the replica.", MetricType::Gauge);
    std::vector<int> clients;
    for (uint32_t g = 0; g < t.registries.size(); ++g) {
      const auto& reg = t.registries[g];
      clients.assign(reg.replicas.size(), 0);
      for (const auto& route : table.registries[g]->clients)
        for (const auto& c : route.replicas)
          if (c.replica < clients.size()) ++clients[c.replica];
      for (uint32_t r = 0; r < reg.replicas.size(); ++r)
        serving.sample({{"registry", reg.name}, {"replica", t.regions[reg.replicas[r].region].name}}, clients[r]);
    }
    serving.finish();
  }
  // Per registry, how many client regions are answered for each reason: a
  // failover or fail-open is visible (and alertable) while it lasts.
  FamilyParts reasons(out, "switchyard_registry_clients",
                      "Client regions of a registry by routing reason (nearest, failover-spread, fail-open, servfail).",
                      MetricType::Gauge);
  std::vector<bool> is_client(t.regions.size(), false);
  is_client[t.default_region] = true;
  for (const auto& n : t.networks) is_client[n.region] = true;
  static const char* const kReasons[4] = {"nearest", "failover-spread", "fail-open", "servfail"};
  for (uint32_t g = 0; g < t.registries.size(); ++g) {
    int count[4] = {0, 0, 0, 0};
    const auto& routes = table.registries[g]->clients;
    for (uint32_t c = 0; c < routes.size() && c < is_client.size(); ++c) {
      if (!is_client[c]) continue;
      if (routes[c].replicas.empty()) ++count[3];
      else if (routes[c].replicas[0].reason == policy::Reason::Nearest) ++count[0];
      else if (routes[c].replicas[0].reason == policy::Reason::FailoverSpread) ++count[1];
      else ++count[2];
    }
    for (int i = 0; i < 4; ++i)
      reasons.sample({{"registry", t.registries[g].name}, {"reason", kReasons[i]}}, count[i]);
  }
  reasons.finish();
}

}  // namespace switchyard::control
