// AdminServer: the HTTP listener on `listen.admin`. For now it serves the two
// unauthenticated probes an orchestrator needs:
//   GET /healthz  200 while the process runs
//   GET /readyz   200 once the first health round is done (or state was
//                 restored), else 503 with the reason
// It runs cpp-httplib's own threads, isolated from the DNS workers; it reads
// only atomics published by the control thread.
// Thread safety: start()/stop() from the control thread.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "common/ip_address.h"
#include "common/result.h"

namespace httplib {
class Server;
}

namespace switchyard::control {

struct Readiness {
  std::atomic<bool> health_round_done{false};
  std::atomic<bool> dns_serving{false};
};

class AdminServer {
 public:
  explicit AdminServer(const Readiness& readiness);
  ~AdminServer();
  Result<bool> start(const SocketAddress& address);
  void stop();
  uint16_t port() const { return port_; }

 private:
  const Readiness& readiness_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace switchyard::control
