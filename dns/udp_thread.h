// UdpThread: one thread serving one UDP socket (SO_REUSEPORT, one per thread
// and listen address), the way gdnsd and Knot do it: it sleeps in recvmmsg,
// answers the batch from its reader's current AnswerSet and sends it with
// sendmmsg. Two system calls per batch and no event loop, which is what a
// moderate rate costs most (an epoll_wait per wake-up was 14% of the server's
// CPU at 30k qps; bench/RESULTS.md).
//
// The reader goes offline while the thread sleeps, so publishing never waits
// for an idle thread, and online (newest set) before every batch it answers.
// Stop: shutdown(SHUT_RD) wakes the blocked recvmmsg; a 500 ms receive timeout
// bounds the wait even if it did not.
// Thread safety: constructed, started, stopped and destroyed by one (control)
// thread; stats() may be read from any thread.
// Invariants:
//   1. The query path uses only the batch's buffers, query_ and the reader's
//      current set: no allocation, no locks.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "dns/answer_publisher.h"
#include "dns/query_parser.h"
#include "dns/udp_batch.h"
#include "dns/worker_stats.h"

namespace switchyard::dns {

class UdpThread {
 public:
  // Takes ownership of the bound socket and makes it blocking. `limiter`
  // (may be null: no rate limiting) must outlive the thread.
  UdpThread(AnswerPublisher& publisher, int fd, RateLimiter* limiter = nullptr);
  ~UdpThread();
  UdpThread(const UdpThread&) = delete;
  UdpThread& operator=(const UdpThread&) = delete;

  void start();
  void stop();  // wakes the thread and joins it
  const WorkerStats& stats() const { return stats_; }

 private:
  void run();

  AnswerPublisher::Reader& reader_;
  std::unique_ptr<UdpBatch> batch_;
  RateLimiter* limiter_;
  Query query_;
  WorkerStats stats_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace switchyard::dns
