// HealthTracker: the rise/fall hysteresis of one (registry, replica) pair.
//
// Rules:
//   1. Unknown (no evidence yet, nothing restored): the first probe decides at
//      once, up or down. Start-up must not serve guesses for `fall` intervals.
//   2. Up: `fall` consecutive failures -> Down (failover). A success in
//      between resets the count, so one transient error moves nothing.
//   3. Down: `rise` consecutive successes -> Up (failback at once, no cooldown).
//   4. Throttled counts as a success.
// It keeps the last few reports so a transition can say what caused it.
// Thread safety: owned by the health thread.
// Invariants:
//   1. streak_ counts consecutive reports that disagree with state_ (0 when
//      the last report agreed).
#pragma once

#include <deque>

#include "health/probe_result.h"
#include "policy/routing_policy.h"

namespace switchyard::health {

class HealthTracker {
 public:
  enum class Transition { Unchanged, Pending, Changed };

  HealthTracker(int fall, int rise, policy::Health initial = policy::Health::Unknown)
      : fall_(fall), rise_(rise), state_(initial) {}

  Transition record(const ProbeReport& report);
  // The same, with what the report counts as decided by the caller (a
  // seeding replica's content_missing counts as up: health_monitor.h).
  Transition record(const ProbeReport& report, bool up);

  policy::Health state() const { return state_; }
  // Reports newest last; at most kKeep.
  const std::deque<ProbeReport>& recent() const { return recent_; }
  uint64_t probes() const { return probes_; }
  void setThresholds(int fall, int rise) {
    fall_ = fall;
    rise_ = rise;
  }

  static constexpr size_t kKeep = 8;

 private:
  int fall_;
  int rise_;
  policy::Health state_;
  int streak_ = 0;
  uint64_t probes_ = 0;
  std::deque<ProbeReport> recent_;
};

}  // namespace switchyard::health
