// queryMetrics: the DNS workers' counters (dns/worker_stats.h) as a
// prometheus-cpp Collectable that sums every worker's block at scrape time
// (metrics/per_thread_counters.h says why the query path keeps its own).
// Families: switchyard_dns_queries_total{endpoint,rcode} (CONTRACTS.md §6)
// and switchyard_dns_{dropped,send_errors,truncated,tcp_evicted,tcp_paused,
// rate_limited}_total.
// Thread safety: build and collect on any thread while the blocks live; the
// daemon does both on the control thread (metrics_scrape.h), because the
// blocks go when the DNS server stops.
#pragma once

#include <memory>
#include <vector>

#include "dns/worker_stats.h"
#include "metrics/per_thread_counters.h"

namespace switchyard::control {

std::unique_ptr<metrics::PerThreadCounters<dns::WorkerStats>> queryMetrics(
    std::vector<const dns::WorkerStats*> workers);

}  // namespace switchyard::control
