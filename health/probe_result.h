// What one probe of one (registry, replica) pair concluded.
//
// A probe only reports a verdict; HealthTracker decides what it means over
// time. `throttled` (HTTP 429 by default) counts as healthy: a replica that
// sheds load is serving, and failing over would move its load elsewhere.
#pragma once

#include <string>

namespace switchyard::health {

enum class ProbeResult { Ok, Throttled, HttpError, Timeout, ConnectError, TlsError };

const char* resultName(ProbeResult result);
inline bool countsAsUp(ProbeResult r) { return r == ProbeResult::Ok || r == ProbeResult::Throttled; }

// One finished probe, as the prober reports it.
struct ProbeReport {
  ProbeResult result = ProbeResult::Ok;
  int http_status = 0;       // 0 when no HTTP response
  double seconds = 0;        // how long the probe took
  std::string detail;        // curl's error text, or "HTTP 503"
};

}  // namespace switchyard::health
