// Micro-benchmark of one query on the hot path: parse + classify + client
// region + lookup + write, from a precompiled AnswerSet, no sockets.
//   ./build/bench/query_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include "config/config_loader.h"
#include "dns/answer_compiler.h"
#include "dns/responder.h"
#include "policy/routing_policy.h"
#include "tests/support/dns_client.h"
#include "tests/support/test_zone.h"

using namespace switchyard;

namespace {

void run(benchmark::State& state, const std::vector<uint8_t>& query) {
  static const test::Zone zone;
  const auto& set = zone.set;
  IpAddress source = IpAddress::v4(192, 0, 2, 1);
  dns::Query scratch;
  std::vector<uint8_t> out(65535);
  for (auto _ : state) {
    size_t n = dns::respond(*set, query.data(), query.size(), source, dns::Transport::Udp, scratch, out.data(),
                            out.size());
    benchmark::DoNotOptimize(n);
  }
}

void GlobalWithEcs(benchmark::State& s) {
  run(s, test::buildQuery("myregistry.cr.example.test", 1, {.ecs = IpPrefix::parse("198.51.100.64/26").value()}));
}
void GlobalBySource(benchmark::State& s) { run(s, test::buildQuery("MyRegistry.cr.example.test", 1, {.edns = false})); }
void Regional(benchmark::State& s) { run(s, test::buildQuery("myregistry.westus.geo.cr.example.test", 1)); }
void Nxdomain(benchmark::State& s) { run(s, test::buildQuery("missing.cr.example.test", 1)); }
void Refused(benchmark::State& s) { run(s, test::buildQuery("example.org", 1)); }

void ParseOnly(benchmark::State& state) {
  auto q = test::buildQuery("myregistry.cr.example.test", 1, {.ecs = IpPrefix::parse("198.51.100.64/26").value()});
  dns::Query scratch;
  for (auto _ : state) benchmark::DoNotOptimize(dns::parseQuery(q.data(), q.size(), scratch));
}

}  // namespace

BENCHMARK(GlobalWithEcs);
BENCHMARK(GlobalBySource);
BENCHMARK(Regional);
BENCHMARK(Nxdomain);
BENCHMARK(Refused);
BENCHMARK(ParseOnly);
BENCHMARK_MAIN();
