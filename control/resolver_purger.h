// ResolverPurger: flushes the caches of the operator's caching resolvers
// (announce.resolvers) when a global name's answer changes, so clients see a
// purge within milliseconds instead of after the global TTL.
//
// One sender thread per resolver: a dead or hanging resolver delays nobody
// else, and nothing here runs on a loop. Per resolver:
//   1. purge(name) adds the name to its pending set. Coalescing: a name
//      already waiting is not queued twice (its earliest decision is kept,
//      for the latency); a name in flight is queued again, because its
//      answer moved after that flush began.
//   2. The sender flushes the oldest pending name (resolver_flush.h, kTimeout
//      per attempt); a failure is retried after 100, 200, 400 ms, at most
//      kMaxAttempts in all, then given up (the TTL still bounds staleness).
//   3. Every attempt's outcome goes to `report` (called on the sender
//      thread: the owner posts it to its own loop).
//   4. At most kMaxPending names wait; past that the pending set becomes one
//      flush of the zone's whole subtree, which covers them all.
// Thread safety: purge(), setResolvers(), status() and stop() from the
// control thread; reports come from the sender threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "control/resolver_flush.h"
#include "policy/topology.h"

namespace switchyard::control {

struct PurgeReport {
  std::string resolver;
  std::string name;          // the global name, or the zone for a subtree flush
  bool subtree = false;
  bool ok = false;
  bool final = false;        // ok, or the last attempt failed (given up)
  int attempt = 1;
  uint32_t decisions = 1;    // routing decisions this flush covers (coalesced ones included)
  std::string reason;        // when !ok: connect | timeout | tls | auth | refused | protocol
  std::string detail;
  double seconds = 0;        // ok: from the (earliest coalesced) decision to the resolver's "ok"
  double attempt_seconds = 0;
};

struct ResolverStatus {
  policy::CachingResolver resolver;
  bool up = false;           // the last attempt succeeded (false before any)
  uint64_t flushed = 0, errors = 0, given_up = 0;
  size_t pending = 0;
  std::optional<PurgeReport> last;
  std::chrono::system_clock::time_point last_at;
};

class ResolverPurger {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kTimeout{2000};
  static constexpr int kMaxAttempts = 4;
  static constexpr size_t kMaxPending = 10000;

  // One attempt at one resolver; flushResolverCache but in tests.
  using Flush = std::function<FlushOutcome(const policy::CachingResolver&, const std::string& name, bool subtree,
                                           std::chrono::milliseconds timeout)>;

  explicit ResolverPurger(std::function<void(const PurgeReport&)> report, Flush flush = flushResolverCache);
  ~ResolverPurger();
  ResolverPurger(const ResolverPurger&) = delete;
  ResolverPurger& operator=(const ResolverPurger&) = delete;

  // The zone (a subtree flush when the pending set overflows) and the
  // resolvers: new ones start, removed ones stop, changed ones (a rotated
  // key) take the new settings for their next attempt.
  void setResolvers(const std::string& zone, const std::vector<policy::CachingResolver>& resolvers);
  // `decided`: when the routing decision was made.
  void purge(const std::string& name, Clock::time_point decided, bool subtree = false);
  std::vector<ResolverStatus> status() const;
  size_t size() const { return senders_.size(); }
  void stop();

 private:
  class Sender;
  std::function<void(const PurgeReport&)> report_;
  Flush flush_;
  std::string zone_;
  std::vector<std::unique_ptr<Sender>> senders_;
  std::vector<std::unique_ptr<Sender>> retired_;  // stopping; the finished ones joined by the next setResolvers, the rest in stop()
};

}  // namespace switchyard::control
