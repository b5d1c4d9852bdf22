// ContentProber: runs `check: content` probes (the steps and verdicts are
// health/content_check.h) on the health thread's libuv loop through libcurl's
// multi interface: any number in flight, no thread per probe.
//
// Connections: the first step of a probe opens a fresh connection (a probe
// tests a fresh path, as the api probe does); the later steps take an idle
// connection to the same replica and Host from the multi handle's cache
// (normally the first step's), and the last step closes its connection. A
// probe that stops early leaves its connection idle in the cache, where
// libcurl closes it after kIdleSeconds; a later step of another probe of the
// same pair may pick it up meanwhile, but never a first step.
// Tokens: a 401 with a Bearer challenge gets the token flow once per step;
// tokens are cached per challenge (TokenCache) for reads and for the write
// check separately, so a steady state costs no token request.
// Time: the whole probe, every step and token request, is bounded by the
// pair's health.timeout.
//
// Thread safety: every method and callback runs on the loop's thread.
// Invariants:
//   1. Every started probe ends in exactly one callback unless cancelled
//      (cancel() and close() never call back).
//   2. A probe has at most one transfer in flight (a step or a token GET).
#pragma once

#include <curl/curl.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/curl_multi.h"
#include "health/content_check.h"
#include "health/curl_easy_pool.h"
#include "health/probe_result.h"
#include "health/probe_target.h"
#include "health/registry_token.h"

namespace switchyard::health {

class ContentProber {
 public:
  using Callback = std::function<void(uint64_t id, const ProbeReport& report)>;

  // REQUIRES: curl_global_init() was called before any thread started.
  ContentProber(uv_loop_t* loop, Callback callback);
  ~ContentProber();
  ContentProber(const ContentProber&) = delete;
  ContentProber& operator=(const ContentProber&) = delete;

  // Starts one probe; `write` adds the write check's steps.
  // REQUIRES: target.spec.check is Content with a canary; `id` unique among
  // probes in flight.
  void start(uint64_t id, const ProbeTarget& target, bool write);
  void cancel(uint64_t id);
  void close();  // cancels everything; call before the loop ends
  size_t inFlight() const { return probes_.size(); }
  size_t tokenRequests() const { return token_requests_; }  // for tests

  static constexpr long kIdleSeconds = 2;

 private:
  struct Probe;
  void runStep(Probe& p);
  void done(CURL* easy, CURLcode code);
  void stepDone(Probe& p, CURLcode code);
  void tokenDone(Probe& p, CURLcode code);
  // A 401 with a Bearer challenge: use a cached token or fetch one. False
  // when the answer is not one the token flow can fix.
  bool tryToken(Probe& p);
  void advance(Probe& p);  // the step succeeded: the next one, or the verdict
  void fail(Probe& p, ProbeResult result, const std::string& why);
  void finish(Probe& p, ProbeReport report);
  void release(Probe& p);  // frees the transfers (not the probe)
  static size_t onBody(char* data, size_t size, size_t n, void* userp);

  uv_loop_t* loop_;
  Callback callback_;
  CurlMulti multi_;
  TokenCache tokens_;
  bool closed_ = false;
  size_t token_requests_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Probe>> probes_;
  EasyPool pool_;
  uint64_t write_serial_ = 0;
};

}  // namespace switchyard::health
