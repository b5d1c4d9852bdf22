// ControlMetrics: what the control thread counts as events happen, for
// /metrics. Two stores, by cardinality:
//   - per registry and per pair (probes, transitions, routing changes,
//     fail-open entries, freshness): EventCounters (event_counters.h says
//     why not prometheus-cpp Families at that size), written at scrape time
//     in parts by writeEvents();
//   - the rest, a handful of series each (probe durations per region, purge
//     latency, the watchdog, generation, orphaned overrides, the scrape
//     path's own, fleet state): prometheus-cpp Family<Counter|Gauge|Histogram>
//     in one prometheus::Registry.
// The page adds query_metrics.h (the DNS workers) and routing_metrics.h (the
// Router's state per pair); metrics_scrape.h puts them together.
//
// Families: CONTRACTS.md §6, plus switchyard_health_transitions_total (so a
// flap shorter than a scrape interval still shows), switchyard_probe_stalled,
// switchyard_overrides_orphaned, the scrape path's own
// switchyard_metrics_renders_total / _render_seconds, and the resolver
// flushes' switchyard_resolver_purge_seconds{resolver},
// _resolver_purge_errors_total{resolver,reason} and _resolver_up{resolver}.
//
// Thread safety: every method but writeEvents() and registry() runs on the
// control thread. registry() may be collected from any thread meanwhile
// (prometheus-cpp's Registry and Family lock; Counter and Gauge are atomics);
// an EventSnapshot is written on any thread (single-writer atomics).
// Invariants:
//   1. The counter table is aligned with the topology last given to
//      retain(): a reload's removed pairs and registries have no counters, so
//      their series are gone from the next page; a removed region's probe
//      duration series is removed from its Family.
//   2. switchyard_fail_open_total has a series (from 0) for every registry,
//      so increase() sees the first entry.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_set>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "config/config_loader.h"
#include "control/event_counters.h"
#include "control/resolver_purger.h"
#include "control/router.h"
#include "health/freshness_monitor.h"
#include "health/probe_result.h"
#include "metrics/exposition.h"

namespace switchyard::control {

class ControlMetrics {
 public:
  // What writeEvents() reads: the counters and the topology they follow.
  struct EventSnapshot {
    config::TopologyPtr topology;
    std::shared_ptr<const CounterTable> counters;
  };

  ControlMetrics();
  // Reports and changes of pairs the topology lacks (queued before a
  // reload) are dropped.
  void probe(const std::string& registry, const std::string& replica, const health::ProbeReport& report);
  void change(const PairChange& change, const Router& router);
  void freshness(const std::string& registry, const std::string& replica, const health::FreshnessStatus& status);
  // The registry's freshness checks were turned off.
  void forgetFreshness(const std::string& registry);
  void setStalled(bool stalled);
  // After a reload (and at start, REQUIRES: before any event): the counters
  // follow `topology` by name; what it lacks goes. O(pairs).
  void retain(config::TopologyPtr topology);
  // The same after a catalog edit (config::editCatalog's slot moves from
  // the topology last given): O(edited).
  void retainEdit(config::TopologyPtr topology, const policy::SlotEdit& slots,
                  const std::unordered_set<std::string>& edited);

  // A scrape's render begins: the gauges read at scrape time are set (on the
  // control thread) just before the page collects them.
  void scraped(const Router& router, double last_render_seconds);
  void fleet(const std::string& node, bool connected, size_t live_nodes, int64_t revision);
  // announce.resolvers (resolver_purger.h): one flush attempt's outcome.
  void resolverPurge(const PurgeReport& report);
  // The configured resolvers: the series of removed ones go.
  void retainResolvers(const std::vector<policy::CachingResolver>& resolvers);

  EventSnapshot events() const { return {topology_, counters_}; }
  static void writeEvents(const EventSnapshot& snapshot, metrics::Exposition& out);
  std::shared_ptr<const prometheus::Registry> registry() const { return registry_; }

 private:
  PairCounters* pair(const std::string& registry, const std::string& replica);
  // `old` (the counters of `old_reg`, of topology_) for `reg` of `t`: the
  // same counters when its replicas are, else fresh ones with the
  // registry's counts and the staying pairs' copied.
  std::shared_ptr<RegistryCounters> carried(const policy::Registry& old_reg, const std::shared_ptr<RegistryCounters>& old,
                                            const policy::Topology& t, const policy::Registry& reg,
                                            bool same_regions) const;
  RegistryCounters* registryCounters(const std::string& registry);

  config::TopologyPtr topology_;
  std::shared_ptr<CounterTable> counters_;
  std::vector<size_t> region_replicas_;  // per region of topology_: its replicas in every registry
  // Removes the probe duration series of regions without a replica.
  void dropUnusedRegions();

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Histogram>& probe_seconds_;
  prometheus::Family<prometheus::Histogram>& purge_family_;
  prometheus::Family<prometheus::Gauge>& fleet_connected_;
  prometheus::Gauge& stalled_;
  prometheus::Gauge& generation_;
  prometheus::Gauge& orphaned_;
  prometheus::Histogram& purge_;
  prometheus::Counter& renders_;
  prometheus::Gauge& render_seconds_;
  prometheus::Family<prometheus::Gauge>& fleet_live_;
  prometheus::Family<prometheus::Gauge>& fleet_revision_;

  std::map<std::string, prometheus::Histogram*> probe_seconds_by_region_;
  struct ResolverSeries {
    prometheus::Histogram* seconds = nullptr;
    prometheus::Gauge* up = nullptr;
    std::map<std::string, prometheus::Counter*> errors;  // by reason
  };
  prometheus::Family<prometheus::Histogram>& resolver_seconds_;
  prometheus::Family<prometheus::Counter>& resolver_errors_;
  prometheus::Family<prometheus::Gauge>& resolver_up_;
  std::map<std::string, ResolverSeries> resolvers_;
  ResolverSeries& resolverSeries(const std::string& name);
  std::string fleet_node_;
  prometheus::Gauge* fleet_connected_gauge_ = nullptr;
};

}  // namespace switchyard::control
