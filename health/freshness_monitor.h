// FreshnessMonitor: the replication-freshness prober. For every registry with
// `freshness`, a round every probe interval reads every canary's digest on
// every replica at once (DigestFetcher), feeds the round to the registry's
// FreshnessTracker and reports every replica's status.
//
// Why rounds rather than per-pair schedules: the reference (home's digest, or
// the majority's) and the replicas it is compared with come from the same
// moment, so a push landing between two pairs' probes is not mistaken for lag
// for longer than one round.
// Schedule: the first round of a registry starts at a random point within one
// interval (nothing is urgent: lag counts only after max_staleness, and a
// fleet of registries must not fire at once); each next round `interval`
// (+-10%) after the previous one started, never before it ended.
// Thread safety: runs on the health thread; every method and the callback run
// there (HealthMonitor owns it).
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "health/digest_fetcher.h"
#include "health/freshness_tracker.h"
#include "policy/pair_key.h"

namespace switchyard::health {

// One registry's freshness settings and where its replicas are read.
struct FreshnessTarget {
  std::string registry;
  policy::Freshness config;
  size_t home = 0;                       // index into regions
  std::vector<std::string> regions;      // replica regions, topology order
  std::vector<RegistryEndpoint> endpoints;
  policy::Millis interval{10'000};
  policy::Millis timeout{5'000};
  friend bool operator==(const FreshnessTarget&, const FreshnessTarget&) = default;
};

// The registries with freshness, from the topology.
std::vector<FreshnessTarget> buildFreshnessTargets(const policy::Topology& topology);

// One finished round of one registry.
struct FreshnessReport {
  std::string registry;
  std::vector<std::string> canaries;    // "repository:tag"
  std::vector<std::string> references;  // per canary, "" when none this round
  std::vector<std::string> regions;
  std::vector<FreshnessStatus> replicas;  // per region
};

class FreshnessMonitor {
 public:
  using Callback = std::function<void(FreshnessReport)>;

  // REQUIRES: curl_global_init() was called before any thread started.
  FreshnessMonitor(uv_loop_t* loop, Callback callback);
  ~FreshnessMonitor();
  FreshnessMonitor(const FreshnessMonitor&) = delete;
  FreshnessMonitor& operator=(const FreshnessMonitor&) = delete;

  // Registries gone stop; changed ones restart their rounds, keeping what
  // their tracker knew (FreshnessTracker::inherit); unchanged ones go on.
  // New registries' replicas listed in `lagging` (e.g.
  // from before a restart) start lagging (FreshnessTracker::assumeLagging).
  void setTargets(std::vector<FreshnessTarget> targets, const std::set<policy::PairKey>& lagging = {});
  // Cancels everything; call before the loop ends.
  void close();

  // For seeding (health_monitor.h): whether `canary` is one of the
  // registry's freshness canaries and its last round had a reference digest
  // for it. False before the first round.
  bool referenceHas(const std::string& registry, const policy::Canary& canary) const;
  bool lagging(const std::string& registry, const std::string& region) const;
  // Marks `region`'s replica lagging now with `detail` and reports the
  // registry at once; a round that sees it serve the reference clears it.
  // False (nothing done) for a registry without freshness or an unknown region.
  bool markLagging(const std::string& registry, const std::string& region, const std::string& detail);

 private:
  struct Registry;
  struct Fetch {
    Registry* registry;
    size_t replica;
    size_t canary;
  };
  void remove(const std::string& name);
  void startRound(Registry& registry);
  void onDigest(uint64_t id, const DigestObservation& observation);
  void endRound(Registry& registry);
  void report(const Registry& registry);

  uv_loop_t* loop_;
  Callback callback_;
  DigestFetcher fetcher_;
  std::map<std::string, std::unique_ptr<Registry>> registries_;
  std::map<uint64_t, Fetch> in_flight_;
  std::mt19937 rng_{std::random_device{}()};
  bool closed_ = false;
};

}  // namespace switchyard::health
