// ControlMetrics: the routing metrics the control thread keeps (probe results,
// routing changes, transitions, purge latency), and the /metrics page, which
// adds the DNS workers' counters and the Router's current state.
// Families: CONTRACTS.md §6, plus switchyard_health_transitions_total (so a
// flap shorter than a scrape interval still shows), switchyard_probe_stalled,
// switchyard_dns_dropped_total, switchyard_dns_truncated_total,
// switchyard_dns_tcp_paused_total, switchyard_overrides_orphaned and the
// scrape path's own switchyard_metrics_renders_total / _render_seconds.
// Thread safety: owned by the control thread; render() runs there too.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "control/router.h"
#include "dns/worker_stats.h"
#include "health/freshness_monitor.h"
#include "health/probe_result.h"
#include "metrics/histogram.h"

namespace switchyard::control {

class ControlMetrics {
 public:
  ControlMetrics();
  void probe(const std::string& registry, const std::string& replica, const health::ProbeReport& report);
  void change(const PairChange& change, const Router& router);
  void setStalled(bool stalled) { stalled_ = stalled; }

  std::string render(const Router& router, const std::vector<const dns::WorkerStats*>& workers) const;
  // Fleet mode's families (switchyard_fleet_*).
  static std::string renderFleet(const std::string& node, bool connected, size_t live_nodes, int64_t revision);
  // Replication freshness (switchyard_replica_freshness, _seconds_behind) of
  // the registries with freshness, from their last rounds.
  static std::string renderFreshness(const std::map<std::string, health::FreshnessReport>& reports);
  // The scrape path's own cost: renders so far (scrape_cache.h) and how long
  // the previous render held the control loop.
  static std::string renderScrapes(uint64_t renders, double last_render_seconds);

 private:
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> probes_;  // registry, replica, result
  std::map<std::string, std::unique_ptr<metrics::Histogram>> probe_seconds_;      // by replica (region)
  std::map<std::pair<std::string, std::string>, uint64_t> routing_changes_;       // registry, cause
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> transitions_;  // registry, replica, to
  std::map<std::string, uint64_t> fail_open_;
  std::map<std::string, bool> in_fail_open_;
  metrics::Histogram purge_;
  bool stalled_ = false;
};

}  // namespace switchyard::control
