#include "dns/dns_server.h"

#include <unistd.h>

#include "dns/socket_util.h"

namespace switchyard::dns {

namespace {

// The sockets of one listen address: per thread index, one UDP and one TCP.
struct AddressSockets {
  SocketAddress bound;
  std::vector<int> udp, tcp;  // indexed by thread
  void close() {
    for (int fd : udp) ::close(fd);
    for (int fd : tcp) ::close(fd);
    udp.clear();
    tcp.clear();
  }
};

Result<AddressSockets> bindAddress(SocketAddress address, int threads) {
  AddressSockets out;
  for (int t = 0; t < threads; ++t) {
    for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
      auto fd = bindSocket(address, type);
      if (!fd) {
        out.close();
        return Error{fd.error()};
      }
      if (address.port == 0) address.port = boundPort(*fd);
      (type == SOCK_DGRAM ? out.udp : out.tcp).push_back(*fd);
    }
  }
  out.bound = address;
  return out;
}

// Port 0 lets the kernel choose the UDP port, which the TCP listener must then
// share; that port may be a TCP client's local port already (a host busy with
// outgoing connections), so a port-0 address tries again with a new choice.
constexpr int kPortZeroAttempts = 32;

}  // namespace

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
  for (const SocketAddress& address : listen) {
    auto sockets = bindAddress(address, threads);
    for (int attempt = 1; !sockets && address.port == 0 && attempt < kPortZeroAttempts; ++attempt)
      sockets = bindAddress(address, threads);
    if (!sockets) {
      closeAll();
      return Error{sockets.error()};
    }
    for (size_t t = 0; t < static_cast<size_t>(threads); ++t) {
      udp[t].push_back(sockets->udp[t]);
      tcp[t].push_back(sockets->tcp[t]);
    }
    server->bound_.push_back(sockets->bound);
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
