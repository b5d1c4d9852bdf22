// CurlProber: runs HTTP(S) and TCP probes on one libuv loop through libcurl's
// multi-socket interface: any number of probes in flight, no thread per probe,
// and a hung, resetting or slow-TLS target only ever costs its own timeout.
//
// Thread safety: every method and callback runs on the loop's thread.
// The curl-on-libuv glue is common/curl_multi.h.
// Invariants:
//   1. Every started probe ends in exactly one callback, unless cancelled
//      (cancel() and close() never call back).
#pragma once

#include <curl/curl.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "common/curl_multi.h"
#include "health/curl_easy_pool.h"
#include "health/probe_result.h"
#include "health/probe_target.h"

namespace switchyard::health {

class CurlProber {
 public:
  using Callback = std::function<void(uint64_t id, const ProbeReport& report)>;

  // REQUIRES: curl_global_init() was called before any thread started.
  CurlProber(uv_loop_t* loop, Callback callback);
  ~CurlProber();
  CurlProber(const CurlProber&) = delete;
  CurlProber& operator=(const CurlProber&) = delete;

  // Starts one probe. REQUIRES: `id` unique among probes in flight.
  void start(uint64_t id, const ProbeTarget& target);
  void cancel(uint64_t id);
  // Cancels everything and closes the loop handles; call before the loop ends.
  void close();
  size_t inFlight() const { return probes_.size(); }

 private:
  struct Probe;
  void done(CURL* easy, CURLcode code);
  ProbeReport classify(Probe& probe, CURLcode code);

  uv_loop_t* loop_;
  Callback callback_;
  CurlMulti multi_;
  bool closed_ = false;
  std::unordered_map<uint64_t, Probe*> probes_;
  EasyPool pool_;
};

}  // namespace switchyard::health
