// FleetSync: this node's membership in a fleet (docs/fleet.md). Every node
// writes what it observes and what its operators decide into etcd, and every
// node reads all of it back through one watch, so all nodes act on the same
// data at the same etcd revision:
//
//   PREFIX nodes/NODE                      "alive", on this node's lease
//   PREFIX observations/REG/REGION/NODE    "up" | "down", on the lease
//   PREFIX routing/REG/REGION              "true" | "false" (operator flag; no lease)
//   PREFIX faults/REG/REGION               "down" | "throttled" (injected; deleted = none)
//   PREFIX catalog/REG                     a registry made through the API: its
//                                          catalog.json entry (control/catalog.h);
//                                          deleted = the registry is gone
//   PREFIX catalog-initialized             "true" once any catalog write was
//                                          made; never deleted (an empty
//                                          catalog is then one emptied, not
//                                          one never seeded)
//
// A node that dies stops renewing its lease, so its liveness and its votes
// vanish together and the survivors re-decide (quorum.h). A node that loses
// etcd keeps what it last applied (the caller keeps serving), reports
// connected() == false, and retries every second; on reconnecting it writes
// its observations again and re-reads everything before watching on.
// Thread safety: the loop's thread only.
// Invariants:
//   1. The callbacks see each key's changes in etcd's revision order.
//   2. At most one observation write is in flight; later verdicts for a pair
//      replace earlier unsent ones (only the newest matters).
//   3. Catalog changes reach on_catalog once per watch batch (a transaction's
//      keys arrive together, so a batch of registries is applied at once),
//      and after a full read as the whole catalog. A write is guarded by the
//      mod_revision of each entry as the caller last accepted it; an entry
//      the caller refused cannot be written from this node (its view of it
//      is not the fleet's).
//   4. applied_revision_ counts only changes delivered (events' own
//      revisions, a full read's revision), never a watch header's, which
//      can run ahead of the events while etcd's watcher catches up.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fleet/etcd_client.h"
#include "policy/pair_key.h"
#include "fleet/http_client.h"
#include "fleet/quorum.h"

namespace switchyard::fleet {

struct FleetOptions {
  std::string node;
  std::vector<std::string> endpoints;
  std::string prefix = "/switchyard/";
  int quorum = 0;  // 0: a majority of live nodes
  std::chrono::seconds lease_ttl{10};
};

class FleetSync {
 public:
  struct Callbacks {
    // The fleet's decision for a pair changed (why: the vote count).
    std::function<void(const std::string& registry, const std::string& region, policy::Health health,
                       const std::string& why)> on_health;
    // An operator flag or fault as stored in etcd (written by any node).
    std::function<void(const std::string& registry, const std::string& region, bool enabled)> on_routing;
    std::function<void(const std::string& registry, const std::string& region, const std::string& fault)> on_fault;
    std::function<void(bool connected, const std::string& why)> on_connection;
    // Registry -> its catalog entry's text (nullopt: deleted). `whole`: the
    // map is the entire catalog etcd holds (after connecting); a registry
    // absent from it is not in etcd. Returns the registries it refused.
    std::function<std::set<std::string>(const std::map<std::string, std::optional<std::string>>& changes, bool whole)>
        on_catalog;
  };

  // One catalog write: the registries' new entries (nullopt: deleted) and
  // the pairs that go with the change (their operator flags and faults are
  // deleted in the same transaction; a deleted registry's all at once).
  struct CatalogWrite {
    std::map<std::string, std::optional<std::string>> entries;
    std::vector<policy::PairKey> gone_pairs;
  };
  // Why a catalog write did not land: error is empty on success.
  struct CatalogWritten {
    std::string error;
    bool conflict = false;  // another node changed one of the registries since this node read it
    int64_t revision = 0;   // the revision that carries the write
  };

  FleetSync(uv_loop_t* loop, FleetOptions options, Callbacks callbacks);
  ~FleetSync();
  FleetSync(const FleetSync&) = delete;
  FleetSync& operator=(const FleetSync&) = delete;

  void start();
  // Revokes nothing (the lease lapses by itself) and closes the handles.
  void stop();

