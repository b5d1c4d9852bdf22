// ProbeSchedule: when a pair's next probe starts (HealthMonitor's rules 2
// and 3, kept pure so they are unit-tested without sockets or clocks):
//   - `interval` after the previous probe STARTED, jittered +-10%, the first
//     gap drawn from 50%..150% so pairs added together spread out;
//   - never before now: a probe that took longer than its gap is followed at
//     once (the caller only asks once the previous probe reported, so a pair
//     never has two probes in flight).
// Thread safety: one per HealthMonitor, used on the health thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>

namespace switchyard::health {

class ProbeSchedule {
 public:
  explicit ProbeSchedule(uint64_t seed) : rng_(seed) {}

  // Milliseconds from now to the next probe of a pair whose last probe
  // started `elapsed_ms` ago.
  uint64_t nextDelay(int64_t interval_ms, bool first_gap, uint64_t elapsed_ms) {
    std::uniform_real_distribution<double> jitter(first_gap ? 0.5 : 0.9, first_gap ? 1.5 : 1.1);
    double gap = static_cast<double>(interval_ms) * jitter(rng_);
    return static_cast<uint64_t>(std::max(0.0, gap - static_cast<double>(elapsed_ms)));
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace switchyard::health
