// DigestFetcher: reads manifest digests (health/manifest_head.h) on the
// health thread's libuv loop, any number in flight, through the shared
// curl-on-libuv glue (common/curl_multi.h).
//
// Thread safety: every method and callback runs on the loop's thread.
// Invariants:
//   1. Every started fetch ends in exactly one callback unless cancelled
//      (cancel() and close() never call back).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "common/curl_multi.h"
#include "health/manifest_head.h"

namespace switchyard::health {

class DigestFetcher {
 public:
  using Callback = std::function<void(uint64_t id, const DigestObservation& observation)>;

  // REQUIRES: curl_global_init() was called before any thread started.
  DigestFetcher(uv_loop_t* loop, Callback callback);
  ~DigestFetcher();
  DigestFetcher(const DigestFetcher&) = delete;
  DigestFetcher& operator=(const DigestFetcher&) = delete;

  // Returns the fetch's id (never 0).
  uint64_t start(const RegistryEndpoint& endpoint, const policy::Canary& canary, long timeout_ms);
  void cancel(uint64_t id);
  // Cancels everything and closes the loop handles; call before the loop ends.
  void close();
  size_t inFlight() const { return fetches_.size(); }

 private:
  void done(CURL* easy, CURLcode code);

  Callback callback_;
  CurlMulti multi_;
  bool closed_ = false;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<ManifestHead>> fetches_;
};

}  // namespace switchyard::health
