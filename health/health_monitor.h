// HealthMonitor: the health thread. Probes every (registry, replica) pair on
// its own schedule, feeds the results through each pair's HealthTracker and
// reports state changes.
//
// Schedule of one pair:
//   1. The first probe starts as soon as the pair is added (all pairs at once:
//      start-up needs one verdict per pair, bounded by the probe timeout).
//   2. The next probe starts `interval` after the previous one started, with
//      +-10% jitter (the first gap is drawn from 50%..150% of the interval) so
//      probes spread out instead of firing in bursts.
//   3. A probe still in flight is never doubled: the next one is scheduled only
//      when the previous one has reported.
// Pairs with scheme `none` are never probed and never reported.
// Content checks (`check: content`, content_prober.h): every
// health.write_check.every-th probe, the first included, adds the write check;
// after a failed one, every probe does until one passes (else the read-only
// probes in between would reset the failure streak and `fall` never count).
// Seeding: a replica that has not yet passed a content check since it was
// added (with no health restored from before a restart), or that freshness
// holds lagging, and answers the canary with 404 while the registry's
// freshness reference serves it (the canary must be a freshness canary), is
// still being replicated: it is marked lagging at once (out of global routing, back on
// the first freshness round that sees the reference) and the probe counts as
// up, so it shows as lagging, not down. Without freshness, or once the
// replica has served the canary, a 404 is content_missing: a failure.
// The same thread runs the replication-freshness rounds (FreshnessMonitor) of
// the registries that have `freshness`.
// Thread safety:
//   - start(), setTargets(), setRegistryTargets(), setFreshness() and stop() are called from the
//     control thread; the setters post to the health thread.
//   - Callbacks run on the health thread; they must only hand data over
//     (e.g. post to the control loop).
//   - lastResultMs() may be read from any thread (the control thread's
//     watchdog uses it).
#pragma once

#include <uv.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/task_queue.h"
#include "health/freshness_monitor.h"
#include "health/probe_schedule.h"
#include "health/prober.h"
#include "health/health_tracker.h"
#include "health/probe_target.h"

namespace switchyard::health {

struct HealthChange {
  std::string registry;
  std::string region;
  policy::Health from = policy::Health::Unknown;
  policy::Health to = policy::Health::Unknown;
  std::vector<ProbeReport> recent;  // oldest first; the last one caused the change
};

// What a HealthMonitor is built from. Tests give it a fake prober and a fixed
// seed; the daemon takes the defaults.
struct MonitorOptions {
  ProberOptions prober;
  std::optional<uint64_t> seed = std::nullopt;  // jitter; default: random
  // Builds the prober on the monitor's loop; default: a real Prober.
  std::function<std::unique_ptr<ProbeRunner>(uv_loop_t*, ProbeRunner::Callback)> make_prober = {};
};

class HealthMonitor {
 public:
  struct Callbacks {
    std::function<void(HealthChange)> on_change;
    // Every probe result (for counters); may be empty.
    std::function<void(const std::string& registry, const std::string& region, const ProbeReport&)> on_report;
    // Once, when every pair present at start() has reported at least once.
    std::function<void()> on_first_round;
    // Every finished freshness round of a registry; may be empty.
    std::function<void(FreshnessReport)> on_freshness;
  };
  using Restored = std::map<policy::PairKey, policy::Health>;

  explicit HealthMonitor(Callbacks callbacks, ProberOptions prober = {});
  HealthMonitor(Callbacks callbacks, MonitorOptions options);
  ~HealthMonitor();

  void start(std::vector<ProbeTarget> targets, const Restored& restored);
  // A reload: pairs gone stop, new pairs start; unchanged pairs keep their state.
  void setTargets(std::vector<ProbeTarget> targets);
  // A catalog edit: the same for `registries` only (their pairs not in
  // `targets` stop, the others start or keep their state); every other pair
  // is left alone, so the control thread builds targets for what changed only.
  void setRegistryTargets(std::set<std::string> registries, std::vector<ProbeTarget> targets);
  // The registries with freshness (buildFreshnessTargets); replaces the last
  // set. `lagging` ("registry/region") seeds new trackers (a restart).
  void setFreshness(std::vector<FreshnessTarget> targets, std::set<policy::PairKey> lagging = {});
  void stop();

  // uv_hrtime() milliseconds of the newest report, 0 before any.
  int64_t lastResultMs() const { return last_result_ms_.load(std::memory_order_relaxed); }
  int64_t nowMs() const;

 private:
  struct Pair;
  void apply(std::vector<ProbeTarget> targets, const Restored& restored);
  // Starts the pairs of `wanted` not probed yet, updates the others' settings;
  // `first`: they make up the first round (on_first_round).
  void addOrUpdate(std::map<policy::PairKey, ProbeTarget> wanted, const Restored& restored, bool first);
  void removePair(const policy::PairKey& key);
  void probe(Pair& pair);
  void onResult(uint64_t id, const ProbeReport& report);
  // True when `report` is a seeding replica's content_missing (see above):
  // marks it lagging and says so in report.detail.
  bool seeding(Pair& pair, ProbeReport& report);

  Callbacks callbacks_;
  uv_loop_t loop_{};
  TaskQueue tasks_;
  std::thread thread_;
  std::unique_ptr<ProbeRunner> prober_;
  std::unique_ptr<FreshnessMonitor> freshness_;
  std::map<policy::PairKey, std::unique_ptr<Pair>> pairs_;
  std::map<uint64_t, Pair*> in_flight_;
  ProbeSchedule schedule_;
  size_t first_round_left_ = 0;
  bool first_round_reported_ = false;
  bool stopped_ = false;
  std::atomic<int64_t> last_result_ms_{0};
};

}  // namespace switchyard::health
