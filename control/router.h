// Router: owns every mutable routing input (topology, per-pair health,
// operator flags), turns a change into a new RoutingTable and AnswerSet, and
// publishes them to the DNS workers.
//
// A change to one pair recomputes and recompiles only that registry; the new
// table and answer set share every other registry's part with the previous
// generation (so a change costs one registry, not the whole fleet).
// Thread safety: owned by the control thread; every method is called there.
//   Other threads (the health loop, the admin API) post to the control thread.
// Invariants:
//   1. states_[g].size() == topology_->registries[g].replicas.size().
//   2. table_->generation == answers_->generation == the last published one,
//      strictly increasing across changes and reloads.
// Reload (applyTopology):
//   1. The new topology arrives already validated.
//   2. Pairs that exist in both (same registry name, same region) keep their
//      health, and their run-time operator flag unless the file's
//      global_endpoint_routing for that pair was edited (then the file wins);
//      new pairs start from the file's flag and unknown health.
//   3. Everything is recomputed, recompiled and published as one generation.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_loader.h"
#include "dns/answer_publisher.h"
#include "health/health_sink.h"
#include "policy/ranking.h"
#include "policy/routing_policy.h"

namespace switchyard::control {

class Router final : public health::HealthSink {
 public:
  // `initial` seeds pair health ("registry/region" -> state), e.g. restored
  // from the state directory; other pairs start Unknown.
  Router(config::TopologyPtr topology, dns::AnswerPublisher& publisher,
         const std::map<std::string, policy::Health>& initial = {});

  Result<bool> setHealth(std::string_view registry, std::string_view region, policy::Health health,
                         std::string_view cause = {}) override;
  Result<bool> setGlobalEndpointRouting(std::string_view registry, std::string_view region,
                                        bool enabled);
  void applyTopology(config::TopologyPtr topology);

  const policy::Topology& topology() const { return *topology_; }
  config::TopologyPtr topologyPtr() const { return topology_; }
  std::shared_ptr<const policy::RoutingTable> table() const { return table_; }
  Result<policy::ReplicaState> state(std::string_view registry, std::string_view region) const;
  // Every pair's health, keyed "registry/region".
  std::map<std::string, policy::Health> healthStates() const;

 private:
  struct Pair {
    uint32_t registry;
    uint32_t replica;
  };
  Result<Pair> find(std::string_view registry, std::string_view region) const;
  // Applies a changed state of one pair: recompute, recompile, publish.
  void update(Pair pair, const policy::ReplicaState& next, const char* cause, std::string_view detail);
  void rebuildAll();

  dns::AnswerPublisher& publisher_;
  config::TopologyPtr topology_;
  std::unique_ptr<policy::Ranking> ranking_;
  std::vector<std::vector<policy::ReplicaState>> states_;
  std::shared_ptr<const policy::RoutingTable> table_;
  std::shared_ptr<const dns::AnswerSet> answers_;
  uint64_t generation_ = 0;
  uint32_t serial_ = 0;
};

}  // namespace switchyard::control
