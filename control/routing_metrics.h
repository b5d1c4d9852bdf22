// RoutingMetrics: the gauges that describe the Router's current state, for
// one scrape: switchyard_replica_up, _replica_global_routing,
// _replica_serving_clients and switchyard_registry_clients.
//
// They are derived at scrape time, not kept as prometheus::Family<Gauge>:
// there are 2,000,000 of them at 100,000 registries x 5 (three per pair, four
// per registry), a Family series costs ~450 bytes (measured with three short
// labels: its label map held twice, a hash node, the gauge), so 900 MB, and
// each would mirror state the Router already holds, so it could go stale;
// derived, it cannot, and a removed pair's series are gone by construction.
//
// Thread safety: take() on the control thread (it copies one byte per pair
// and two shared pointers: the loop pays O(pairs) byte copies, no strings);
// write() then runs on the scraping thread, from the immutable topology and
// routing table it holds.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "config/config_loader.h"
#include "control/router.h"
#include "metrics/exposition.h"
#include "policy/routing_table.h"

namespace switchyard::control {

class RoutingMetrics {
 public:
  static RoutingMetrics take(const Router& router);
  void write(metrics::Exposition& out) const;

 private:
  static constexpr uint8_t kUp = 1, kRouting = 2;
  config::TopologyPtr topology_;
  std::shared_ptr<const policy::RoutingTable> table_;
  std::vector<uint8_t> pairs_;  // per pair, registries then replicas in topology order: kUp | kRouting
};

}  // namespace switchyard::control
