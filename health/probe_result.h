// What one probe of one (registry, replica) pair concluded.
//
// A probe only reports a verdict; HealthTracker decides what it means over
// time. `throttled` (HTTP 429 by default) counts as healthy: a replica that
// sheds load is serving, and failing over would move its load elsewhere.
// The content results come from `check: content` (health/content_check.h):
// content_error (a manifest or blob read failed: 5xx, refused, digest
// mismatch), content_missing (the canary or its blob is 404) and write_error
// (the write check's push failed). Each is a failure toward `fall`.
#pragma once

#include <string>

#include "policy/topology.h"

namespace switchyard::health {

enum class ProbeResult {
  Ok, Throttled, HttpError, Timeout, ConnectError, TlsError,
  ContentError, ContentMissing, WriteError,
};

const char* resultName(ProbeResult result);
inline bool countsAsUp(ProbeResult r) { return r == ProbeResult::Ok || r == ProbeResult::Throttled; }

// The verdict of an api probe's HTTP status, for both api probers (plain and
// libcurl): healthy_status is ok, throttled_status throttled, else http_error.
inline ProbeResult classifyStatus(const policy::ProbeSpec& spec, int status) {
  if (spec.isHealthy(status)) return ProbeResult::Ok;
  if (spec.isThrottled(status)) return ProbeResult::Throttled;
  return ProbeResult::HttpError;
}

// One finished probe, as the prober reports it.
struct ProbeReport {
  ProbeResult result = ProbeResult::Ok;
  int http_status = 0;       // 0 when no HTTP response
  double seconds = 0;        // how long the probe took
  std::string detail;        // curl's error text, or "HTTP 503"; content checks: "STEP METHOD URL: why"
  std::string step;          // content checks: the step that decided ("manifest", "blob", ...); else empty
};

}  // namespace switchyard::health
