// Router: owns every mutable routing input (topology, per-pair health,
// operator flags, injected faults), turns a change into a new RoutingTable and
// AnswerSet, and publishes them to the DNS workers.
//
// A change to one pair recomputes only that registry; only when that
// registry's routing actually moves is a new generation compiled and
// published, sharing every other registry's part with the previous one.
// Thread safety: owned by the control thread; every method is called there.
//   Other threads (the health loop, the admin API) post to the control thread.
// Invariants:
//   1. states_[g].size() == faults_[g].size() ==
//      topology_->registries[g].replicas.size().
//   2. table_->generation == answers_->generation == the last published one,
//      strictly increasing across changes and reloads.
//   3. Policy sees effective health: an injected `down` fault is Down, an
//      injected `throttled` fault is Up (429 counts as healthy), else observed.
// Reload (applyTopology):
//   1. The new topology arrives already validated.
//   2. Pairs that exist in both (same registry name, same region) keep their
//      health and fault, and their run-time operator flag unless the file's
//      global_endpoint_routing for that pair was edited (then the file wins);
//      new pairs start from the file's flag and unknown health. A lagging
//      mark stays only while the registry still has `freshness`.
//   3. Everything is recomputed, recompiled and published as one generation.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "config/config_loader.h"
#include "dns/answer_publisher.h"
#include "health/health_sink.h"
#include "policy/ranking.h"
#include "policy/routing_policy.h"

namespace switchyard::control {

// An injected health fault. ContentError stands for a replica whose API
// answers but whose storage does not (what `check: content` detects): it
// routes like Down, and says which failure is being rehearsed.
enum class Fault : uint8_t { None, Down, Throttled, ContentError };
const char* faultName(Fault fault);
// "none" | "down" | "throttled" | "content_error" (the API's and etcd's
// spelling); nullopt otherwise.
std::optional<Fault> faultFromName(std::string_view name);
// The fault takes the replica out as a failed probe would.
inline bool failsHealth(Fault f) { return f == Fault::Down || f == Fault::ContentError; }

// What one change did, for events, logs and metrics.
struct PairChange {
  std::string registry;
  std::string replica;  // region name
  std::string cause;    // health | operator | fault | freshness
  std::string detail;
  policy::ReplicaState state;
  Fault fault = Fault::None;
  bool routing_changed = false;
  uint64_t generation = 0;
  std::string routing;  // "eastus->westus,westeurope ..."
  double purge_seconds = -1;   // publish -> every worker switched
  double change_seconds = -1;  // decision -> every worker switched (recompute, copy, compile, purge)
};

class Router final : public health::HealthSink {
 public:
  // `initial` seeds pair health ("registry/region" -> state), e.g. restored
  // from the state directory; other pairs start Unknown.
  Router(config::TopologyPtr topology, dns::AnswerPublisher& publisher,
         const std::map<std::string, policy::Health>& initial = {});

  Result<bool> setHealth(std::string_view registry, std::string_view region, policy::Health health,
                         std::string_view cause = {}) override;
  Result<bool> setGlobalEndpointRouting(std::string_view registry, std::string_view region, bool enabled);
  Result<bool> setFault(std::string_view registry, std::string_view region, Fault fault);
  // Replication freshness (health/freshness_tracker.h): a lagging replica
  // leaves global routing; `detail` says why, for the log and events.
  Result<bool> setLagging(std::string_view registry, std::string_view region, bool lagging, std::string_view detail);
  void applyTopology(config::TopologyPtr topology);

  // Called after every pair change (also when routing did not move).
  void onChange(std::function<void(const PairChange&)> f) { on_change_ = std::move(f); }

  const policy::Topology& topology() const { return *topology_; }
  config::TopologyPtr topologyPtr() const { return topology_; }
  std::shared_ptr<const policy::RoutingTable> table() const { return table_; }
  const policy::Ranking& ranking() const { return *ranking_; }
  uint32_t serial() const { return serial_; }
  Result<policy::ReplicaState> state(std::string_view registry, std::string_view region) const;
  Result<Fault> fault(std::string_view registry, std::string_view region) const;
  // Every pair's observed health, keyed "registry/region".
  std::map<std::string, policy::Health> healthStates() const;
  // Every pair marked lagging, keyed "registry/region".
  std::set<std::string> laggingPairs() const;
  std::string describeRouting(uint32_t registry) const;

 private:
  struct Pair {
    uint32_t registry;
    uint32_t replica;
  };
  Result<Pair> find(std::string_view registry, std::string_view region) const;
  // Sets one field of a pair's state and recomputes when it changed.
  template <typename T>
  Result<bool> setState(std::string_view registry, std::string_view region, T policy::ReplicaState::*field, T value,
                        const char* cause, std::string_view detail);
  std::vector<policy::ReplicaState> effective(uint32_t registry) const;
  void update(Pair pair, const char* cause, std::string_view detail);
  void rebuildAll();

  dns::AnswerPublisher& publisher_;
  config::TopologyPtr topology_;
  std::unique_ptr<policy::Ranking> ranking_;
  std::vector<std::vector<policy::ReplicaState>> states_;  // observed health + operator flag
  std::vector<std::vector<Fault>> faults_;
  std::shared_ptr<const policy::RoutingTable> table_;
  std::shared_ptr<const dns::AnswerSet> answers_;
  std::function<void(const PairChange&)> on_change_;
  uint64_t generation_ = 0;
  uint32_t serial_ = 0;
};

}  // namespace switchyard::control
