// PlainProber: `http` and `tcp` probes of a numeric address, written directly
// on libuv: connect, send one HTTP/1.1 GET, read the status line, close.
//
// Why not libcurl for these: a probe is one TCP connection and ~20 bytes of
// answer that matter; libcurl's per-transfer machinery (URL parsing, connect-to
// resolution, header handling, multi bookkeeping) cost as much CPU as the
// kernel's TCP set-up (bench/RESULTS.md, "native prober"). libcurl stays for
// https and for targets that are host names (Prober routes them).
//
// Outcomes match CurlProber's classification, so the two are interchangeable
// (tests/integration/prober_test.cpp runs the same cases against both):
//   connect refused / reset / closed before any byte -> ConnectError
//   no verdict within spec.timeout (connect, send and read) -> Timeout
//   a reply that is not "HTTP/1.x NNN ..." -> HttpError
//   status in healthy_status -> Ok; in throttled_status -> Throttled; else HttpError
// The connection is closed as soon as the status line is in: the body and the
// rest of the headers are not needed for a verdict.
//
// Thread safety: every method and callback runs on the loop's thread.
// Invariants:
//   1. Every started probe ends in exactly one callback, unless cancelled
//      (cancel() and close() never call back).
//   2. A finished or cancelled probe's handles are closing; its memory is freed
//      by the last close callback, never earlier.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <unordered_map>

#include "health/probe_result.h"
#include "health/probe_target.h"

namespace switchyard::health {

class PlainProber {
 public:
  using Callback = std::function<void(uint64_t id, const ProbeReport& report)>;

  PlainProber(uv_loop_t* loop, Callback callback);
  ~PlainProber();
  PlainProber(const PlainProber&) = delete;
  PlainProber& operator=(const PlainProber&) = delete;

  // True when this prober can run `target` (http or tcp to a numeric address).
  static bool handles(const ProbeTarget& target);
  // REQUIRES: handles(target); `id` unique among probes in flight.
  void start(uint64_t id, const ProbeTarget& target);
  void cancel(uint64_t id);
  void close();  // cancels everything; never calls back afterwards
  size_t inFlight() const { return probes_.size(); }

 private:
  struct Probe;
  void finish(Probe* p, ProbeReport report);
  void release(Probe* p);  // closes the handles; frees on the last close
  static void onConnect(uv_connect_t* req, int status);
  static void onWrite(uv_write_t* req, int status);
  static void onAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onTimeout(uv_timer_t* t);

  uv_loop_t* loop_;
  Callback callback_;
  bool closed_ = false;
  std::unordered_map<uint64_t, Probe*> probes_;
};

}  // namespace switchyard::health
