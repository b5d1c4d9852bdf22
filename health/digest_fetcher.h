// DigestFetcher: reads manifest digests (health/manifest_head.h) on the
// health thread's libuv loop, any number in flight, through the shared
// curl-on-libuv glue (common/curl_multi.h). A registry that answers 401 with a
// Bearer challenge gets the token flow (health/registry_token.h); tokens are
// cached per challenge until they expire, so a steady state costs one HEAD
// per read.
//
// Thread safety: every method and callback runs on the loop's thread.
// Invariants:
//   1. Every started fetch ends in exactly one callback unless cancelled
//      (cancel() and close() never call back).
//   2. A fetch has at most one transfer in flight (HEAD or token GET), and
//      asks for at most one token.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/curl_multi.h"
#include "health/manifest_head.h"
#include "health/registry_token.h"

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
  size_t tokenRequests() const { return token_requests_; }  // for tests and benchmarks

 private:
  struct Fetch;
  void startHead(Fetch& fetch, const RegistryEndpoint& endpoint, bool with_token);
  void startToken(Fetch& fetch, const BearerChallenge& challenge);
  void done(CURL* easy, CURLcode code);
  void headDone(Fetch& fetch, CURLcode code);
  void tokenDone(Fetch& fetch, CURLcode code);
  void complete(uint64_t id, const DigestObservation& observation);
  // Removes and frees the fetch's transfer in flight, if any.
  void endTransfer(Fetch& fetch);

  uv_loop_t* loop_;
  Callback callback_;
  CurlMulti multi_;
  bool closed_ = false;
  uint64_t next_id_ = 1;
  size_t token_requests_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Fetch>> fetches_;
  TokenCache tokens_;  // resources are "base_url repository"
};

}  // namespace switchyard::health
