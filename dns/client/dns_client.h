// DnsClient: a blocking DNS client for cold paths (failover drills, tests,
// benchmarks). Builds queries with ldns, sends them over real UDP or TCP
// sockets bounded by a timeout, and parses replies with ldns: an independent
// implementation of the wire format, so the tests use it as an oracle for ours.
// Never used on the serving path (ldns is ~1000x slower than a precompiled answer).
// Thread safety: stateless functions; any thread; each call blocks its caller
// for at most its timeout.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "dns/client/ldns.h"

namespace switchyard::dnsclient {

struct PktDeleter {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktDeleter>;

struct QueryOptions {
  bool tcp = false;
  bool edns = true;
  uint16_t udp_size = 1232;
  std::optional<IpPrefix> ecs = std::nullopt;  // client subnet to send
  bool rd = false;
  int timeout_ms = 2000;  // for query(): how long to wait for the reply
};

// Wire bytes of a query (id 0x1234).
std::vector<uint8_t> buildQuery(const std::string& name, uint16_t type, const QueryOptions& o = {});

// Sends raw bytes and returns the raw reply (empty on timeout).
std::vector<uint8_t> exchange(const SocketAddress& server, const std::vector<uint8_t>& query, bool tcp,
                              int timeout_ms = 2000);

// Builds, sends, parses. nullptr on timeout or unparseable reply.
Pkt query(const SocketAddress& server, const std::string& name, uint16_t type,
          const QueryOptions& o = {});
Pkt parse(const std::vector<uint8_t>& wire);

// "A 127.0.0.11" style strings of the answer section, sorted.
std::vector<std::string> answers(const ldns_pkt* p);
std::vector<std::string> section(ldns_rr_list* list);
// ECS option of a reply: {source, scope}, or nullopt.
std::optional<std::pair<int, int>> ecsOf(ldns_pkt* p);

}  // namespace switchyard::dnsclient
