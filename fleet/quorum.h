// Quorum: decides a (registry, replica) pair's health from what the fleet's
// live nodes observe, so one node's network trouble cannot fail a replica for
// everyone. A pair is Down when at least `needed` live nodes see it down:
// `required` of them when configured (fleet.quorum: N), else a majority of
// the live nodes; never more than are alive, so a lone survivor still decides.
// Up when fewer see it down and some live node has a view; Unknown when no
// live node has one.
// Thread safety: one thread (the control loop).
#pragma once

#include <map>
#include <set>
#include <string>

#include "policy/routing_policy.h"

namespace switchyard::fleet {

class Quorum {
 public:
  explicit Quorum(int required = 0) : required_(required) {}

  void setRequired(int required) { required_ = required; }
  void setAlive(const std::string& node, bool alive);
  // Health::Unknown forgets the node's view of the pair.
  void observe(const std::string& pair, const std::string& node, policy::Health health);
  policy::Health decide(const std::string& pair) const;
  // How many live nodes must see a pair down.
  int needed() const;
  size_t liveNodes() const { return alive_.size(); }
  // Pairs some node has a view of (to re-decide after a liveness change).
  std::set<std::string> pairs() const;
  // "2 of 3 live nodes see it down" for the cause in logs and events.
  std::string explain(const std::string& pair) const;

 private:
  int required_;
  std::set<std::string> alive_;
  std::map<std::string, std::map<std::string, policy::Health>> views_;  // pair -> node -> health
};

}  // namespace switchyard::fleet
