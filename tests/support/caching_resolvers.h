// Real caching resolvers from Debian (PowerDNS Recursor, Unbound, Knot
// Resolver) on random loopback addresses, each forwarding the test zone to a
// Switchyard daemon and each with its cache-control channel on, for the
// announce.resolvers tests. Each is started with start*() and killed by PID
// in the destructor.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/ip_address.h"

namespace switchyard::test {

class CachingResolvers {
 public:
  explicit CachingResolvers(std::string dir) : dir_(std::move(dir)) {}
  ~CachingResolvers();
  CachingResolvers(const CachingResolvers&) = delete;
  CachingResolvers& operator=(const CachingResolvers&) = delete;

  struct Pdns {
    SocketAddress dns, web;
    std::string key_file;  // holds the API key
  };
  struct Unbound {
    SocketAddress dns;
    std::string control;  // a socket path, or ADDRESS@PORT with TLS
    std::string server_cert, client_cert, client_key;  // TLS only
  };
  struct Knot {
    SocketAddress dns;
    std::string control;  // socket path
  };
  // Addresses are chosen now (the daemon's config names them); the
  // resolvers start later, once the daemon's address is known.
  Pdns pdns(bool ecs = false);
  // subnetcache: Unbound's ECS module on (it forwards the client's subnet
  // and caches answers per subnet).
  Unbound unbound(bool tls = false, bool subnetcache = false);
  Knot knot();
  // Starts every resolver chosen so far, forwarding `zone` to `daemon`.
  void start(const std::string& zone, const SocketAddress& daemon);
  // Once the daemon serves: waits (bounded) until each answers a name of
  // the zone; returns "" or what went wrong (with the resolver's log).
  std::string waitReady() const;

 private:
  struct Planned {
    enum Kind { PdnsR, UnboundR, KnotR } kind;
    std::string name;  // its directory under dir_
    SocketAddress dns, web;
    std::string control;
    bool flag = false;  // pdns: ECS on; unbound: TLS
    bool subnetcache = false;  // unbound
  };
  std::string dir_;
  std::string zone_;
  std::vector<Planned> planned_;
  std::vector<pid_t> pids_;
};

}  // namespace switchyard::test
