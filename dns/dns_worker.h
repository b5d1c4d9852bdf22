// DnsWorker: one DNS-over-TCP serving thread with its own libuv loop, its own
// TCP listeners (SO_REUSEPORT, one per listen address), and its own view of
// the published AnswerSet. UDP is served by UdpThread (blocking recvmmsg).
//
// Thread safety:
//   - Constructed and start()/stop() called by the owning (control) thread.
//   - Everything else runs on the worker's thread; the only cross-thread entry
//     points are the two uv_async handles (wake: new answers; stop).
// Invariants:
//   1. TCP allocates per connection and per write (one write carries the
//      answers to every query one read brought), which is off the UDP path.
//   2. At most max_tcp connections are open. connections_ is ordered by last
//      activity (accept or read), oldest first; a new connection beyond the
//      cap closes the front one (as gdnsd does), or itself when even the
//      front arrived this loop turn. Either way what it already sent is
//      answered first, so a flood of idle or slow connections cannot lock a
//      real client out: its query is answered as it arrives.
//   3. A connection lives at most tcp_lifetime: a client that sends a byte
//      now and then (slowloris) resets the idle timer but not this one.
//   4. A connection whose unsent answers exceed a small bound (16 KiB) is
//      not read until they drain (backpressure): a client that pipelines
//      and never reads holds at most ~160 KiB (16 KiB queued, a 16 KiB batch,
//      one 64 KiB answer, its 64 KiB input), not a queue that grows, and
//      loses no query. It is still closed at the idle timeout and the lifetime.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <thread>
#include <vector>

#include "dns/answer_publisher.h"
#include "dns/query_parser.h"
#include "dns/worker_stats.h"

namespace switchyard::dns {

struct WorkerOptions {
  std::chrono::milliseconds tcp_idle{10'000};       // no bytes for this long: closed
  std::chrono::milliseconds tcp_lifetime{120'000};  // older than this: closed, however busy
  size_t max_tcp = 256;
  uint32_t rate_limit_buckets = 1u << 18;  // RateLimiter table (UDP threads); a power of two
};

class DnsWorker {
 public:
  // Takes ownership of the bound listening sockets.
  DnsWorker(AnswerPublisher& publisher, std::vector<int> tcp_fds, WorkerOptions options);
  ~DnsWorker();
  DnsWorker(const DnsWorker&) = delete;
  DnsWorker& operator=(const DnsWorker&) = delete;

  void start();
  void stop();  // closes every handle and joins the thread
  const WorkerStats& stats() const { return stats_; }

 private:
  struct TcpConnection;
  static void onWake(uv_async_t* h);
  static void onStop(uv_async_t* h);
  static void onAccept(uv_stream_t* server, int status);
  static void onTcpAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void onTcpRead(uv_stream_t* h, ssize_t nread, const uv_buf_t* buf);
  static void onWritten(uv_write_t* r, int status);  // frees r; resumes a paused connection
  static void onIdle(uv_timer_t* t);
  void armTimer(TcpConnection& c);  // fires at the idle timeout or the lifetime's end, whichever is first
  void serveTcp(TcpConnection& c);
  bool flush(TcpConnection& c);  // writes batch_; false if that closed the connection
  void readNow(TcpConnection& c);  // what already arrived, without waiting for the loop
  void closeConnection(TcpConnection* c);
  void run();

  AnswerPublisher::Reader* reader_ = nullptr;
  WorkerOptions options_;
  uv_loop_t loop_{};
  uv_async_t wake_{};
  uv_async_t stop_{};
  std::vector<std::unique_ptr<uv_tcp_t>> listeners_;
  std::list<TcpConnection*> connections_;
  std::thread thread_;
  bool started_ = false;
  Query query_;
  WorkerStats stats_;
  alignas(64) uint8_t tx_[65536];  // one TCP answer
  std::vector<uint8_t> batch_;      // length-prefixed answers of one serveTcp() pass, not yet written
};

}  // namespace switchyard::dns
