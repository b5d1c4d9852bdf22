// Router: the one owner of every routing input (topology, per-pair health,
// operator decisions and their persisted overrides, injected faults, lagging
// marks) and of the rule that merges them at a reload; turns a change into a
// new RoutingTable and AnswerSet, and publishes them to the DNS workers.
// Callers (the admin API, fleet sync, drills, the health and freshness
// feeds) name the pair they change; what must be persisted or shared is
// read back from here (overrides(), healthStates(), laggingPairs()).
//
// A change to one pair recomputes only that registry; only when that
// registry's routing actually moves is a new generation compiled and
// published, sharing every other registry's part with the previous one.
// Thread safety: owned by the control thread; every method is called there.
//   Other threads (the health loop, the admin API) post to the control thread.
// Invariants:
//   1. states_[g].size() == faults_[g].size() ==
//      topology_->registries[g].replicas.size().
//   4. For every pair in the topology with an override, the pair's
//      global_endpoint_routing equals it (overrides of pairs the topology
//      lacks are kept, dormant, and apply if the pair comes back).
//   2. table_->generation == answers_->generation == the last published one,
//      strictly increasing across changes and reloads.
//   3. Policy sees effective health: an injected `down` fault is Down, an
//      injected `throttled` fault is Up (429 counts as healthy), else observed.
// Reload (applyTopology), the one place of the rule:
//   1. The new topology arrives already validated.
//   2. Pairs that exist in both (same registry name, same region) keep their
//      health and fault. Their global_endpoint_routing: if the file's key for
//      that pair was edited, the file wins and the pair's override is dropped
//      (the edit is the newer decision); otherwise the override, else the
//      run-time flag (e.g. a drill's), stays. New pairs start from their
//      dormant override if there is one, else the file's flag, and unknown
//      health. A lagging mark stays only while the registry has `freshness`.
//   3. Everything is recomputed, recompiled and published as one generation.
// At start-up (restoreOverrides) there is no older file to compare with: a
// persisted override wins over the file.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "config/config_loader.h"
#include "dns/answer_publisher.h"
#include "control/overrides.h"
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
  // `serial_floor`: the SOA serial starts above it (a restart resumes from
  // the serial reserved before it, control_plane.h).
  Router(config::TopologyPtr topology, dns::AnswerPublisher& publisher, const HealthStates& initial = {},
         uint32_t serial_floor = 0);

  Result<bool> setHealth(std::string_view registry, std::string_view region, policy::Health health,
                         std::string_view cause = {}) override;
  // A transient flag (a drill's exclusion): not an override, never persisted.
  Result<bool> setGlobalEndpointRouting(std::string_view registry, std::string_view region, bool enabled);
  // An operator decision (the admin API, the fleet's shared flags): applied,
  // and kept in overrides() until the file's key for the pair is edited; for
  // a pair the topology lacks, kept dormant. Returns whether the override
  // changed (then it must be persisted).
  Result<bool> setOperatorFlag(std::string_view registry, std::string_view region, bool enabled);
  // Ends a transient flag (a drill's exclusion): back to the pair's override,
  // else the file's flag.
  Result<bool> restoreFlag(std::string_view registry, std::string_view region);
  // Start-up: the persisted decisions; pairs this topology lacks stay
  // dormant (their keys are returned, for the log).
  std::vector<PairKey> restoreOverrides(const Overrides& overrides);
  // Fleet: drops every override `keep` says no to, putting the pair back to
  // the file's flag; returns how many went.
  size_t retainOverrides(const std::function<bool(const PairKey&)>& keep);
  const Overrides& overrides() const { return overrides_; }
  // Drops the operator decisions for `registry`'s regions that `gone` says
  // no longer exist (the API deleted them); returns how many.
  size_t forgetOverrides(const std::string& registry, const std::function<bool(const std::string& region)>& gone);
  // The overrides of pairs this topology lacks (kept, dormant, on restart
  // and reload alike): reported so an operator sees what waits for a pair.
  Overrides orphanedOverrides() const;
  Result<bool> setFault(std::string_view registry, std::string_view region, Fault fault);
  // Replication freshness (health/freshness_tracker.h): a lagging replica
  // leaves global routing; `detail` says why, for the log and events.
  Result<bool> setLagging(std::string_view registry, std::string_view region, bool lagging, std::string_view detail);
  // Returns how many overrides the new file's edits replaced (persist them).
  // `edited` (a catalog edit): the registries it added, changed or removed.
  // REQUIRES then: every other registry, the regions, zone, TTLs and routing
  // settings are as in the current topology (config::editCatalog's copy);
  // those registries keep their states and reuse their routing and compiled
  // answers, so the change costs what they are not.
  //
  // `prepared` (a reload that changed a setting, so every answer moves):
  // the rebuild computed off the loop by prepare(); every registry whose
  // effective states are still what it was computed from takes its routing
  // part and answers from there, the rest (changed meanwhile) are computed.
  //
  // `slots` (a catalog edit, with `edited`): how config::editCatalog moved
  // the registry slots of the current topology. Then nothing is walked:
  // states, routing parts, answers and the index follow the moves, and
  // only the appended registries are computed, O(edited) at any size.
  struct Prepared;
  size_t applyTopology(config::TopologyPtr topology, const std::unordered_set<std::string>* edited = nullptr,
                       Prepared* prepared = nullptr, const policy::SlotEdit* slots = nullptr);

  // A full rebuild off the control loop, in two halves: snapshot() copies
  // the routing inputs on the loop (O(pairs), no compiling), prepare() runs
  // on any thread, and applyTopology(next, nullptr, &prepared) installs it.
  struct Snapshot {
    config::TopologyPtr previous;
    std::vector<std::vector<policy::ReplicaState>> states;
    std::vector<std::vector<Fault>> faults;
    Overrides overrides;
    uint64_t mutations = 0;  // the Router's count of changes when it was taken
  };
  struct Prepared {
    config::TopologyPtr topology;
    config::TopologyPtr previous;  // the snapshot's
    uint64_t mutations = 0;        // the snapshot's
    std::vector<std::vector<policy::ReplicaState>> effective;  // per registry: what it was computed from
    // The reload rule's result from the snapshot: installed as they are
    // when no change came after it.
    std::vector<std::vector<policy::ReplicaState>> states;
    std::vector<std::vector<Fault>> faults;
    std::vector<PairKey> replaced;
    std::shared_ptr<const policy::RoutingTable> table;
    std::shared_ptr<const dns::AnswerSet> answers;
  };
  Snapshot snapshot() const;
  static Prepared prepare(const Snapshot& snapshot, config::TopologyPtr next);

  // Called after every pair change (also when routing did not move).
  void onChange(std::function<void(const PairChange&)> f) { on_change_ = std::move(f); }
  // Called with every new SOA serial, before the answers carrying it are
  // published (so the caller can keep a persisted floor ahead of it).
  void onSerial(std::function<void(uint32_t)> f) { on_serial_ = std::move(f); }

  const policy::Topology& topology() const { return *topology_; }
  config::TopologyPtr topologyPtr() const { return topology_; }
  std::shared_ptr<const policy::RoutingTable> table() const { return table_; }
  const policy::Ranking& ranking() const { return *ranking_; }
  uint32_t serial() const { return serial_; }
  Result<policy::ReplicaState> state(std::string_view registry, std::string_view region) const;
  Result<Fault> fault(std::string_view registry, std::string_view region) const;
  // Every pair's state and fault, [registry][replica] in topology order (a
  // scrape reads them all at once, routing_metrics.h).
  const std::vector<std::vector<policy::ReplicaState>>& states() const { return states_; }
  const std::vector<std::vector<Fault>>& faults() const { return faults_; }
  // Every pair's observed health.
  HealthStates healthStates() const;
  // Every pair marked lagging.
  PairSet laggingPairs() const;
  std::string describeRouting(uint32_t registry) const;

 private:
  struct Pair {
    uint32_t registry;
    uint32_t replica;
  };
  Result<Pair> find(std::string_view registry, std::string_view region) const;
  // The next SOA serial: above the last, and at least the clock.
  void bumpSerial();
  // Hands answers_ to every DNS worker and waits (100 ms at most) until each
  // answers from it: the purge time, or nullopt (logged) past the limit.
  std::optional<std::chrono::nanoseconds> publish();
  // Sets one field of a pair's state and recomputes when it changed.
  template <typename T>
  Result<bool> setState(std::string_view registry, std::string_view region, T policy::ReplicaState::*field, T value,
                        const char* cause, std::string_view detail);
  std::vector<policy::ReplicaState> effective(uint32_t registry) const;
  void update(Pair pair, const char* cause, std::string_view detail);
  static constexpr uint32_t kNew = UINT32_MAX;  // a registry not carried from the previous topology
  // carried (optional): per registry, its index in the previous generation
  // whose part and answers it reuses, or kNew to compute them.
  // `prepared_whole`: every registry takes `prepared`'s part and answers.
  void rebuildAll(const std::vector<uint32_t>* carried, const Prepared* prepared = nullptr,
                  bool prepared_whole = false);
  // The reload rule (above) from `previous` to `next`: the states and faults
  // the new topology starts from, which registries are carried whole, and
  // which overrides the file's edits replace. Pure; `log` says what it did.
  struct Carry {
    std::vector<std::vector<policy::ReplicaState>> states;
    std::vector<std::vector<Fault>> faults;
    std::vector<uint32_t> carried;  // per registry: its previous index, reused whole, or kNew
    std::vector<PairKey> replaced;  // overrides the new file's edits replace
  };
  static Carry carry(const policy::Topology& previous, const policy::Topology& next,
                     std::vector<std::vector<policy::ReplicaState>> old_states, std::vector<std::vector<Fault>> old_faults,
                     const Overrides& overrides, const std::unordered_set<std::string>* edited, bool log);
  // The rule for one registry `g` of `next`: from its previous self
  // (index og of `previous`, with those states and faults) or new.
  static void carryRegistry(const policy::Topology& previous, std::optional<uint32_t> og,
                            const std::vector<policy::ReplicaState>* old_states, const std::vector<Fault>* old_faults,
                            const policy::Topology& next, uint32_t g, const Overrides& overrides, bool log,
                            std::vector<policy::ReplicaState>& states, std::vector<Fault>& faults,
                            std::vector<PairKey>& replaced);
  // applyTopology's catalog-edit path (topology_ is already the new one).
  size_t applyEdit(const policy::Topology& previous, const std::unordered_set<std::string>& edited,
                   const policy::SlotEdit& slots);
  static std::vector<policy::ReplicaState> effectiveOf(const std::vector<policy::ReplicaState>& states,
                                                       const std::vector<Fault>& faults);

  dns::AnswerPublisher& publisher_;
  config::TopologyPtr topology_;
  std::unique_ptr<policy::Ranking> ranking_;
  std::vector<std::vector<policy::ReplicaState>> states_;  // observed health + operator flag
  std::vector<std::vector<Fault>> faults_;
  Overrides overrides_;
  std::shared_ptr<const policy::RoutingTable> table_;
  std::shared_ptr<const dns::AnswerSet> answers_;
  std::function<void(const PairChange&)> on_change_;
  std::function<void(uint32_t)> on_serial_;
  uint64_t generation_ = 0;
  uint32_t serial_ = 0;
  // Counts every call that may change states, faults or overrides (each
  // mutator bumps it first, whether or not it changes anything): a prepared
  // rebuild is installed whole only if the count moved by its own install.
  uint64_t mutations_ = 0;
};

}  // namespace switchyard::control
