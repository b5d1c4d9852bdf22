#include "control/query_metrics.h"

namespace switchyard::control {

namespace {

using Counter = std::atomic<uint64_t> dns::WorkerStats::*;

uint64_t load(const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); }

}  // namespace

std::unique_ptr<metrics::PerThreadCounters<dns::WorkerStats>> queryMetrics(
    std::vector<const dns::WorkerStats*> workers) {
  using S = dns::WorkerStats;
  auto m = std::make_unique<metrics::PerThreadCounters<S>>(std::move(workers));
  m->family("switchyard_dns_queries_total", "DNS queries answered, by endpoint class and response code.");
  for (int e = 0; e < S::kEndpoints; ++e)
    for (int r = 0; r < S::kRcodes; ++r)
      m->series({{"endpoint", S::endpointLabel(e)}, {"rcode", S::rcodeLabel(r)}},
                [e, r](const S& s) { return load(s.queries[e][r]); });
  struct Single {
    const char* name;
    const char* help;
    Counter counter;
  };
  static const Single kSingles[] = {
      {"switchyard_dns_dropped_total", "Packets dropped without an answer (responses, runts).", &S::dropped},
      {"switchyard_dns_send_errors_total", "UDP answers the kernel refused to send (not a full buffer).",
       &S::send_errors},
      {"switchyard_dns_truncated_total", "UDP answers sent truncated (TC) for a TCP retry.", &S::truncated},
      {"switchyard_dns_tcp_evicted_total",
       "TCP connections closed because a serving thread was at listen.tcp.max_connections (the quietest goes).",
       &S::tcp_evicted},
      {"switchyard_dns_tcp_paused_total",
       "Times a TCP connection stopped being read because its client was not taking its answers (backpressure).",
       &S::tcp_paused},
  };
  for (const auto& single : kSingles) {
    m->family(single.name, single.help);
    m->series({}, [c = single.counter](const S& s) { return load(s.*c); });
  }
  m->family("switchyard_dns_rate_limited_total",
            "UDP answers past a client's rate limit (rate_limit): dropped, or slipped out truncated.");
  m->series({{"action", "dropped"}}, [](const S& s) { return load(s.rate_limited_dropped); });
  m->series({{"action", "slipped"}}, [](const S& s) { return load(s.rate_limited_slipped); });
  return m;
}

}  // namespace switchyard::control
