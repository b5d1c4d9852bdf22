#include "dns/dns_server.h"

#include <unistd.h>

#include "dns/socket_util.h"

namespace switchyard::dns {

Result<std::unique_ptr<DnsServer>> DnsServer::start(const std::vector<SocketAddress>& listen,
                                                    int threads, AnswerPublisher& publisher,
                                                    WorkerOptions options) {
  std::unique_ptr<DnsServer> server(new DnsServer(publisher));
  std::vector<std::vector<int>> udp(static_cast<size_t>(threads)), tcp(static_cast<size_t>(threads));
  auto closeAll = [&] {
    for (auto& v : udp)
      for (int fd : v) close(fd);
    for (auto& v : tcp)
      for (int fd : v) close(fd);
  };
  for (SocketAddress address : listen) {
    for (int t = 0; t < threads; ++t) {
      for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
        auto fd = bindSocket(address, type);
        if (!fd) {
          closeAll();
          return Error{fd.error()};
        }
        if (address.port == 0) address.port = boundPort(*fd);
        (type == SOCK_DGRAM ? udp : tcp)[static_cast<size_t>(t)].push_back(*fd);
      }
    }
    server->bound_.push_back(address);
  }
  server->limiter_ = std::make_unique<RateLimiter>(options.rate_limit_buckets);
  for (auto& fds : udp)
    for (int fd : fds) server->udp_.push_back(std::make_unique<UdpThread>(publisher, fd, server->limiter_.get()));
  for (auto& fds : tcp) server->workers_.push_back(std::make_unique<DnsWorker>(publisher, std::move(fds), options));
  for (auto& u : server->udp_) u->start();
  for (auto& w : server->workers_) w->start();
  return server;
}

DnsServer::~DnsServer() { stop(); }

std::vector<const WorkerStats*> DnsServer::stats() const {
  std::vector<const WorkerStats*> out;
  for (const auto& u : udp_) out.push_back(&u->stats());
  for (const auto& w : workers_) out.push_back(&w->stats());
  return out;
}

void DnsServer::stop() {
  if (workers_.empty() && udp_.empty()) return;
  // Join every thread first, then drop the readers they used. Publishing (and
  // so waking a worker) happens on this same thread, so nothing wakes a worker
  // that has stopped.
  for (auto& u : udp_) u->stop();
  for (auto& w : workers_) w->stop();
  publisher_.removeReaders();
  udp_.clear();
  workers_.clear();
}

}  // namespace switchyard::dns
