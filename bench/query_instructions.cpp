// Instructions per query, for `valgrind --tool=callgrind` (repeatable on a
// noisy machine, unlike seconds). Runs one query case N times through
// respond(); run it for N and 2N and the difference over N is the per-query
// count with set-up cost cancelled:
//   bench/query_instructions.sh          (does exactly that for every case)
// usage: query_instructions CASE N    CASE: global-ecs global-source regional nxdomain refused,
//        shared-ecs shared-source (the client region's nearest replica down, so two
//        replicas share it: routing.spread sticky picks one per subnet),
//        each optionally with "+rrl": the rate limiter's check as well (rate_limit on,
//        sources spread over 4,096 prefixes so the buckets are not all one cache line)
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "config/config_loader.h"
#include "dns/answer_compiler.h"
#include "dns/rate_limiter.h"
#include "dns/responder.h"
#include "policy/routing_policy.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_zone.h"

using namespace switchyard;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s global-ecs|global-source|regional|nxdomain|refused N\n", argv[0]);
    return 2;
  }
  std::string which = argv[1];
  long n = std::atol(argv[2]);
  bool rrl = which.size() > 4 && which.compare(which.size() - 4, 4, "+rrl") == 0;
  if (rrl) which.resize(which.size() - 4);
  std::vector<uint8_t> q;
  if (which == "global-ecs")
    q = test::buildQuery("myregistry.cr.example.test", 1, {.ecs = IpPrefix::parse("198.51.100.64/26").value()});
  else if (which == "global-source") q = test::buildQuery("MyRegistry.cr.example.test", 1, {.edns = false});
  else if (which == "shared-ecs")
    q = test::buildQuery("myregistry.cr.example.test", 1, {.ecs = IpPrefix::parse("198.51.100.0/26").value()});
  else if (which == "shared-source") q = test::buildQuery("MyRegistry.cr.example.test", 1, {.edns = false});
  else if (which == "regional") q = test::buildQuery("myregistry.westus.geo.cr.example.test", 1);
  else if (which == "nxdomain") q = test::buildQuery("missing.cr.example.test", 1);
  else if (which == "refused") q = test::buildQuery("example.org", 1);
  else return 2;

  test::Zone zone;
  if (which.starts_with("shared-")) {
    zone.states[0][0].health = policy::Health::Down;  // eastus: its clients share westus + westeurope
    zone.rebuild();
  }
  const auto& set = zone.set;

  IpAddress source = IpAddress::v4(192, 0, 2, 1);
  dns::Query scratch;
  static uint8_t out[65535];
  size_t total = 0;
  dns::RateLimiter limiter(1u << 18);
  policy::RateLimit limits;
  limits.responses_per_second = limits.errors_per_second = 65535;
  for (long i = 0; i < n; ++i) {
    dns::ResponseInfo info;
    total += dns::respond(*set, q.data(), q.size(), source, dns::Transport::Udp, scratch, out, sizeof out, &info);
    if (rrl) {
      source.bytes[1] = static_cast<uint8_t>(i >> 4);
      source.bytes[2] = static_cast<uint8_t>(i << 4);
      total += limiter.allow(limits, source, dns::rateClassOf(info.rcode, info.in_zone), scratch.qname_hash, 1);
    }
  }
  std::printf("%s %ld queries, %zu bytes\n", which.c_str(), n, total);
  return 0;
}
