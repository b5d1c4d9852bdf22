// MetricsScrape: what one /metrics page is made of, so that building it
// costs the control loop only a snapshot.
//   1. On the control thread (ControlPlane): ControlMetrics::scraped() sets
//      the gauges read at scrape time, RoutingMetrics::take() copies one byte
//      per pair, and the DNS workers' counter blocks are listed.
//   2. On the scraping HTTP thread: text() serializes the DNS counters, the
//      routing gauges (in parts) and the control registry with
//      prometheus-cpp's TextSerializer (metrics/exposition.h).
// Thread safety: built on the control thread, then owned by one HTTP thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "control/routing_metrics.h"
#include "dns/worker_stats.h"

namespace switchyard::control {

struct MetricsScrape {
  std::vector<const dns::WorkerStats*> workers;  // outlive the admin server (control_plane.h)
  RoutingMetrics routing;
  std::shared_ptr<const prometheus::Registry> control;
  size_t size_hint = 0;  // the previous page's size

  std::string text() const;
};

}  // namespace switchyard::control
