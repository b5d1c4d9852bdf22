// ControlMetrics: the families the control thread keeps as events happen
// (probe outcomes and durations, health transitions, routing changes, purge
// latency, fail-open entries, freshness, the watchdog, fleet and scrape
// state), as prometheus-cpp Family<Counter|Gauge|Histogram> in one
// prometheus::Registry. The page adds two scrape-time sources:
// query_metrics.h (the DNS workers' counters) and routing_metrics.h (the
// Router's current state per pair); metrics_scrape.h puts them together.
//
// Families: CONTRACTS.md §6, plus switchyard_health_transitions_total (so a
// flap shorter than a scrape interval still shows), switchyard_probe_stalled,
// switchyard_overrides_orphaned and the scrape path's own
// switchyard_metrics_renders_total / _render_seconds.
//
// Thread safety: the mutators run on the control thread. registry() may be
// collected from any thread at the same time (prometheus-cpp's Registry and
// Family lock; Counter and Gauge are atomics).
// Invariants:
//   1. Every series names a pair, registry or region of the topology last
//      given to retain() (or is label-free): a reload or a removal drops the
//      series of what went (Family::Remove), so no series goes stale.
//   2. switchyard_fail_open_total has a series (from 0) for every registry,
//      so increase() sees the first entry.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "control/router.h"
#include "health/freshness_monitor.h"
#include "health/probe_result.h"

namespace switchyard::control {

class ControlMetrics {
 public:
  ControlMetrics();
  void probe(const std::string& registry, const std::string& replica, const health::ProbeReport& report);
  void change(const PairChange& change, const Router& router);
  // One replica's freshness from a round (the caller skips pairs the
  // topology lacks).
  void freshness(const std::string& registry, const std::string& replica, const health::FreshnessStatus& status);
  // The registry's freshness checks were turned off.
  void forgetFreshness(const std::string& registry);
  void setStalled(bool stalled);
  // After a reload (and at start): drops the series of pairs, registries
  // and regions `topology` lacks; every registry gets its fail-open series.
  void retain(const policy::Topology& topology);

  // A scrape's render begins: the gauges read at scrape time are set (on the
  // control thread) just before the page collects them.
  void scraped(const Router& router, double last_render_seconds);
  void fleet(const std::string& node, bool connected, size_t live_nodes, int64_t revision);

  std::shared_ptr<const prometheus::Registry> registry() const { return registry_; }

 private:
  struct PairSeries {
    std::map<std::string, prometheus::Counter*> probes;       // by result
    std::map<std::string, prometheus::Counter*> transitions;  // by new state
    std::map<std::string, prometheus::Gauge*> freshness;      // by state
    prometheus::Gauge* seconds_behind = nullptr;
  };
  struct RegistrySeries {
    prometheus::Counter* fail_open = nullptr;
    bool in_fail_open = false;
    std::map<std::string, prometheus::Counter*> changes;  // by cause
  };
  void removePair(PairSeries& s);
  void removeFreshness(PairSeries& s);
  RegistrySeries& registrySeries(const std::string& registry);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& probes_;
  prometheus::Family<prometheus::Histogram>& probe_seconds_;
  prometheus::Family<prometheus::Counter>& transitions_;
  prometheus::Family<prometheus::Counter>& routing_changes_;
  prometheus::Family<prometheus::Histogram>& purge_family_;
  prometheus::Family<prometheus::Counter>& fail_open_;
  prometheus::Family<prometheus::Gauge>& freshness_;
  prometheus::Family<prometheus::Gauge>& seconds_behind_;
  prometheus::Family<prometheus::Gauge>& fleet_connected_;
  prometheus::Gauge& stalled_;
  prometheus::Gauge& generation_;
  prometheus::Gauge& orphaned_;
  prometheus::Histogram& purge_;
  prometheus::Counter& renders_;
  prometheus::Gauge& render_seconds_;
  prometheus::Family<prometheus::Gauge>& fleet_live_;
  prometheus::Family<prometheus::Gauge>& fleet_revision_;

  std::map<std::pair<std::string, std::string>, PairSeries> pairs_;  // (registry, replica)
  std::map<std::string, RegistrySeries> registries_;
  std::map<std::string, prometheus::Histogram*> probe_seconds_by_region_;
  std::string fleet_node_;
  prometheus::Gauge* fleet_connected_gauge_ = nullptr;
};

}  // namespace switchyard::control