  // This node's probe verdict for a pair (Unknown: none).
  void observe(const std::string& registry, const std::string& region, policy::Health health);
  // Operator writes; done("") once etcd has it, else done(error).
  void setRouting(const std::string& registry, const std::string& region, bool enabled,
                  std::function<void(std::string)> done);
  void setFault(const std::string& registry, const std::string& region, const std::string& fault,
                std::function<void(std::string)> done);

  // Writes the catalog entries in one transaction, guarded by each key's
  // mod_revision as this node last applied it, so a change computed from a
  // stale entry is refused (conflict) instead of overwriting another node's.
  void writeCatalog(const CatalogWrite& write, std::function<void(CatalogWritten)> done);
  // Calls `done(true)` once this node has applied every change up to
  // `revision` (its own write, come back through the watch), or done(false)
  // when the connection goes first or 3 s pass.
  void whenApplied(int64_t revision, std::function<void(bool)> done);
  // The caller accepted (or still refuses) etcd's entry for `registry`,
  // e.g. after a reload made it fit.
  void setRefused(const std::string& registry, bool refused);
  // A pair the topology no longer has: this node's vote for it is deleted
  // and its last decision forgotten, so a pair made again later is decided
  // afresh from new votes.
  void forgetPair(const std::string& registry, const std::string& region);
  // A pair the topology just gained: the fleet's current decision for it,
  // its fault and its operator flag, if there are any, are delivered again
  // (they were dropped while the pair was unknown here).
  void redeliver(const std::string& registry, const std::string& region);

  // The operator flags stored in etcd ("REG/REGION" -> enabled), as last read.
  std::map<policy::PairKey, bool> routingFlags() const;

  bool connected() const { return connected_; }
  int64_t revision() const { return revision_; }
  // etcd holds the catalog-initialized marker (as of the last full read or
  // event): an empty catalog there means every registry was deleted.
  bool catalogInitialized() const { return catalog_initialized_; }
  size_t liveNodes() const { return quorum_.liveNodes(); }
  const std::string& node() const { return options_.node; }

 private:
  void connect();
  void disconnect(const std::string& why);
  void resync(const RangeResult& snapshot);
  void apply(const KeyValue& kv, bool deleted);
  void redecide(const std::string& pair);
  void flushObservations();
  void flushCatalog(bool whole);
  void fireApplied(bool connected);
  void watchFrom(int64_t revision);
  static void onKeepAlive(uv_timer_t* t);
  static void onRetry(uv_timer_t* t);
  static void onAppliedTimer(uv_timer_t* t);

  FleetOptions options_;
  Callbacks callbacks_;
  uv_timer_t keepalive_{};
  uv_timer_t retry_{};
  HttpClient http_;
  EtcdClient etcd_;
  Quorum quorum_;
  std::map<std::string, policy::Health> decided_;     // pair -> last decision given
  std::map<std::string, policy::Health> mine_;        // pair -> this node's verdict
  std::set<std::string> unsent_;                      // pairs whose verdict etcd lacks
  std::map<std::string, std::string> operator_keys_;  // routing/... and faults/... as last applied
  std::map<std::string, int64_t> catalog_revisions_;                 // registry -> its key's mod_revision
  bool catalog_initialized_ = false;                                  // the catalog-initialized key exists
  std::set<std::string> catalog_refused_;                            // entries the caller refused (invariant 3)
  std::map<std::string, std::optional<std::string>> catalog_batch_;  // applied, not yet delivered
  struct AppliedWaiter {
    std::chrono::steady_clock::time_point deadline;
    std::function<void(bool)> done;
  };
  std::multimap<int64_t, AppliedWaiter> applied_waiters_;
  uv_timer_t applied_timer_{};  // ends the waits that outlive their deadline
  bool writing_ = false;
  bool resyncing_ = false;
  bool connected_ = false;
  bool stopped_ = false;
  uint64_t attempt_ = 0;  // callbacks of an older connection attempt are ignored
  int64_t lease_ = 0;
  int64_t revision_ = 0;          // the newest revision seen (watch headers included): for display
  int64_t applied_revision_ = 0;  // invariant 4: what whenApplied waits for
  uint64_t watch_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace switchyard::fleet
