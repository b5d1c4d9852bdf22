#include "fleet/quorum.h"

#include <algorithm>

namespace switchyard::fleet {

void Quorum::setAlive(const std::string& node, bool alive) {
  if (alive) alive_.insert(node);
  else alive_.erase(node);
}

void Quorum::observe(const std::string& pair, const std::string& node, policy::Health health) {
  if (health == policy::Health::Unknown) {
    auto it = views_.find(pair);
    if (it == views_.end()) return;
    it->second.erase(node);
    if (it->second.empty()) views_.erase(it);
    return;
  }
  views_[pair][node] = health;
}

int Quorum::needed() const {
  int live = static_cast<int>(alive_.size());
  int want = required_ > 0 ? required_ : live / 2 + 1;
  return std::max(1, std::min(want, live));
}

policy::Health Quorum::decide(const std::string& pair) const {
  auto it = views_.find(pair);
  if (it == views_.end()) return policy::Health::Unknown;
  int down = 0, seen = 0;
  for (const auto& [node, health] : it->second) {
    if (!alive_.count(node)) continue;  // a dead node's view does not count
    ++seen;
    down += health == policy::Health::Down;
  }
  if (seen == 0) return policy::Health::Unknown;
  return down >= needed() ? policy::Health::Down : policy::Health::Up;
}

std::set<std::string> Quorum::pairs() const {
  std::set<std::string> out;
  for (const auto& [pair, views] : views_) out.insert(pair);
  return out;
}

std::string Quorum::explain(const std::string& pair) const {
  int down = 0, seen = 0;
  if (auto it = views_.find(pair); it != views_.end())
    for (const auto& [node, health] : it->second)
      if (alive_.count(node)) {
        ++seen;
        down += health == policy::Health::Down;
      }
  return std::to_string(down) + " of " + std::to_string(seen) + " reporting nodes (" +
         std::to_string(alive_.size()) + " live) see it down; " + std::to_string(needed()) + " needed";
}

}  // namespace switchyard::fleet
