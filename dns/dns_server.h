// DnsServer: the threads serving every listen address over UDP and TCP.
//
// Start-up order:
//   1. For each listen address, bind `threads` UDP and `threads` TCP sockets
//      with SO_REUSEPORT (port 0: the first socket's kernel-chosen port is used
//      for all the others, so tests can bind without guessing; if TCP cannot
//      have that port, a new one is chosen, a bounded number of times).
//   2. One UdpThread per UDP socket; one DnsWorker (libuv loop) per thread
//      index serving that index's TCP sockets. Each registers as a reader.
//   3. Start them all.
// Stop: every thread is joined before the readers are removed, so no thread
// ever touches a freed Reader.
// Any bind failure stops start-up with the address and the OS error.
// Thread safety: create, stop and destroy on one (control) thread.
#pragma once

#include <memory>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"
#include "dns/answer_publisher.h"
#include "dns/dns_worker.h"
#include "dns/rate_limiter.h"
#include "dns/udp_thread.h"

namespace switchyard::dns {

class DnsServer {
 public:
  // REQUIRES: threads >= 1.
  static Result<std::unique_ptr<DnsServer>> start(const std::vector<SocketAddress>& listen,
                                                  int threads, AnswerPublisher& publisher,
                                                  WorkerOptions options = {});
  ~DnsServer();
  void stop();

  // The listen addresses with their actual ports.
  const std::vector<SocketAddress>& bound() const { return bound_; }
  // Every worker's counters (read with relaxed loads while they run).
  std::vector<const WorkerStats*> stats() const;

 private:
  explicit DnsServer(AnswerPublisher& publisher) : publisher_(publisher) {}
  AnswerPublisher& publisher_;
  std::vector<SocketAddress> bound_;
  std::unique_ptr<RateLimiter> limiter_;  // shared by the UDP threads; outlives them
  std::vector<std::unique_ptr<UdpThread>> udp_;
  std::vector<std::unique_ptr<DnsWorker>> workers_;
};

}  // namespace switchyard::dns
