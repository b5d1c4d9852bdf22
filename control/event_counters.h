// EventCounters: what the control plane counts per registry and per pair
// (probe outcomes, health transitions, routing changes by cause, fail-open
// entries, the last freshness state), in topology order, for the scrape-time
// families switchyard_probes_total, _health_transitions_total,
// _routing_changes_total, _fail_open_total, _replica_freshness and
// _replica_seconds_behind (control_metrics.h writes them).
//
// Why not prometheus::Family: at 100,000 registries x 5 these families have
// 500,000 series and more. A Family series costs ~450 bytes (its label map
// held twice, a hash node, the value); Family::Remove(metric) is a linear
// scan of the family (prometheus-cpp 1.0.1 and 1.3), so a reload dropping
// 5,000 pairs would scan 500,000 series 10,000 times on the control loop,
// holding the family's lock (scrapes wait); and Collect() copies a family
// whole under that lock. Here a pair costs 64 bytes (one cache line), a reload remaps by name
// in O(pairs), and a scrape writes the families in parts from a snapshot
// pointer.
//
// Thread safety: the control thread is the only writer (plain load + store on
// relaxed atomics, no locked instruction); scrapes read from any thread. A
// table is never resized: a reload builds a new one (retain()), and a scrape
// holding the old one reads it until it lets go.
#pragma once

#include "common/shared_chunks.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "health/freshness_tracker.h"
#include "health/probe_result.h"
#include "policy/routing_policy.h"

namespace switchyard::control {

constexpr int kProbeResults = static_cast<int>(health::ProbeResult::WriteError) + 1;
constexpr int kHealthStates = 3;  // policy::Health: unknown, up, down
// Routing change causes (router.h's PairChange::cause), in this order.
constexpr const char* kCauses[] = {"health", "operator", "fault", "freshness"};
constexpr int kCauseCount = 4;
int causeIndex(std::string_view cause);  // -1 if not one of kCauses

struct PairCounters {
  static constexpr uint8_t kNoFreshness = 0xff;
  std::atomic<uint32_t> probes[kProbeResults] = {};
  std::atomic<uint32_t> transitions[kHealthStates] = {};  // by new state
  std::atomic<uint8_t> freshness{kNoFreshness};           // health::FreshnessState
  std::atomic<double> seconds_behind{0};
};

struct RegistryCounters {
  explicit RegistryCounters(size_t replicas) : pairs(replicas) {}
  std::vector<PairCounters> pairs;  // by replica index
  std::atomic<uint32_t> fail_open{0};
  std::atomic<uint32_t> changes[kCauseCount] = {};
  bool in_fail_open = false;  // control thread only
};

// By registry index of the topology it was built for.
// By registry slot; chunked so a catalog edit copies it in O(chunks), and
// the counters themselves shared (their atomics are written in place).
using CounterTable = SharedChunks<RegistryCounters, std::shared_ptr<RegistryCounters>>;

inline void bump(std::atomic<uint32_t>& c) { c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }

}  // namespace switchyard::control
