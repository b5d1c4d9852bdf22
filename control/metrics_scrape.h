// MetricsScrape: what one /metrics page is made of, so that building it
// costs the control loop only a snapshot.
//   1. On the control thread (ControlPlane): ControlMetrics::scraped() sets
//      the gauges read at scrape time, RoutingMetrics::take() copies one byte
//      per pair, the DNS workers' counters are summed, and the event
//      counters' table pointer is taken.
//   2. On the scraping HTTP thread: text() serializes the DNS counters, the
//      routing gauges and event counters (in parts) and the control registry
//      with prometheus-cpp's TextSerializer (metrics/exposition.h).
// Thread safety: built on the control thread, then owned by one HTTP thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "control/control_metrics.h"
#include "control/routing_metrics.h"

namespace switchyard::control {

struct MetricsScrape {
  // The DNS workers' counters, summed on the control thread (queryMetrics():
  // ~40 loads per worker): the workers' blocks go when the DNS server
  // stops, which may be while this page is still being written.
  std::vector<prometheus::MetricFamily> dns;
  RoutingMetrics routing;
  ControlMetrics::EventSnapshot events;
  std::shared_ptr<const prometheus::Registry> control;
  size_t size_hint = 0;  // the previous page's size

  std::string text() const;
};

}  // namespace switchyard::control
