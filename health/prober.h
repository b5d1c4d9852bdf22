// Prober: the health thread's one entry point for probes. `check: content`
// probes go to ContentProber (manifest, blob, write check on one
// connection); api probes that are plain `http` and `tcp` of an address go to
// PlainProber (direct libuv, cheapest); `https` and targets given as host
// names go to CurlProber (TLS, resolution). The api probers classify outcomes
// the same way (see plain_prober.h).
//
// Thread safety: every method and callback runs on the loop's thread.
// Invariants:
//   1. Ids are unique over the prober's life and never 0; each started probe
//      ends in exactly one callback unless cancelled.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

#include "health/content_prober.h"
#include "health/curl_prober.h"
#include "health/plain_prober.h"

namespace switchyard::health {

struct ProberOptions {
  bool plain = true;  // false: libcurl for everything (tests compare the two)
};

// What HealthMonitor needs of a prober, so its scheduling can be tested
// with a fake one (tests/unit/health/health_monitor_test.cpp).
class ProbeRunner {
 public:
  using Callback = std::function<void(uint64_t id, const ProbeReport& report)>;
  virtual ~ProbeRunner() = default;
  // `write`: a content probe also runs the write check (HealthMonitor says
  // when: every health.write_check.every-th probe).
  virtual uint64_t start(const ProbeTarget& target, bool write = false) = 0;
  virtual void cancel(uint64_t id) = 0;
  virtual void close() = 0;  // cancels everything; call before the loop ends
};

class Prober final : public ProbeRunner {
 public:
  // REQUIRES: curl_global_init() was called before any thread started.
  Prober(uv_loop_t* loop, Callback callback, ProberOptions options = {});
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  uint64_t start(const ProbeTarget& target, bool write = false) override;
  void cancel(uint64_t id) override;
  void close() override;
  size_t inFlight() const { return plain_.inFlight() + curl_.inFlight() + content_.inFlight(); }

 private:
  ProberOptions options_;
  PlainProber plain_;
  CurlProber curl_;
  ContentProber content_;
  uint64_t next_id_ = 1;
};

}  // namespace switchyard::health
