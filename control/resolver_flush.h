// flushResolverCache: one cache flush of one name at one caching resolver,
// over that resolver's own control protocol:
//   pdns-recursor  PUT {url}/api/v1/servers/localhost/cache/flush?domain=NAME
//                  with X-API-Key (its answer: 200 and {"count": N, ...}),
//                  through libcurl, whose one timeout covers the lookup too;
//   unbound        "UBCT1 flush NAME\n" on its remote control (unix socket, or
//                  TCP with the client certificate unbound-control-setup
//                  made, the server's certificate pinned), answered "ok";
//                  the zone form is "flush_zone";
//   knot-resolver  "__binary\n" then the Lua "cache.clear('NAME', true)" on
//                  kresd's control socket; a table back means done.
// `subtree`: the name and everything below it (a reload: the whole zone).
// Thread safety: blocking I/O, all of it within `timeout`; call it from a
// sender thread (resolver_purger.h), never from a loop.
#pragma once

#include <chrono>
#include <string>

#include "policy/topology.h"

namespace switchyard::control {

struct FlushOutcome {
  bool ok = false;
  // When !ok, the metric's reason: connect | timeout | tls | auth | refused | protocol.
  std::string reason;
  std::string detail;  // for the log and events; never holds a secret
};

FlushOutcome flushResolverCache(const policy::CachingResolver& resolver, const std::string& name, bool subtree,
                                std::chrono::milliseconds timeout);

}  // namespace switchyard::control
