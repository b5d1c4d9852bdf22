// HealthSink: where health verdicts go. control::Router implements it; the
// control plane feeds it the HealthMonitor's transitions (and tests drive it
// directly). Keyed by names, not indices, so a verdict
// that crosses a config reload can never land on the wrong pair.
// Thread safety: implementations say which thread may call them.
#pragma once

#include <string_view>

#include "common/result.h"
#include "policy/routing_policy.h"

namespace switchyard::health {

class HealthSink {
 public:
  virtual ~HealthSink() = default;
  // Records the health of `registry`'s replica in `region`. Returns whether
  // the pair's state changed; an unknown pair is an error. `cause` says what
  // led to it (e.g. the probe results), for the event log.
  virtual Result<bool> setHealth(std::string_view registry, std::string_view region,
                                 policy::Health health, std::string_view cause = {}) = 0;
};

}  // namespace switchyard::health
