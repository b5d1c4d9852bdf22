// FreshnessTracker: decides, for one registry, which replicas serve its
// canary images behind the reference, from rounds of digest observations.
//
// Rules (each canary on its own; a replica takes its worst canary):
//   1. The reference of a round is what the home replica serves
//      (reference: home), or the value a strict majority of ALL the registry's
//      replicas serve (reference: majority). A value is a digest or "absent"
//      (404: a tag not replicated yet, or deleted). No reference this round
//      (home unreachable, no majority): no comparison; a replica already
//      behind stays behind and its clock keeps running.
//   2. A replica observed serving the reference is fresh at once (cleared on
//      the first match). A replica observed serving anything else is behind
//      from the first such round on; once behind for max_staleness it is
//      lagging (out of global routing, see policy::ReplicaState::lagging).
//   3. A replica not observed this round (timeout, 5xx, 401...) keeps its
//      state and its behind clock: reachability is health's business, and an
//      error says nothing about which digest it serves.
// With reference: majority a replica AHEAD of the majority differs from the
// reference too: max_staleness must exceed the normal replication time.
// Thread safety: a plain value type; the health thread owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "health/manifest_head.h"
#include "policy/topology.h"

namespace switchyard::health {

enum class FreshnessState : uint8_t { Unknown, Fresh, Behind, Lagging };
const char* freshnessName(FreshnessState state);

// One replica's freshness, as the API and metrics show it.
struct FreshnessStatus {
  FreshnessState state = FreshnessState::Unknown;
  double seconds_behind = 0;        // the oldest difference from the reference, 0 when fresh
  std::vector<std::string> served;  // per canary: digest, "absent", or "" (never observed)
  std::string detail;               // why it is behind, or the last error
  bool lagging() const { return state == FreshnessState::Lagging; }
};

class FreshnessTracker {
 public:
  // `replicas`: region names in topology order; `home`: index into them.
  FreshnessTracker(policy::Freshness config, std::vector<std::string> replicas, size_t home);

  // One round: round[replica][canary], taken at `now_ms`.
  // REQUIRES: round.size() == replicas, every row canaries().size().
  void record(const std::vector<std::vector<DigestObservation>>& round, int64_t now_ms);
  // Keeps what `older` (the same registry before a reload) knew about
  // replicas and canaries that still exist.
  void inherit(const FreshnessTracker& older);
  // Marks a replica lagging as if it had been behind on every canary for
  // max_staleness (it was lagging before a restart): it stays out of global
  // routing until a round sees it serve the reference.
  void assumeLagging(size_t replica, int64_t now_ms,
                     std::string detail = "lagging before the restart; re-checked at the next round");

  const FreshnessStatus& status(size_t replica) const { return status_[replica]; }
  // The last round's reference per canary ("" when there was none).
  const std::vector<std::string>& references() const { return references_; }
  const policy::Freshness& config() const { return config_; }
  const std::vector<std::string>& replicas() const { return replicas_; }

 private:
  struct Cell {
    std::string served;        // last observed value, "" never
    std::optional<int64_t> behind_since;  // loop ms of the first differing round; empty: not behind
    bool compared = false;     // ever compared with a reference
  };
  std::string reference(const std::vector<std::vector<DigestObservation>>& round, size_t canary) const;
  void summarize(size_t replica, int64_t now_ms, const std::vector<DigestObservation>* row);

  policy::Freshness config_;
  std::vector<std::string> replicas_;
  size_t home_;
  std::vector<std::vector<Cell>> cells_;  // [replica][canary]
  std::vector<FreshnessStatus> status_;
  std::vector<std::string> references_;
  int64_t now_ms_ = 0;  // of the last round
};

}  // namespace switchyard::health
