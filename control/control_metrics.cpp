#include "control/control_metrics.h"

#include "metrics/text_writer.h"

namespace switchyard::control {

namespace {

bool anyFailOpen(const Router& router, uint32_t g) {
  for (const auto& route : router.table()->registries[g]->clients)
    for (const auto& c : route.replicas)
      if (c.reason == policy::Reason::FailOpen) return true;
  return false;
}

}  // namespace

ControlMetrics::ControlMetrics() : purge_(metrics::Histogram::exponential(0.000005, 4, 10)) {}

void ControlMetrics::probe(const std::string& registry, const std::string& replica, const health::ProbeReport& r) {
  ++probes_[{registry, replica, health::resultName(r.result)}];
  auto& h = probe_seconds_[replica];
  if (!h) h = std::make_unique<metrics::Histogram>(metrics::Histogram::exponential(0.001, 2.5, 10));
  h->observe(r.seconds);
}

void ControlMetrics::change(const PairChange& c, const Router& router) {
  if (c.cause == "health") ++transitions_[{c.registry, c.replica, policy::healthName(c.state.health)}];
  if (!c.routing_changed) return;
  ++routing_changes_[{c.registry, c.cause}];
  if (c.purge_seconds >= 0) purge_.observe(c.purge_seconds);
  auto g = router.topology().registryIndex(c.registry);
  if (!g) return;
  bool now = anyFailOpen(router, *g);
  if (now && !in_fail_open_[c.registry]) ++fail_open_[c.registry];
  in_fail_open_[c.registry] = now;
}

std::string ControlMetrics::render(const Router& router, const std::vector<const dns::WorkerStats*>& workers) const {
  using metrics::Labels;
  metrics::TextWriter w;
  const auto& t = router.topology();
  const auto& table = *router.table();

  w.family("switchyard_dns_queries_total", "DNS queries answered, by endpoint class and response code.", "counter");
  for (int e = 0; e < dns::WorkerStats::kEndpoints; ++e)
    for (int r = 0; r < dns::WorkerStats::kRcodes; ++r) {
      uint64_t sum = 0;
      for (const auto* s : workers) sum += s->queries[e][r].load(std::memory_order_relaxed);
      w.sample("switchyard_dns_queries_total",
               {{"endpoint", dns::WorkerStats::endpointLabel(e)}, {"rcode", dns::WorkerStats::rcodeLabel(r)}},
               static_cast<double>(sum));
    }
  uint64_t dropped = 0, truncated = 0, send_errors = 0, limited_dropped = 0, limited_slipped = 0, evicted = 0,
           paused = 0;
  for (const auto* s : workers) {
    evicted += s->tcp_evicted.load(std::memory_order_relaxed);
    paused += s->tcp_paused.load(std::memory_order_relaxed);
    limited_dropped += s->rate_limited_dropped.load(std::memory_order_relaxed);
    limited_slipped += s->rate_limited_slipped.load(std::memory_order_relaxed);
    dropped += s->dropped.load(std::memory_order_relaxed);
    send_errors += s->send_errors.load(std::memory_order_relaxed);
    truncated += s->truncated.load(std::memory_order_relaxed);
  }
  w.family("switchyard_dns_dropped_total", "Packets dropped without an answer (responses, runts).", "counter");
  w.sample("switchyard_dns_dropped_total", {}, static_cast<double>(dropped));
  w.family("switchyard_dns_send_errors_total", "UDP answers the kernel refused to send (not a full buffer).", "counter");
  w.sample("switchyard_dns_send_errors_total", {}, static_cast<double>(send_errors));
  w.family("switchyard_dns_truncated_total", "UDP answers sent truncated (TC) for a TCP retry.", "counter");
  w.sample("switchyard_dns_truncated_total", {}, static_cast<double>(truncated));
  w.family("switchyard_dns_tcp_evicted_total",
           "TCP connections closed because a serving thread was at listen.tcp.max_connections (the quietest goes).",
           "counter");
  w.sample("switchyard_dns_tcp_evicted_total", {}, static_cast<double>(evicted));
  w.family("switchyard_dns_tcp_paused_total",
           "Times a TCP connection stopped being read because its client was not taking its answers (backpressure).",
           "counter");
  w.sample("switchyard_dns_tcp_paused_total", {}, static_cast<double>(paused));
  w.family("switchyard_dns_rate_limited_total",
           "UDP answers past a client's rate limit (rate_limit): dropped, or slipped out truncated.", "counter");
  w.sample("switchyard_dns_rate_limited_total", {{"action", "dropped"}}, static_cast<double>(limited_dropped));
  w.sample("switchyard_dns_rate_limited_total", {{"action", "slipped"}}, static_cast<double>(limited_slipped));

  w.family("switchyard_replica_up", "1 when the replica is healthy for the registry (faults included), else 0.", "gauge");
  std::string up, routing, serving;
  metrics::TextWriter gr, sv;
  gr.family("switchyard_replica_global_routing", "The operator flag globalEndpointRouting (1 on, 0 off).", "gauge");
  sv.family("switchyard_replica_serving_clients", "Client regions whose global answer includes the replica.", "gauge");
  for (uint32_t g = 0; g < t.registries.size(); ++g) {
    const auto& reg = t.registries[g];
    for (uint32_t r = 0; r < reg.replicas.size(); ++r) {
      const std::string& region = t.regions[reg.replicas[r].region].name;
      Labels l{{"registry", reg.name}, {"replica", region}};
      auto s = *router.state(reg.name, region);
      Fault f = *router.fault(reg.name, region);
      bool healthy = failsHealth(f) ? false : f == Fault::Throttled ? true : s.health != policy::Health::Down;
      w.sample("switchyard_replica_up", l, healthy ? 1 : 0);
      gr.sample("switchyard_replica_global_routing", l, s.global_endpoint_routing ? 1 : 0);
      int clients = 0;
      for (const auto& route : table.registries[g]->clients)
        for (const auto& c : route.replicas) clients += c.replica == r;
      sv.sample("switchyard_replica_serving_clients", l, clients);
    }
  }
  // Per registry, how many client regions are answered for each reason: a
  // failover or fail-open is visible (and alertable) while it lasts.
  metrics::TextWriter rs;
  rs.family("switchyard_registry_clients",
            "Client regions of a registry by routing reason (nearest, failover-spread, fail-open, servfail).", "gauge");
  std::vector<bool> is_client(t.regions.size(), false);
  is_client[t.default_region] = true;
  for (const auto& n : t.networks) is_client[n.region] = true;
  for (uint32_t g = 0; g < t.registries.size(); ++g) {
    int count[4] = {0, 0, 0, 0};  // nearest, failover-spread, fail-open, servfail
    const auto& routes = table.registries[g]->clients;
    for (uint32_t c = 0; c < routes.size() && c < is_client.size(); ++c) {
      if (!is_client[c]) continue;
      if (routes[c].replicas.empty()) ++count[3];
      else if (routes[c].replicas[0].reason == policy::Reason::Nearest) ++count[0];
      else if (routes[c].replicas[0].reason == policy::Reason::FailoverSpread) ++count[1];
      else ++count[2];
    }
    const char* reasons[4] = {"nearest", "failover-spread", "fail-open", "servfail"};
    for (int i = 0; i < 4; ++i)
      rs.sample("switchyard_registry_clients", {{"registry", t.registries[g].name}, {"reason", reasons[i]}}, count[i]);
  }
  std::string out = w.text() + gr.text() + sv.text() + rs.text();

  metrics::TextWriter p;
  p.family("switchyard_probes_total", "Health probes by outcome.", "counter");
  for (const auto& [k, v] : probes_)
    p.sample("switchyard_probes_total",
             {{"registry", std::get<0>(k)}, {"replica", std::get<1>(k)}, {"result", std::get<2>(k)}},
             static_cast<double>(v));
  p.family("switchyard_probe_duration_seconds", "How long health probes took.", "histogram");
  for (const auto& [replica, h] : probe_seconds_)
    p.histogram("switchyard_probe_duration_seconds", {{"replica", replica}}, h->snapshot());
  p.family("switchyard_health_transitions_total", "Health state changes of a pair, by new state.", "counter");
  for (const auto& [k, v] : transitions_)
    p.sample("switchyard_health_transitions_total",
             {{"registry", std::get<0>(k)}, {"replica", std::get<1>(k)}, {"to", std::get<2>(k)}},
             static_cast<double>(v));
  p.family("switchyard_routing_changes_total", "Changes of a registry's global routing, by cause.", "counter");
  for (const auto& [k, v] : routing_changes_)
    p.sample("switchyard_routing_changes_total", {{"registry", k.first}, {"cause", k.second}}, static_cast<double>(v));
  p.family("switchyard_routing_generation", "Generation of the routing table the DNS workers serve.", "gauge");
  p.sample("switchyard_routing_generation", {}, static_cast<double>(table.generation));
  p.family("switchyard_purge_seconds", "Time from a routing decision to every DNS worker answering with it.",
           "histogram");
  p.histogram("switchyard_purge_seconds", {}, purge_.snapshot());
  p.family("switchyard_fail_open_total", "Times a registry entered fail-open (no eligible replica).", "counter");
  for (const auto& reg : t.registries) {
    auto it = fail_open_.find(reg.name);
    p.sample("switchyard_fail_open_total", {{"registry", reg.name}},
             static_cast<double>(it == fail_open_.end() ? 0 : it->second));
  }
  p.family("switchyard_probe_stalled", "1 while the health watchdog sees no probe results.", "gauge");
  p.sample("switchyard_probe_stalled", {}, stalled_ ? 1 : 0);
  p.family("switchyard_overrides_orphaned",
           "Operator decisions kept for pairs the config lacks (applied if the pair returns; GET /v1/status lists them).",
           "gauge");
  p.sample("switchyard_overrides_orphaned", {}, static_cast<double>(router.orphanedOverrides().size()));
  return out + p.text();
}

std::string ControlMetrics::renderScrapes(uint64_t renders, double last_render_seconds) {
  metrics::TextWriter w;
  w.family("switchyard_metrics_renders_total",
           "Renders of /metrics on the control loop (scrapes within 1 s share one).", "counter");
  w.sample("switchyard_metrics_renders_total", {}, static_cast<double>(renders));
  w.family("switchyard_metrics_render_seconds", "How long the previous /metrics render held the control loop.",
           "gauge");
  w.sample("switchyard_metrics_render_seconds", {}, last_render_seconds);
  return w.text();
}

std::string ControlMetrics::renderFleet(const std::string& node, bool connected, size_t live_nodes, int64_t revision) {
  metrics::TextWriter w;
  w.family("switchyard_fleet_connected", "1 while this node reaches etcd; 0: serving its last table.", "gauge");
  w.sample("switchyard_fleet_connected", {{"node", node}}, connected ? 1 : 0);
  w.family("switchyard_fleet_live_nodes", "Fleet nodes whose lease is alive, as last seen in etcd.", "gauge");
  w.sample("switchyard_fleet_live_nodes", {}, static_cast<double>(live_nodes));
  w.family("switchyard_fleet_revision", "The etcd revision this node's routing reflects.", "gauge");
  w.sample("switchyard_fleet_revision", {}, static_cast<double>(revision));
  return w.text();
}

std::string ControlMetrics::renderFreshness(const std::map<std::string, health::FreshnessReport>& reports) {
  if (reports.empty()) return "";
  metrics::TextWriter w, b;
  w.family("switchyard_replica_freshness",
           "Replication freshness of a replica's canaries: 1 for its current state (fresh, behind, lagging, unknown).",
           "gauge");
  b.family("switchyard_replica_seconds_behind",
           "How long the replica has served a canary digest other than the reference (0 when fresh).", "gauge");
  const health::FreshnessState states[] = {health::FreshnessState::Fresh, health::FreshnessState::Behind,
                                           health::FreshnessState::Lagging, health::FreshnessState::Unknown};
  for (const auto& [registry, report] : reports)
    for (size_t r = 0; r < report.regions.size(); ++r) {
      const auto& status = report.replicas[r];
      for (auto state : states)
        w.sample("switchyard_replica_freshness",
                 {{"registry", registry}, {"replica", report.regions[r]}, {"state", health::freshnessName(state)}},
                 status.state == state ? 1 : 0);
      b.sample("switchyard_replica_seconds_behind", {{"registry", registry}, {"replica", report.regions[r]}},
               status.seconds_behind);
    }
  return w.text() + b.text();
}

}  // namespace switchyard::control
