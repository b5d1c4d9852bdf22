// Drill: one failover drill, run on its own thread, proving with real DNS
// queries that the global name leaves a replica and comes back.
//
//   1. baseline: query the global name once per client region (with EDNS
//      Client Subnet for that region), and every regional and data name;
//   2. apply the scenario through the control thread (exclusion, injected
//      `down`, or injected `throttled`, which must NOT move traffic);
//   3. poll the answers until the control plane's new routing is observed
//      (exclude, fail), or for the whole hold time (throttle), timing it;
//   4. at every poll, check that regional and data names did not move; with
//      routing.spread sticky, ask more subnets per client region several
//      times each: every subnet keeps one replica; report the split;
//   5. revert, and poll until the baseline answers are back, timing it;
//   6. fill the report: expectations with pass/fail, timings, answers, and
//      the events recorded meanwhile.
// Whatever happens (failure midway, abort, a DNS server that does not answer)
// the drill reverts what it applied; the DrillManager also reverts on its own
// when the daemon stops while a drill runs.
//
// The plan (names, client subnets, which record belongs to which replica) is
// fixed on the control thread before the drill starts, so the drill thread
// never reads control state: it talks to the control thread only through
// DrillControl, whose calls block until the control thread ran them.
// Thread safety: run() on the drill's thread; abort() and report() from any.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/ip_address.h"
#include "common/result.h"

namespace switchyard::control {

enum class DrillScenario { Exclude, Fail, Throttle };
const char* scenarioName(DrillScenario scenario);

// Which replicas answer each client region ("westus" -> {"eastus"}).
using ClientAnswers = std::map<std::string, std::vector<std::string>>;

struct DrillPlan {
  std::string registry;
  std::string replica;  // region name of the drilled replica
  DrillScenario scenario = DrillScenario::Exclude;
  bool content_fault = false;  // fail: inject content_error (storage broken) rather than down
  SocketAddress dns;
  std::chrono::milliseconds timeout{15'000};  // bound for leaving and for coming back
  std::chrono::milliseconds hold{3'000};      // throttle: how long traffic must stay
  std::string global_name;
  uint16_t qtype = 1;  // A, or AAAA when no replica has an IPv4 address
  struct Client {
    std::string region;
    IpPrefix subnet;  // sent as EDNS Client Subnet
    uint16_t qtype = 0;  // sticky probes: asked with this type (the subnet's family); 0 = the plan's
  };
  std::vector<Client> clients;
  // routing.spread sticky: more client subnets per client region, each asked
  // several times while the drill's change is applied: every one must keep
  // ONE replica (a push from it never bounces), and the report gives the
  // split ("answers.split": region -> replica -> subnets).
  bool sticky = false;
  std::vector<Client> sticky_probes;
  struct Fixed {
    std::string label;  // "regional westus", "data westus"
    std::string name;
  };
  std::vector<Fixed> fixed;  // names that must never move
  // Answer records ("A 192.0.2.1", "CNAME x.example.") of each replica.
  std::map<std::string, std::vector<std::string>> records;
  uint64_t first_event_id = 0;
  // announce.resolvers: their names; the report gives how fast each one's
  // cache was flushed for the global name (apply and revert).
  std::vector<std::string> resolvers;
};

// The control thread's side of a drill. Each call blocks its caller (the
// drill thread) until the control thread ran it, bounded; an error means the
// control thread refused or did not answer (e.g. the daemon is stopping).
class DrillControl {
 public:
  virtual ~DrillControl() = default;
  virtual Result<bool> apply() = 0;
  virtual Result<bool> revert() = 0;
  // The routing the control plane decided, per client region.
  virtual Result<ClientAnswers> routing() = 0;
  virtual nlohmann::json eventsSince(uint64_t id) = 0;
};

// What a drill found, as GET /v1/drills/ID shows it (docs/api.md, "Drills").
// Typed for the code that reads it (DrillManager, the status page's list);
// `answers` stays JSON: it is the DNS observations, keyed by phase
// ("baseline", "applied", "after", "fixed", "split"), shown as they are.
struct DrillExpectation {
  std::string name;
  bool passed = false;
  std::string detail;
};

struct DrillReport {
  uint64_t id = 0;
  std::string registry, replica, scenario, fault, dns, global_name;
  std::string state = "running";  // running | passed | failed | aborted
  std::string phase = "starting";  // starting | baseline | applied | reverting | done
  std::string started_at, finished_at;
  int64_t timeout_ms = 0;
  std::optional<int64_t> hold_ms;           // throttle only
  std::map<std::string, double> timings;    // applyMs, leftMs, heldMs, backMs
  nlohmann::json answers = nlohmann::json::object();
  std::vector<DrillExpectation> expectations;
  nlohmann::json events = nlohmann::json::array();
  // Per resolver: "resolver caches flushed in 3.2 ms, 2.9 ms" (apply, revert),
  // or "3.2 ms (2 changes in one flush)" when they coalesced.
  std::map<std::string, std::string> resolver_flushes;

  bool passed() const;  // at least one expectation, and every one passed
  nlohmann::json toJson() const;
};

// What a drill's report says of each resolver's flushes of `name`, from the
// events since the drill began: "resolver caches flushed in 3.2 ms, 2.9 ms"
// (apply, revert); "3.2 ms (2 changes in one flush)" when the revert came
// before the apply's flush began (the purger coalesces a name that is still
// waiting); "failed (timeout)" for one given up; "no flush seen".
// `complete`: every resolver's flushes cover both changes.
struct ResolverFlushes {
  std::map<std::string, std::string> summary;
  bool complete = true;
};
ResolverFlushes resolverFlushes(const nlohmann::json& events, const std::string& name,
                                const std::vector<std::string>& resolvers);

class Drill {
 public:
  Drill(uint64_t id, DrillPlan plan);
  void run(DrillControl& control);
  void abort() { aborted_ = true; }
  bool finished() const { return finished_; }
  DrillReport report() const;
  const DrillPlan& plan() const { return plan_; }
  uint64_t id() const { return id_; }

 private:
  struct Observation {
    ClientAnswers clients;                          // replica names, or "?RECORD" / "!ERROR"
    std::map<std::string, std::vector<std::string>> fixed;  // label -> records or "!ERROR"
  };
  Observation observe() const;
  std::vector<std::string> replicasOf(const std::vector<std::string>& records) const;
  // Polls until `done(observation)` or the bound passes (or abort); checks the
  // fixed names at every poll. Returns the elapsed ms, or -1 when not reached.
  template <typename Done>
  double pollUntil(std::chrono::milliseconds bound, Done done, Observation& last, bool abortable);
  void expect(std::string name, bool passed, std::string detail);
  void setPhase(const char* phase);
  void fixedMoved(const Observation& o);
  // Step 4's sticky check, while the scenario is applied.
  void checkSticky();

  const uint64_t id_;
  const DrillPlan plan_;
  std::atomic<bool> aborted_{false};
  std::atomic<bool> finished_{false};
  Observation baseline_;
  mutable std::mutex mutex_;
  DrillReport report_;  // GUARDED_BY(mutex_)
  std::string fixed_moved_;  // drill thread only: first regional/data move seen
};

}  // namespace switchyard::control
