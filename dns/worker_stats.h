// WorkerStats: one DNS worker's query counters, cheap enough for the hot path.
// Each worker writes only its own (a plain load + store, no locked
// instruction); a scrape sums every worker's with relaxed loads.
// Thread safety: count*() by the owning worker only; reads from any thread.
#pragma once

#include <atomic>
#include <cstdint>

#include "dns/responder.h"

namespace switchyard::dns {

struct alignas(64) WorkerStats {
  static constexpr int kEndpoints = 5;  // global, regional, data, apex, other
  static constexpr int kRcodes = 7;     // NOERROR FORMERR SERVFAIL NXDOMAIN NOTIMP REFUSED BADVERS
  static const char* endpointLabel(int i);
  static const char* rcodeLabel(int i);

  std::atomic<uint64_t> queries[kEndpoints][kRcodes] = {};
  std::atomic<uint64_t> dropped{0};    // no answer possible (rule 1 of the parser)
  std::atomic<uint64_t> truncated{0};  // UDP answers sent with TC
  std::atomic<uint64_t> tcp{0};        // queries that came over TCP
  std::atomic<uint64_t> send_errors{0};  // UDP answers the kernel refused (not "buffer full")
  std::atomic<uint64_t> tcp_evicted{0};  // TCP connections closed to make room for a new one
  std::atomic<uint64_t> tcp_paused{0};   // TCP connections not read until their client takes its answers
  std::atomic<uint64_t> rate_limited_dropped{0};  // past the client's budget: not sent
  std::atomic<uint64_t> rate_limited_slipped{0};  // past the budget: sent truncated (TC)

  void count(const ResponseInfo& info, Transport transport);
  static void bump(std::atomic<uint64_t>& c) { c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
};

}  // namespace switchyard::dns
